"""The check-in timer: the planned length split into two equal turns (quid pro quo).

Each partner gets half of the planned minutes. Only the current speaker's clock runs; the
switch key hands the floor over. The timer starts paused, so opening the check-in never
starts counting behind anyone's back (and snapshots of the screen are stable).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from rich.text import Text
from textual.message import Message
from textual.reactive import reactive
from textual.widget import Widget

__all__ = ["CheckinTimer", "format_seconds"]


def format_seconds(seconds: float) -> str:
    """mm:ss (or h:mm:ss), never negative: the sign is shown by the caller."""
    s = int(abs(seconds) + 0.5)
    h, rest = divmod(s, 3600)
    m, sec = divmod(rest, 60)
    return f"{h}:{m:02d}:{sec:02d}" if h else f"{m:02d}:{sec:02d}"


class CheckinTimer(Widget, can_focus=False):
    """Two equal turns, the current speaker shown, start/pause and switch."""

    DEFAULT_CSS = """
    CheckinTimer {
        height: 3;
        padding: 0 1;
        border: round $primary;
        border-title-color: $text-primary;
    }
    CheckinTimer.-running { border: round $success; }
    CheckinTimer.-over { border: round $error; }
    """

    class TurnOver(Message):
        """A speaker has used up their half of the check-in (posted once per speaker)."""

        def __init__(self, speaker: int, name: str, other: str) -> None:
            self.speaker = speaker
            self.name = name
            self.other = other
            super().__init__()

    running: reactive[bool] = reactive(False)
    speaker: reactive[int] = reactive(0)
    tick: reactive[int] = reactive(0)

    def __init__(self, minutes: int = 30, names: tuple[str, str] = ("Me", "Partner"), *,
                 clock: Callable[[], float] = time.monotonic, name: str | None = None,
                 id: str | None = None, classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.minutes = minutes
        self.names = names
        self._clock = clock
        self._elapsed = [0.0, 0.0]
        self._since: float | None = None
        self._announced: set[int] = set()
        self.border_title = "Timer"

    @property
    def turn_seconds(self) -> float:
        return self.minutes * 60 / 2

    def configure(self, minutes: int, names: tuple[str, str]) -> None:
        """Set the planned length and the two speakers once the journal has answered."""
        self.minutes = minutes
        self.names = names
        self.refresh()

    def on_mount(self) -> None:
        self.set_interval(0.5, self._on_tick)

    def _on_tick(self) -> None:
        if self.running:
            self.tick += 1
            self.set_class(min(self.remaining(0), self.remaining(1)) < 0, "-over")
            who = self.speaker
            if self.remaining(who) < 0 and who not in self._announced:
                self._announced.add(who)
                self.post_message(self.TurnOver(who, self.names[who], self.names[1 - who]))

    def elapsed(self, who: int) -> float:
        extra = 0.0
        if self.running and who == self.speaker and self._since is not None:
            extra = self._clock() - self._since
        return self._elapsed[who] + extra

    def remaining(self, who: int) -> float:
        return self.turn_seconds - self.elapsed(who)

    def _bank(self) -> None:
        if self.running and self._since is not None:
            self._elapsed[self.speaker] += self._clock() - self._since
        self._since = self._clock() if self.running else None

    def toggle(self) -> None:
        """Start or pause the current speaker's clock."""
        self._bank()
        self.running = not self.running
        self._since = self._clock() if self.running else None

    def switch(self) -> None:
        """Hand the floor to the other partner (the clock keeps running if it was)."""
        self._bank()
        self.speaker = 1 - self.speaker
        self._since = self._clock() if self.running else None

    def watch_running(self, running: bool) -> None:
        self.set_class(running, "-running")

    def render(self) -> Text:
        out = Text(no_wrap=True, overflow="ellipsis")
        state = "▶ running" if self.running else "⏸ paused"
        out.append(f"{state}  ", style="bold green" if self.running else "bold")
        out.append("speaking: ", style="dim")
        out.append(self.names[self.speaker], style="bold reverse")
        out.append("   ")
        for who in (0, 1):
            left = self.remaining(who)
            width = 12
            frac = min(1.0, max(0.0, self.elapsed(who) / self.turn_seconds)) if self.turn_seconds else 1.0
            filled = int(frac * width + 0.5)
            style = "bold" if who == self.speaker else "dim"
            out.append(f"{self.names[who]} ", style=style)
            out.append("█" * filled, style="red" if left < 0 else "green")
            out.append("░" * (width - filled), style="dim")
            if left >= 0:
                out.append(f" {format_seconds(left)} left", style=style)
            else:
                out.append(f" {format_seconds(left)} over", style="bold red")
            out.append("   ")
        out.append(f"{self.minutes} min = 2 × {format_seconds(self.turn_seconds)}", style="dim")
        return out
