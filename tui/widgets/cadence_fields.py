"""The cadence as four fields (how often, at what time, how long, in which time zone).

Used where a partnership starts: the first run proposes the default (every 3 weeks at
12:00, 30 minutes, this machine's zone) and the partner who joins sees the inviter's
choice in the same fields. Each field is checked as it is typed with the model's own
parsers, and the time zone field completes IANA names (Europe/Berlin) as they are typed.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.suggester import SuggestFromList
from textual.widgets import Input, Label, Static

from comentor.model import (
    Cadence,
    CadenceChoice,
    check_zone,
    parse_every,
    parse_minutes,
    parse_time,
)
from comentor.model.errors import ValidationError

__all__ = ["CadenceFields", "every_text", "zone_suggester"]


def every_text(days: int) -> str:
    """The interval as the field takes it: 3w, or 10d when it is not whole weeks."""
    return f"{days // 7}w" if days % 7 == 0 else f"{days}d"


_FIELDS: tuple[tuple[str, str, str, Callable[[str], object]], ...] = (
    ("every", "How often", "3w or 21d", parse_every),
    ("at", "At", "12:00", parse_time),
    ("minutes", "Minutes", "30", parse_minutes),
    ("zone", "Time zone", "Europe/Berlin", check_zone),
)


@cache
def _zones() -> list[str]:
    import zoneinfo

    return sorted(zoneinfo.available_timezones())


def zone_suggester() -> SuggestFromList:
    """Completion for a time zone field: every IANA name this machine (or tzdata) knows."""
    return SuggestFromList(_zones(), case_sensitive=False)


class CadenceFields(Vertical):
    """Four checked inputs; :meth:`choice` gives the cadence typed, or None while a field
    is wrong (its message shown under it)."""

    DEFAULT_CSS = """
    CadenceFields { height: auto; }
    CadenceFields .cad-row { height: auto; }
    CadenceFields .cad-field { width: 1fr; height: auto; padding-right: 1; }
    CadenceFields #cad-field-zone { width: 2fr; }
    CadenceFields .cad-error { color: $text-error; height: auto; display: none; }
    """

    def __init__(self, start: Cadence, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.start = start

    def compose(self) -> ComposeResult:
        values = {"every": every_text(self.start.every_days), "at": self.start.at,
                  "minutes": str(self.start.minutes), "zone": self.start.zone}
        with Horizontal(classes="cad-row"):
            for name, label, placeholder, _check in _FIELDS:
                with Vertical(classes="cad-field", id=f"cad-field-{name}"):
                    yield Label(label)
                    yield Input(values[name], placeholder=placeholder, id=f"cad-{name}",
                                suggester=zone_suggester() if name == "zone" else None)
                    yield Static("", id=f"cad-error-{name}", classes="cad-error", markup=False)

    def set_cadence(self, cad: Cadence) -> None:
        """Show another cadence (the inviter's, once it has arrived)."""
        self.start = cad
        for name, value in (("every", every_text(cad.every_days)), ("at", cad.at),
                            ("minutes", str(cad.minutes)), ("zone", cad.zone)):
            self.query_one(f"#cad-{name}", Input).value = value

    def _check(self, name: str, value: str) -> str:
        check = next(c for n, _l, _p, c in _FIELDS if n == name)
        try:
            check(value)
        except ValidationError as exc:
            return str(exc)
        return ""

    @on(Input.Changed)
    def _typed(self, event: Input.Changed) -> None:
        name = (event.input.id or "").removeprefix("cad-")
        if any(n == name for n, *_ in _FIELDS):
            self._show_error(name, self._check(name, event.value))

    def _show_error(self, name: str, message: str) -> None:
        error = self.query_one(f"#cad-error-{name}", Static)
        error.update(message)
        error.display = bool(message)  # no empty line under a field that is right

    def values(self) -> dict[str, str]:
        return {name: self.query_one(f"#cad-{name}", Input).value.strip() for name, *_ in _FIELDS}

    def choice(self) -> CadenceChoice | None:
        """The cadence typed, every part checked; None (messages shown) if one is wrong."""
        values = self.values()
        wrong = False
        for name, value in values.items():
            message = self._check(name, value)
            self._show_error(name, message)
            if message and not wrong:
                self.query_one(f"#cad-{name}", Input).focus()
            wrong = wrong or bool(message)
        if wrong:
            return None
        return CadenceChoice(values["every"], values["at"], int(values["minutes"]),
                             values["zone"])

    def changed(self, choice: CadenceChoice) -> CadenceChoice:
        """Only the parts that differ from the cadence shown first (None: unchanged)."""
        start: dict[str, Any] = {"every": self.start.every_days, "at": self.start.at,
                                 "minutes": self.start.minutes, "zone": self.start.zone}
        typed: dict[str, Any] = {"every": parse_every(choice.every or ""),
                                 "at": parse_time(choice.at or ""), "minutes": choice.minutes,
                                 "zone": check_zone(choice.zone) if choice.zone else None}
        keep = {k: (getattr(choice, k) if typed[k] != start[k] else None) for k in typed}
        return CadenceChoice(**keep)
