"""The Markdown export: the shared journal as a document people read.

User text is escaped so that it stays text (see `escape_inline` and `block`): a goal that
reads "# not a heading" must not become a heading in whatever renders the file.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from ._schedule import cadence, next_checkin

if TYPE_CHECKING:
    from ._journal import Journal

__all__ = ["export_markdown", "escape_inline", "block"]

# CommonMark 0.31 §2.4: any ASCII punctuation character may be backslash-escaped
_PUNCT = re.compile(r"([!\"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~])")


def escape_inline(text: str) -> str:
    """One line of user text as literal CommonMark inline content: every ASCII punctuation
    character backslash-escaped (so nothing opens a heading, list, fence, emphasis, link,
    HTML tag or entity) and line breaks folded to spaces."""
    one = " ".join((text or "").split())
    return _PUNCT.sub(r"\\\1", one)


def block(text: str, indent: str = "  ") -> str:
    """Several lines of user text as literal content under a list item: each line escaped,
    continuation lines indented so they stay inside the item, blank lines kept as breaks."""
    lines = [escape_inline(line) for line in (text or "").splitlines()] or [""]
    out = [lines[0]]
    for line in lines[1:]:
        out.append(f"{indent}{line}" if line else "")
    return "\n".join(out)


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
