"""The review, "where we started, where we are": the practice of a partnership in one read.

Lessons 2 and 7 of the practice (accountability against a baseline, keeping track of each
other's narrative) only pay off when what was recorded comes back together: each partner's
baseline beside today, every goal's progress over time, the story's versions with what
changed, wins per quarter, commitments kept, carried and dropped, asks answered, check-ins
held against the cadence, and how the speaking time divided. :func:`review` gathers all of
it as plain data; the renderers (Markdown, one self-contained HTML file) and the app's
review screen only present it, so the three always agree. A "year in review" is the same
with `since` a year ago (:func:`parse_since` reads "1y" as a year ago).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ._dates import EARLIEST, _years_later, parse_date
from ._queries import goal_progress
from ._schedule import cadence
from ._timer import recent_splits
from ._views import partnership_state
from .errors import ValidationError

if TYPE_CHECKING:
    from ._journal import Journal

__all__ = [
    "Review", "BaselineView", "GoalLine", "StoryVersion", "QuarterWins", "CommitmentTally",
    "AskTally", "Slot", "Balance", "review", "parse_since", "story_diff", "GRACE_DAYS",
    "SLOT_STATES",
]

# A check-in held up to this many days after the date it was due still kept the cadence.
GRACE_DAYS = 3
SLOT_STATES = ("kept", "late", "missed", "due")
_DIFF_WORDS = 4000  # longer stories are compared by word counts only (difflib is quadratic)


@dataclass(frozen=True)
class BaselineView:
    """One partner's baseline (as recorded at the start) beside where they stand today."""

    person: str
    name: str
    recorded: str | None  # YYYY-MM-DD, None when no baseline was ever recorded
    role: str = ""
    situation: str = ""
    clients: str = ""
    concentration: str = ""
    near_goals: str = ""
    long_goals: str = ""
    goals_near: tuple[str, ...] = ()  # open today
    goals_long: tuple[str, ...] = ()
    goals_met: tuple[str, ...] = ()
    goals_dropped: int = 0
    story: str | None = None  # the current version
    strengths: tuple[str, ...] = ()
    grows: tuple[str, ...] = ()
    wins: int = 0  # wins recorded, all time


@dataclass(frozen=True)
class GoalLine:
    """A goal and its progress over the period: (YYYY-MM-DD, percent), oldest first."""

    id: str
    person: str
    name: str
    text: str
    horizon: str
    status: str
    created: str
    closed: str | None
    points: tuple[tuple[str, int], ...]
    start: int | None = None  # the progress it had when the period began

    @property
    def latest(self) -> int | None:
        return self.points[-1][1] if self.points else self.start


@dataclass(frozen=True)
class StoryVersion:
    """One version of a partner's story and what changed from the version before."""

    person: str
    name: str
    date: str
    text: str
    number: int  # 1 for the first version ever written
    added: tuple[str, ...] = ()  # phrases new in this version
    removed: tuple[str, ...] = ()  # phrases the previous version had
    words_added: int = 0
    words_removed: int = 0
    base: bool = False  # the version in force when the period began (no change shown)

    def summary(self) -> str:
        """What this version changed, in a few words ("+9 words, -6 words")."""
        if self.number == 1:
            return "first version"
        if self.base:
            return "in force at the start of the period"
        if not (self.words_added or self.words_removed):
            return "same words as before"
        return f"+{self.words_added} words, -{self.words_removed} words"


@dataclass(frozen=True)
class QuarterWins:
    """The wins of one calendar quarter, per partner (names in the review's order)."""

    label: str  # "2026 Q1"
    start: dt.date
    counts: tuple[int, ...]
    wins: tuple[tuple[str, str, str], ...] = ()  # (date, name, text)

    @property
    def total(self) -> int:
        return sum(self.counts)


@dataclass(frozen=True)
class CommitmentTally:
    """One partner's commitments in the period: kept (done), dropped, carry-overs, open."""

    name: str
    kept: int = 0
    dropped: int = 0
    carried: int = 0  # times one was carried to the next check-in
    open: int = 0  # open today

    @property
    def kept_rate(self) -> int | None:
        """Percent of the commitments closed in the period that were kept."""
        closed = self.kept + self.dropped
        return round(100 * self.kept / closed) if closed else None


@dataclass(frozen=True)
class AskTally:
    """One partner's asks in the period: answered, closed without an answer, still open."""

    name: str
    answered: int = 0
    closed: int = 0
    open: int = 0
    open_texts: tuple[str, ...] = ()


