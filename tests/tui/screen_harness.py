"""A host for screen tests: the real app on a journal, showing one screen and nothing else.

It is a :class:`ComentorApp` (so screens reach it through their typed `comentor` property,
as in the app) with the clock fixed, no dashboard, no live sync and no catalog navigation:
the screen under test is pushed on mount.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from textual import events
from textual.screen import Screen

from comentor.tui.app import ComentorApp

FIXED = dt.datetime(2026, 11, 26, 12, 0, tzinfo=dt.UTC)


def fixed_now() -> dt.datetime:
    return FIXED


class Harness(ComentorApp):
    """Hosts one screen over the app's JournalGateway."""

    def __init__(self, path: Path, screen: Screen[Any]) -> None:
        super().__init__(path, now=fixed_now)
        self._first = screen

    def on_mount(self, event: events.Mount) -> None:
        event.prevent_default()  # not the app's start: no dashboard, no sync
        self.push_screen(self._first)
