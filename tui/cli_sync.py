"""Command-line parsers and handlers for pairing and sync (filled in by the sync work)."""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["add_parsers", "HANDLERS"]

HANDLERS: dict[str, Any] = {}


def add_parsers(sub: Any) -> None:
    """Add the sync commands to the top-level subparsers."""
    _ = argparse
