"""The check-in's one timer for both partners: an event log folded into one state.

Start, pause and hand-over are rows of the synced table `timer_events`, each stamped by the
journal's hybrid clock when it was made. Every device folds the same events in the same
order, (clock, row id), into the same state: who speaks, running or paused, since when, and
each partner's used time. An event says what it wants rather than what it toggles: "start"
on a running timer and "pause" on a paused one change nothing, and a hand-over names who
takes the floor, so two devices that pressed a key at the same moment agree afterwards
whatever order their events arrive in. Time is the clock's wall part, the same number on
both devices.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ._clock import physical_ms
from .errors import ValidationError

if TYPE_CHECKING:
    from ._journal import Journal

__all__ = [
    "TIMER_EVENTS", "TimerEvent", "TimerState", "fold_timer", "timer_state", "timer_event",
    "TimeBalance", "time_balance", "split_of", "recent_splits",
]

TIMER_EVENTS = ("start", "pause", "hand_over")


@dataclass(frozen=True)
class TimerEvent:
    """One press of a timer key: `hlc` orders it, `speaker` is who takes the floor."""

    hlc: int
    id: str
    kind: str
    speaker: str | None = None


@dataclass(frozen=True)
class TimerState:
    """The shared timer at the last event: add the time since `since_ms` to the speaker's
    used time while it runs."""

    running: bool = False
    speaker: str | None = None
    since_ms: int | None = None
    used_ms: dict[str, int] = field(default_factory=dict)
    events: int = 0

    def used(self, person: str, now_ms: int) -> int:
        """Milliseconds `person` has spoken, as of `now_ms` (epoch milliseconds)."""
        extra = 0
        if self.running and person == self.speaker and self.since_ms is not None:
            extra = max(0, now_ms - self.since_ms)
        return self.used_ms.get(person, 0) + extra


def fold_timer(events: list[TimerEvent], first_speaker: str | None = None) -> TimerState:
    """The state after `events`, in (clock, id) order whatever order they are given in."""
    running, speaker, since = False, first_speaker, None
    used: dict[str, int] = {}
    ordered = sorted(events, key=lambda e: (e.hlc, e.id))
    for event in ordered:
        at = physical_ms(event.hlc)
        if running and speaker is not None and since is not None:
            used[speaker] = used.get(speaker, 0) + max(0, at - since)
        since = at if running else None
        if event.kind == "start":
            if speaker is None:
                speaker = event.speaker
            running, since = True, at
        elif event.kind == "pause":
            running, since = False, None
        elif event.kind == "hand_over" and event.speaker:
            speaker = event.speaker
    return TimerState(running, speaker, since if running else None, used, len(ordered))


def _events(j: Journal, session: str) -> list[TimerEvent]:
    return [TimerEvent(int(r["hlc_created"] or 0), str(r["id"]), str(r["kind"]),
                       r.get("speaker"))
            for r in j._rows("timer_events", "session = ?", (session,))]


def timer_state(j: Journal, session: str) -> TimerState:
    """The check-in's timer as every device folds it; the first speaker is whoever started
    the check-in."""
    rec = j.get("sessions", session) or {}
    return fold_timer(_events(j, session), rec.get("started_by") or j.me)


def timer_event(j: Journal, session: str, kind: str, *, speaker: str | None = None) -> str:
    """Press a timer key: start, pause, or hand_over to `speaker` (by default the partner of
    whoever speaks now)."""
    if kind not in TIMER_EVENTS:
        raise ValidationError(f"a timer event is one of {', '.join(TIMER_EVENTS)}", kind=kind)
    rec = j.get("sessions", session)
    if rec is None:
        raise ValidationError(f"no check-in with id {session}", session=session)
    if rec.get("status") != "open":
        raise ValidationError("the check-in is not running: start it first", session=session)
    current = timer_state(j, session)
    if kind == "hand_over" and speaker is None:
        partner = j.partner()
        now = current.speaker or j.me
        speaker = (partner if now == j.me else j.me) if partner else j.me
    if kind == "start" and speaker is None:
        speaker = current.speaker or j.me
    return j.put("timer_events", None, session=session, kind=kind, speaker=speaker,
                 person=j.me, created_at=j.now_iso())


def split_of(j: Journal, session: str, at_ms: int | None = None) -> dict[str, int]:
    """Each partner's speaking seconds in a check-in (as of `at_ms`, by default now)."""
    state = timer_state(j, session)
    now = at_ms if at_ms is not None else int(j.now().timestamp() * 1000)
    people = set(state.used_ms) | ({state.speaker} if state.speaker else set())
    return {p: state.used(p, now) // 1000 for p in sorted(people)}


@dataclass(frozen=True)
class TimeBalance:
    """The time split of the last check-ins that recorded one."""

    checkins: int
    mine: int  # percent
    partner: int

    def describe(self) -> str:
        return (f"last {self.checkins} check-in{'s' if self.checkins != 1 else ''}: "
                f"you {self.mine} %, your partner {self.partner} %")


def recent_splits(j: Journal, last: int = 6) -> list[tuple[dict[str, Any], dict[str, int]]]:
    """The last `last` ended check-ins, newest first, with the speaking time they recorded
    (seconds per person), leaving out those whose split is unreadable or empty."""
    out = []
    for rec in j._rows("sessions", "status = 'done' AND split IS NOT NULL",
                       order="coalesce(ended_at, started_at) DESC")[:last]:
        try:
            split = {str(k): int(v) for k, v in json.loads(rec["split"]).items()}
        except (ValueError, TypeError, AttributeError):
            continue
        if sum(split.values()) > 0:
            out.append((rec, split))
    return out


def time_balance(j: Journal, last: int = 6) -> TimeBalance | None:
    """How the speaking time of the last `last` check-ins divided between the partners."""
    me, total, mine, count = j.me, 0, 0, 0
    for _rec, split in recent_splits(j, last):
        count += 1
        total += sum(split.values())
        mine += split.get(me, 0)
    if not count or total <= 0:
        return None
    pct = round(100 * mine / total)
    return TimeBalance(count, pct, 100 - pct)
