"""Exports: Markdown to read, JSON to process, iCalendar to put the series in a calendar.

Exports hold what both partners share; private notes are only included when asked for,
because an export file is easy to send on by mistake.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import TYPE_CHECKING, Any

from ._dates import format_every
from ._schedule import cadence, next_checkin
from ._schema import TABLES

if TYPE_CHECKING:
    from ._journal import Journal

__all__ = ["export_json", "export_markdown", "export_ics", "FORMATS"]

FORMATS = ("md", "json", "ics")
_SKIP = {"hlc_created", "hlc_updated", "deleted"}


def _clean(row: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.hex() if isinstance(v, bytes) else v) for k, v in row.items() if k not in _SKIP}


def export_json(j: Journal, *, private: bool = False) -> str:
    data: dict[str, Any] = {"format": "comentor-export-1", "exported_at": j.now_iso()}
    for table in TABLES:
        data[table] = [_clean(r) for r in j.rows(table)]
    if private:
        data["private_notes"] = j.private_notes()
    return json.dumps(data, indent=2, ensure_ascii=False, sort_keys=True)


def export_markdown(j: Journal, *, private: bool = False) -> str:
    name = j.person_name
    out = ["# comentor journal", ""]
    nxt = next_checkin(j)
    out += [f"Next check-in: {nxt.describe(j.today())}; cadence {cadence(j).describe()}.", ""]
    sections = [
        ("Goals", "goals", lambda r: f"{r['text']} ({r.get('horizon') or 'near'}-term, {r['status']})"),
        ("Commitments", "commitments", lambda r: f"{r['text']} ({r['status']}"
         + (f", due {r['due']}" if r.get("due") else "") + ")"),
        ("Asks", "asks", lambda r: f"{r['text']} [{r.get('kind')}] ({r['status']})"
         + (f" — answer: {r['answer']}" if r.get("answer") else "")),
        ("Challenges", "challenges", lambda r: f"{r['text']} ({r['status']})"),
        ("Feedback", "feedback", lambda r: f"[{r.get('kind')}] {r['text']}"),
        ("Wins", "wins", lambda r: f"{r.get('date') or ''} {r['text']}"),
        ("Stories", "stories", lambda r: f"{(r.get('created_at') or '')[:10]}: {r['text']}"),
        ("Skills", "skills", lambda r: f"{r['text']} ({r.get('direction')})"),
    ]
    for title, table, fmt in sections:
        rows = j._rows(table, order="created_at")
        if not rows:
            continue
        out += [f"## {title}", ""]
        out += [f"- **{name(r.get('person'))}**: {fmt(r)}" for r in rows]
        out.append("")
    sessions = j._rows("sessions", "status = 'done'", order="started_at")
    if sessions:
        out += ["## Check-ins", ""]
        for s in sessions:
            out.append(f"### {(s.get('started_at') or '')[:10]}")
            if s.get("notes"):
                out += ["", s["notes"]]
            out.append("")
    if private:
        notes = j.private_notes()
        if notes:
            out += ["## Private notes (this device only)", ""]
            out += [f"- {(n.get('created_at') or '')[:10]}: {n['text']}" for n in notes]
            out.append("")
    return "\n".join(out).rstrip() + "\n"


def export_ics(j: Journal) -> bytes:
    """The check-in series as one recurring event (RRULE from the cadence)."""
    from icalendar import Calendar, Event, vRecur

    cad = cadence(j)
    nxt = next_checkin(j)
    partner = j.person_name(j.partner()) if j.partner() else "my co-mentor"
    cal = Calendar()
    cal.add("prodid", "-//comentor//check-ins//EN")
    cal.add("version", "2.0")
    event = Event()
    event.add("uid", f"checkins-{j.meta('person')}@comentor")
    event.add("summary", f"Co-mentoring check-in with {partner}")
    event.add("dtstamp", j.now().astimezone(dt.UTC))
    # floating local time (no zone): "12:00 where you are", so the series keeps its hour
    # across daylight-saving changes, as the cadence means it
    start = nxt.due.astimezone().replace(tzinfo=None)
    event.add("dtstart", start)
    event.add("dtend", start + dt.timedelta(minutes=cad.minutes))
    if cad.every_days % 7 == 0:
        event.add("rrule", vRecur(freq="WEEKLY", interval=cad.every_days // 7))
    else:
        event.add("rrule", vRecur(freq="DAILY", interval=cad.every_days))
    event.add("description", f"comentor check-in, {format_every(cad.every_days)}")
    cal.add_component(event)
    return bytes(cal.to_ical())
