"""Moved to :mod:`comentor.tui.modals` (these re-exports go once every import moved)."""

from ..modals.fields import FieldSpec as FieldSpec  # noqa: F401
from ..modals.fields import Validator as Validator  # noqa: F401
from ..modals.fields import date_check as date_check  # noqa: F401
from ..modals.fields import int_range as int_range  # noqa: F401
from ..modals.fields import required as required  # noqa: F401
from ..modals.form import FormModal as FormModal  # noqa: F401
