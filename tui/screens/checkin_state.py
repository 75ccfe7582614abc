"""What the check-in screen shows, read in one call on the journal's thread (never a write).

Looking at the check-in starts nothing: with no check-in started, the state is the planned
one (the agenda as it stands, the time balance of the last check-ins); once either partner
started it, it is that check-in's shared state (timer, covered items, notes, and the notes
added to it as items, in ``status.notes``); once the check-in the screen was showing has
ended, it carries the shared summary. The next date is typed and shown in the cadence's
zone (``zone``), the one both partners' schedules are kept in.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from comentor.model import (
    AgendaItem,
    CheckinStatus,
    EndSummary,
    Journal,
    TimeBalance,
    TimerState,
    agenda,
    cadence,
    checkin_status,
    covered_items,
    end_summary,
    feedback_targets,
    is_first_checkin,
    missing_baselines,
    propose_next_checkin,
    shared_text_state,
    time_balance,
    timer_state,
)

__all__ = ["CheckinState", "load_checkin"]


@dataclass
class CheckinState:
    status: CheckinStatus
    minutes: int
    me: tuple[str, str]
    partner: tuple[str, str] | None
    agenda: list[AgendaItem]
    outcomes: dict[tuple[str, str], str]
    notes_state: bytes
    private_text: str
    first: bool
    timer: TimerState
    missing_baselines: list[str] = field(default_factory=list)
    next_due: dt.datetime | None = None
    balance: TimeBalance | None = None
    summary: EndSummary | None = None
    goals: list[tuple[str, str]] = field(default_factory=list)  # (label, id): updates
    targets: list[tuple[str, str]] = field(default_factory=list)  # (label, "table:id")
    zone: str = ""  # the cadence's IANA zone: the next date is typed and shown in it

    @property
    def session(self) -> str | None:
        return self.status.session

    @property
    def to_answer(self) -> list[AgendaItem]:
        """The feedback on the agenda still waiting for its answer."""
        return [i for i in self.agenda if i.table == "feedback" and not i.covered]

    @property
    def notes(self) -> str:
        from comentor.model import SharedText

        return SharedText(self.notes_state).text


def load_checkin(j: Journal, session: str | None = None) -> CheckinState:
    """Everything the screen shows; `session` is the check-in it was showing (so an end by
    the partner reads as ended). Reads only."""
    status = checkin_status(j, session)
    sid = status.session
    rec = (j.get("sessions", sid) if sid else None) or {}
    partner = j.partner()
    private = j.private_notes(sid) if sid else []
    targets = feedback_targets(j)
    cad = cadence(j)
    return CheckinState(
        status=status,
        minutes=int(rec.get("minutes") or cad.minutes),
        me=(j.me, j.person_name(j.me)),
        partner=(partner, j.person_name(partner)) if partner else None,
        agenda=agenda(j, sid),
        outcomes=covered_items(j, sid) if sid else {},
        notes_state=shared_text_state(j, "sessions", sid) if sid else b"",
        private_text=str(private[0]["text"]) if private else "",
        first=is_first_checkin(j),
        timer=timer_state(j, sid) if sid else TimerState(),
        missing_baselines=missing_baselines(j),
        next_due=propose_next_checkin(j),
        balance=time_balance(j),
        summary=end_summary(j, sid) if sid and status.phase == "ended" else None,
        goals=[(f"{t.person}: {t.text}", t.id) for t in targets if t.table == "goals"],
        targets=[(f"{t.table.rstrip('s')} · {t.person}: {t.text}", f"{t.table}:{t.id}")
                 for t in targets],
        zone=cad.zone,
    )
