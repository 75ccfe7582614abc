"""The check-in timer: the planned length split into two equal turns (quid pro quo).

Each partner gets half of the planned minutes. The widget only shows the shared timer: who
speaks, running or paused and each partner's used time are the check-in's state in the
journal (:class:`comentor.model.TimerState`, folded from both devices' key presses), so both
screens show the same timer. Between two states it counts on with the local wall clock.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from rich.text import Text
from textual.message import Message
from textual.reactive import reactive
from textual.widget import Widget

from comentor.model import TimerState

__all__ = ["CheckinTimer", "format_seconds"]


def format_seconds(seconds: float) -> str:
    """mm:ss (or h:mm:ss), never negative: the sign is shown by the caller."""
    s = int(abs(seconds) + 0.5)
    h, rest = divmod(s, 3600)
    m, sec = divmod(rest, 60)
    return f"{h}:{m:02d}:{sec:02d}" if h else f"{m:02d}:{sec:02d}"


class CheckinTimer(Widget, can_focus=False):
    """Two equal turns, the current speaker shown; a view of the shared timer state."""

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
                 clock: Callable[[], float] = time.time, name: str | None = None,
                 id: str | None = None, classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.minutes = minutes
        self.names = names
        self._clock = clock  # wall-clock seconds since the epoch, like the journal's clock
        self.state = TimerState()
        self.people: tuple[str, str] = ("", "")
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

    def show_state(self, state: TimerState, people: tuple[str, str]) -> None:
        """Show the shared state; `people` are (me, partner) person ids."""
        self.state = state
        self.people = people
        self.speaker = 1 if state.speaker and state.speaker == people[1] else 0
        self.running = state.running
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
        return self.state.used(self.people[who], int(self._clock() * 1000)) / 1000

    def remaining(self, who: int) -> float:
        return self.turn_seconds - self.elapsed(who)

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
