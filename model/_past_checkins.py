"""Past check-ins: the list of every check-in held, and the record of one.

The check-in screen shows the check-in under way; once it ends, what it covered, its
shared notes and the notes added during it were readable only in an export. Here each one
is listed (newest first) and its record is one short Markdown document, made by the same
section the Markdown export writes for it (one wording, one escaping of user text), with
the notes added during it and, from this device only, the writer's private notes on it.
Shared notes kept outside any check-in (`comentor add note` between two) are one more
entry, :data:`OUTSIDE`, so that every shared note has a place in the app.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._markdown import block, day, item, section
from ._markdown_sections import HELD_WORDS, Context, checkin_section
from ._record import Record
from .errors import NotFoundError

if TYPE_CHECKING:
    from ._journal import Journal

__all__ = ["PastCheckin", "past_checkins", "checkin_record", "OUTSIDE", "outside_notes",
           "outside_record"]

OUTSIDE = "outside"  # the entry of the notes kept outside any check-in (no row has this id)


class PastCheckin(Record):
    """One check-in that was held, is under way or was skipped, as a list shows it."""

    id: str
    day: str  # YYYY-MM-DD: when it started (or was planned, or made)
    status: str  # held, in progress or skipped
    minutes: int  # its planned length (0 when none was set)
    covered: int  # agenda items covered
    notes: int  # note items added during it
    has_notes: bool  # whether its shared notes hold any text


def past_checkins(j: Journal) -> list[PastCheckin]:
    """Every check-in not merely planned, newest first."""
    rows = j.conn.execute(
        "SELECT s.id, coalesce(s.started_at, s.planned_at, s.created_at), s.status, "
        "s.minutes, length(trim(coalesce(s.notes, ''))) > 0, "
        "(SELECT count(*) FROM session_items i WHERE i.session = s.id AND i.deleted = 0), "
        "(SELECT count(*) FROM notes n WHERE n.session = s.id AND n.deleted = 0) "
        "FROM sessions s WHERE s.deleted = 0 AND s.status != 'planned' "
        "ORDER BY coalesce(s.started_at, s.planned_at, s.created_at) DESC, s.hlc_created DESC"
    ).fetchall()
    return [PastCheckin(str(r[0]), str(r[1] or "")[:10],
                        HELD_WORDS.get(str(r[2] or ""), "planned"), int(r[3] or 0),
                        int(r[5]), int(r[6]), bool(r[4])) for r in rows]


def checkin_record(j: Journal, session: str) -> str:
    """One check-in as Markdown: the export's section for it, then the notes added during
    it and this device's private notes on it. NotFoundError for an unknown id."""
    rec = j.get("sessions", session)
    if rec is None:
        raise NotFoundError("no such check-in: it may have been deleted")
    ctx = Context.of(j)
    lines = checkin_section(j, ctx, rec, level=2)
    added = j._rows("notes", "session = ?", (session,), order="created_at, hlc_created")
    lines += section("Notes added during it", [
        line for n in added
        for line in item(f"{ctx.who(n.get('person'))}: {block(str(n.get('text') or ''))}")],
        level=3)
    mine = j.private_notes(session)
    lines += section("Your private notes on it (this device only)", [
        line for n in mine
        for line in item(f"{day(n.get('created_at'))}: {block(str(n.get('text') or ''))}")],
        level=3)
    return "\n".join(lines).rstrip() + "\n"


def outside_notes(j: Journal) -> tuple[int, str]:
    """How many shared notes belong to no check-in, and the day of the newest ("" when
    none)."""
    count, newest = j.conn.execute(
        "SELECT count(*), max(created_at) FROM notes WHERE deleted = 0 "
        "AND (session IS NULL OR session = '')").fetchone()
    return int(count), str(newest or "")[:10]


def outside_record(j: Journal) -> str:
    """The shared notes kept outside any check-in, as Markdown, oldest first."""
    ctx = Context.of(j)
    kept = j._rows("notes", "session IS NULL OR session = ''", order="created_at, hlc_created")
    lines = section("Notes kept outside any check-in", [
        line for n in kept for line in item(
            f"{day(n.get('created_at'))}, {ctx.who(n.get('person'))}: "
            f"{block(str(n.get('text') or ''))}")], level=2)
    return "\n".join(lines).rstrip() + "\n" if lines else "No note kept outside a check-in.\n"