@dataclass(frozen=True)
class Slot:
    """One check-in the cadence planned: kept, late, missed, or due (not held yet)."""

    due: dt.date
    state: str
    held: dt.date | None = None
    days_late: int = 0


@dataclass(frozen=True)
class Balance:
    """How the speaking time of the last check-ins divided (percent per name)."""

    checkins: int
    shares: tuple[tuple[str, int], ...]
    per_checkin: tuple[tuple[str, tuple[tuple[str, int], ...]], ...] = ()  # (date, shares)


@dataclass(frozen=True)
class Review:
    """Where the partnership started and where it is, for the period from `start` to `today`."""

    today: dt.date
    since: dt.date | None
    start: dt.date
    names: tuple[str, ...]  # me first, then my partner
    cadence: str
    demo: bool = False
    baselines: tuple[BaselineView, ...] = ()
    goals: tuple[GoalLine, ...] = ()
    stories: tuple[StoryVersion, ...] = ()
    wins: tuple[QuarterWins, ...] = ()
    commitments: tuple[CommitmentTally, ...] = ()
    asks: tuple[AskTally, ...] = ()
    slots: tuple[Slot, ...] = ()
    balance: Balance | None = None

    @property
    def title(self) -> str:
        who = " & ".join(self.names) or "comentor"
        return f"{'Year in review' if self.is_year else 'Review'}: {who}"

    @property
    def is_year(self) -> bool:
        """Whether this is a year in review (the period began a year before today)."""
        return self.since is not None and self.since == _years_later(self.today, -1)

    @property
    def period(self) -> str:
        return f"{self.start.isoformat()} to {self.today.isoformat()}"

    def slot_count(self, state: str) -> int:
        return sum(1 for s in self.slots if s.state == state)

    @property
    def held(self) -> int:
        """Check-ins held in the period, on time or late."""
        return self.slot_count("kept") + self.slot_count("late")


# a time ago: "1y", "-1y", "6m ago" (a review looks back; "+1y" is a date ahead)
_AGO = re.compile(r"^-?\s*(\d{1,4})\s*([dwmy])(?:\s+ago)?$")


def parse_since(text: str, today: dt.date) -> dt.date:
    """The first day of a review: YYYY-MM-DD, today, or a time ago ("1y", "-1y", "6m ago").

    A bare "1y" reads back, since a review looks back; anything else :func:`parse_date`
    reads is taken too, but "+1y" reads forward there, so a date after today is refused
    with what to type instead.
    """
    raw = (text or "").strip().lower()
    m = _AGO.match(raw)
    if m:
        n, unit = int(m.group(1)), m.group(2)
        try:
            if unit == "y":
                return _years_later(today, -n)
            return today - dt.timedelta(days=n * {"d": 1, "w": 7, "m": 30}[unit])
        except (ValueError, OverflowError):
            raise ValidationError(f"bad date {text!r}: that is too far back",
                                  option="since") from None
    try:
        day = parse_date(text, today)
    except ValidationError as exc:  # its hint proposes "+1y", which reads forward: say ours
        if len(raw) == 10 and _date(raw) is not None:  # the form was right, the year too early
            raise ValidationError(str(exc), option="since") from None
        raise ValidationError(f"bad date {text!r}: give YYYY-MM-DD or a time ago, like 1y "
                              "(a year in review), 6m or 2w", option="since") from None
    if day > today:
        raise ValidationError(f"{text.strip()!r} is {day}, after today: a review starts in the "
                              "past: give 1y (a year in review), 6m or YYYY-MM-DD",
                              option="since")
    return day


def _day(value: Any) -> str:
    return str(value or "")[:10]


def _date(value: Any) -> dt.date | None:
    try:
        return dt.date.fromisoformat(_day(value))
    except ValueError:
        return None


def _words(text: str) -> list[str]:
    return re.findall(r"\S+", text or "")


def story_diff(old: str, new: str) -> tuple[tuple[str, ...], tuple[str, ...], int, int]:
    """What changed between two versions of a story, word by word (difflib): the phrases
    added, the phrases removed, and how many words each way."""
    import difflib

    a, b = _words(old), _words(new)
    if len(a) > _DIFF_WORDS or len(b) > _DIFF_WORDS:
        return (), (), max(0, len(b) - len(a)), max(0, len(a) - len(b))
    added: list[str] = []
    removed: list[str] = []
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op in ("replace", "delete"):
            removed.append(" ".join(a[i1:i2]))
        if op in ("replace", "insert"):
            added.append(" ".join(b[j1:j2]))
    return (tuple(added), tuple(removed), sum(len(p.split()) for p in added),
            sum(len(p.split()) for p in removed))


