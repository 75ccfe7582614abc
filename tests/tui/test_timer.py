"""The check-in timer: two equal turns, and a word when one partner's half is used up."""

from __future__ import annotations

from textual.app import App, ComposeResult

from comentor.tui.widgets.timer import CheckinTimer


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


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
    async with app.run_test() as pilot:
        timer = app.query_one(CheckinTimer)
        assert timer.turn_seconds == 60
        timer.toggle()
        clock.t += 30
        assert timer.remaining(0) == 30 and timer.remaining(1) == 60
        timer.switch()
        clock.t += 10
        assert timer.remaining(0) == 30 and timer.remaining(1) == 50
        clock.t += 55  # Jonas is 5 s over
        await pilot.pause(0.7)
        await pilot.pause(0.7)
        assert app.over == [("Jonas", "Maya")]
        assert timer.has_class("-over")
        timer.switch()
        clock.t += 31  # now Maya is over too
        await pilot.pause(0.7)
        await pilot.pause(0.7)
        assert app.over == [("Jonas", "Maya"), ("Maya", "Jonas")]
