"""Moved to :mod:`comentor.tui.modals.confirm` (this re-export goes once every import moved)."""

from ..modals.confirm import ConfirmModal as ConfirmModal  # noqa: F401
