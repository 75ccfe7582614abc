"""A tiny host app for screen tests: a gateway on a journal, one screen pushed on mount."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from textual.app import App
from textual.screen import Screen

from comentor.tui.data import JournalGateway

FIXED = dt.datetime(2026, 11, 26, 12, 0, tzinfo=dt.UTC)


def fixed_now() -> dt.datetime:
    return FIXED


class Harness(App[None]):
    """Hosts one screen over a JournalGateway, as ComentorApp does."""

    def __init__(self, path: Path, screen: Screen[Any]) -> None:
        super().__init__()
        self.gateway = JournalGateway(path, now=fixed_now)
        self._first = screen

    def on_mount(self) -> None:
        self.push_screen(self._first)

    def on_unmount(self) -> None:
        self.gateway.close()
