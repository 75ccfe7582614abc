"""Typed reads the screens and commands need, so that none of them writes a filter in SQL.

Each query answers one question an interface asks (who the partners are, a goal's updates,
the feedback on an item, the versions of a story, what feedback can be about, whose
baseline is missing) and returns plain data. The SQL stays here, next to the schema.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._devices import is_paired
from ._record import Record

if TYPE_CHECKING:
    from ._journal import Journal

__all__ = [
    "FeedbackTarget", "Partnership", "feedback_on", "feedback_receiver", "feedback_targets",
    "is_demo_journal",
    "missing_baselines", "owning_item", "partnership_state", "stories", "updates_of",
]


class Partnership(Record):
    """Who is in this journal's partnership, and in what state it is. (A frozen record
    written out, not a dataclass: the dashboard's first read loads it; see _record.py.)"""

    me: str  # this device's person id
    partner: str | None  # the other person's id, once known
    names: dict[str, str]  # every person ever known: id -> name ("?" when it has none)
    paired: bool  # see is_paired: the partnership key and a trusted device besides this one
    demo: bool  # a demo journal: never syncs, pairs or contacts a relay

    def name(self, person: str | None) -> str:
        return self.names.get(person or "", "?")

    @property
    def people(self) -> list[tuple[str, str]]:
        """(id, name) of me and then my partner (when known)."""
        return [(p, self.name(p)) for p in (self.me, self.partner) if p]


def partnership_state(j: Journal) -> Partnership:
    names = {p["id"]: p["name"] or "?" for p in j._rows("people", include_deleted=True)}
    return Partnership(j.me, j.partner(), names, is_paired(j), j.is_demo)


def is_demo_journal(path: str | Path) -> bool:
    """Whether the file at `path` is a demo journal (readable without its device key).

    Raises NotAJournalError when it is no journal at all.
    """
    from ._journal import _connect

    conn = _connect(Path(path), check_format=True)
    try:
        row = conn.execute("SELECT value FROM local_meta WHERE key = 'demo'").fetchone()
    finally:
        conn.close()
    return bool(row and row[0])


def updates_of(j: Journal, goal: str) -> list[dict[str, Any]]:
    """A goal's updates, newest first."""
    return j._rows("updates", "goal = ?", (goal,), order="created_at DESC")


def feedback_on(j: Journal, table: str, row: str) -> list[dict[str, Any]]:
    """The feedback given on one goal, ask or story, oldest first."""
    return j._rows("feedback", "target_table = ? AND target_id = ?", (table, row))


def stories(j: Journal, person: str | None = None) -> list[dict[str, Any]]:
    """Story versions, newest first: one person's, or everyone's."""
    if person is None:
        return j._rows("stories", order="created_at DESC, id DESC")
    return j._rows("stories", "person = ?", (person,), order="created_at DESC, id DESC")


class FeedbackTarget(Record):
    """Something feedback can be about: an open goal, an ask not closed, a current story."""

    table: str
    id: str
    person: str  # the owner's name
    text: str


def feedback_receiver(feedback: Mapping[str, Any], me: str, partner: str | None
                      ) -> str | None:
    """Whom a feedback row is for (the one who answers it): its ``to_person``, or for
    feedback given before the partner was known (no ``to_person``: nobody to name yet),
    the giver's partner; None while that partner is still unknown. ``me`` and ``partner``
    are this journal's two people (:meth:`Journal.partner`)."""
    to = feedback.get("to_person")
    if to:
        return str(to)
    giver = feedback.get("person")
    if giver == me:
        return partner
    return me if giver is not None and giver == partner else None


def feedback_targets(j: Journal) -> list[FeedbackTarget]:
    names = partnership_state(j).names
    out = [FeedbackTarget("goals", g["id"], names.get(g["person"], "?"), g["text"] or "")
           for g in j._rows("goals", "status = 'open'")]
    out += [FeedbackTarget("asks", a["id"], names.get(a["person"], "?"), a["text"] or "")
            for a in j._rows("asks", "status != 'closed'")]
    latest: dict[str, dict[str, Any]] = {}
    for s in j._rows("stories", order="created_at"):
        latest[s["person"]] = s
    out += [FeedbackTarget("stories", s["id"], names.get(s["person"], "?"), s["text"] or "")
            for s in latest.values()]
    return out


def missing_baselines(j: Journal) -> list[str]:
    """Person ids (me first) who have no baseline yet."""
    partner = j.partner()
    people = [j.me] + ([partner] if partner else [])
    done = {r["person"] for r in j._rows("baselines")}
    return [p for p in people if p not in done]


def owning_item(j: Journal, table: str, row: str) -> tuple[str, str | None]:
    """The item a row is shown as: an update is shown with its goal, anything else as itself."""
    if table == "updates":
        rec = j.get("updates", row) or {}
        return "goals", rec.get("goal")
    return table, row