def _first_day(j: Journal, since: dt.date | None, today: dt.date) -> dt.date:
    """The review's first day: `since`, but never before the partnership's first record
    (so a review "since 1900" does not draw a century of empty quarters)."""
    found = [d for d in (
        _date((j.get("partnership", "partnership") or {}).get("created_at")),
        *(_date(r.get("started_at")) for r in j._rows(
            "sessions", "status = 'done'", order="started_at", limit=1)),
        *(_date(r.get("recorded_at")) for r in j._rows("baselines", order="recorded_at",
                                                      limit=1)),
        # a win dated before 1900 (a mistyped year an older version took) starts nothing
        *(_date(r.get("date")) for r in j._rows(
            "wins", "date >= ?", (EARLIEST.isoformat(),), order="date", limit=1)),
    ) if d is not None]
    first = min(found) if found else today
    return min(today, max(since, first) if since else first)


def review(j: Journal, since: dt.date | None = None) -> Review:
    """The review of the partnership from `since` (default: its beginning) to today."""
    from ._review_parts import (
        asks_of,
        baselines_of,
        checkin_slots,
        commitments_of,
        stories_of,
        wins_by_quarter,
    )

    today = j.today()
    state = partnership_state(j)
    people = state.people
    start = _first_day(j, since, today)
    cad = cadence(j)
    names = tuple(name for _, name in people)
    tz = cad.tz
    slots = [s for s in checkin_slots(j, j.now().astimezone(tz).date(), cad.every_days, tz)
             if s.due >= start]
    return Review(
        today=today, since=since, start=start, names=names, cadence=cad.describe(),
        demo=state.demo,
        baselines=tuple(baselines_of(j, people)),
        goals=tuple(_goals(j, people, start)),
        stories=tuple(stories_of(j, people, start)),
        wins=tuple(wins_by_quarter(j, people, start, today)),
        commitments=tuple(commitments_of(j, people, start)),
        asks=tuple(asks_of(j, people, start)),
        slots=tuple(slots),
        balance=_balance(j, people, start),
    )


def _goals(j: Journal, people: list[tuple[str, str]], start: dt.date) -> list[GoalLine]:
    """Every goal alive during the period with its progress points in the period."""
    lo = start.isoformat()
    out: list[GoalLine] = []
    order = {pid: n for n, (pid, _) in enumerate(people)}
    names = dict(people)
    rows = j._rows("goals", "closed_at IS NULL OR closed_at >= ?", (lo,),
                   order="created_at, id")
    rows.sort(key=lambda g: order.get(g["person"], len(order)))
    for g in rows:
        history = goal_progress(j, g["id"])
        before = [p for d, p in history if d < lo]
        out.append(GoalLine(
            id=g["id"], person=g["person"], name=names.get(g["person"], j.person_name(g["person"])),
            text=g.get("text") or "", horizon=g.get("horizon") or "near",
            status=g.get("status") or "open", created=_day(g.get("created_at")),
            closed=_day(g.get("closed_at")) or None,
            points=tuple((d, p) for d, p in history if d >= lo),
            start=before[-1] if before else None))
    return out


def _balance(j: Journal, people: list[tuple[str, str]], start: dt.date,
             last: int = 6) -> Balance | None:
    """The time balance of the last check-ins of the period (model/_timer.py), by name,
    with each check-in's own split beside it: the overall shares are those same check-ins'
    (one held before the period is in neither)."""
    names = dict(people)
    me = j.me
    partner = next((pid for pid, _ in people if pid != me), None)
    lo = start.isoformat()
    recent = [(rec, split) for rec, split in recent_splits(j, last)
              if _day(rec.get("started_at")) >= lo]
    if not recent:
        return None

    def shares(mine: int, total: int) -> tuple[tuple[str, int], ...]:
        pct = round(100 * mine / total)
        return ((names.get(me, "?"), pct),) + (((names[partner], 100 - pct),) if partner else ())

    per = [(_day(rec.get("started_at")), shares(split.get(me, 0), sum(split.values())))
           for rec, split in reversed(recent)]
    overall = shares(sum(split.get(me, 0) for _, split in recent),
                     sum(sum(split.values()) for _, split in recent))
    return Balance(len(recent), overall, tuple(per))
