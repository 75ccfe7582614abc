"""The check-in timer: two equal turns of one shared state, and a word when one partner's
half is used up."""

from __future__ import annotations

from textual.app import App, ComposeResult

from comentor.model._timer import TimerEvent, fold_timer
from comentor.tui.widgets.timer import CheckinTimer

T0 = 1_800_000_000.0  # seconds since the epoch


class Clock:
    def __init__(self) -> None:
        self.t = T0

    def __call__(self) -> float:
        return self.t


def at(seconds: float, n: int, kind: str, speaker: str | None = None) -> TimerEvent:
    return TimerEvent(int((T0 + seconds) * 1000) << 16, f"e{n}", kind, speaker)


class TimerApp(App[None]):
    def __init__(self, clock: Clock) -> None:
        super().__init__()
        self.clock = clock
        self.over: list[tuple[str, str]] = []

    def compose(self) -> ComposeResult:
        yield CheckinTimer(2, ("Maya", "Jonas"), clock=self.clock)

    def on_checkin_timer_turn_over(self, event: CheckinTimer.TurnOver) -> None:
        self.over.append((event.name, event.other))


async def test_turns_are_equal_and_a_finished_turn_is_announced_once() -> None:
    clock = Clock()
    app = TimerApp(clock)
    people = ("maya", "jonas")
    async with app.run_test() as pilot:
        timer = app.query_one(CheckinTimer)
        assert timer.turn_seconds == 60
        events = [at(0, 1, "start")]
        timer.show_state(fold_timer(events, "maya"), people)
        clock.t += 30
        assert timer.running and timer.remaining(0) == 30 and timer.remaining(1) == 60
        events.append(at(30, 2, "hand_over", "jonas"))
        timer.show_state(fold_timer(events, "maya"), people)
        clock.t += 10
        assert timer.speaker == 1
        assert timer.remaining(0) == 30 and timer.remaining(1) == 50
        clock.t += 55  # Jonas is 5 s over
        await pilot.pause(0.7)
        await pilot.pause(0.7)
        assert app.over == [("Jonas", "Maya")]
        assert timer.has_class("-over")
        events.append(at(95, 3, "hand_over", "maya"))
        timer.show_state(fold_timer(events, "maya"), people)
        clock.t += 31  # now Maya is over too
        await pilot.pause(0.7)
        await pilot.pause(0.7)
        assert app.over == [("Jonas", "Maya"), ("Maya", "Jonas")]
        events.append(at(126, 4, "pause"))
        timer.show_state(fold_timer(events, "maya"), people)
        clock.t += 100
        assert not timer.running and round(timer.elapsed(0)) == 61
