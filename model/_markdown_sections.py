"""The sections of the Markdown export, one function per kind of item.

Each function reads the journal (read-only) and returns the lines of its section, built
only with the safe helpers of :mod:`._markdown`: user text through `block` (or `who` for
names), dates through `day`, and fixed wording of this module. Items are listed oldest
first, so the document reads as the partnership happened.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ._checkin_items import FEEDBACK_RESPONSES
from ._markdown import block, day, escape_inline, indent, item, section, who
from ._queries import goal_progress
from ._views import feedback_receiver

if TYPE_CHECKING:
    from ._journal import Journal

__all__ = ["Context", "partnership", "SHARED", "private", "checkin_section", "HELD_WORDS"]

_ORDER = "created_at, hlc_created"
_TOP, _SUB = indent(0), indent(1)
_WHAT = {"goals": "goal", "asks": "ask", "stories": "story", "commitments": "commitment",
         "challenges": "challenge", "feedback": "feedback", "talking_points": "talking point"}
_FEEDBACK_KIND = {"perspective": "a perspective", "suggestion": "a specific suggestion",
                  "push": "a push"}


@dataclass
class Context:
    """What several sections need: names, the day of each check-in, and what each check-in
    recorded about each item."""

    names: dict[str, str]
    sessions: dict[str, str]  # session id -> its day
    people: list[str]  # this device's person, then the partner
    covered: dict[tuple[str, str], list[tuple[str, str]]] = field(default_factory=dict)

    @classmethod
    def of(cls, j: Journal) -> Context:
        names = {p["id"]: p["name"] or "?" for p in j._rows("people", include_deleted=True)}
        sessions = {s["id"]: day(s.get("started_at") or s.get("planned_at") or s.get("created_at"))
                    for s in j._rows("sessions", include_deleted=True)}
        ctx = cls(names, sessions, [p for p in (j.me, j.partner()) if p])
        for r in j._rows("session_items", order="covered_at, hlc_created"):
            key = (str(r.get("item_table") or ""), str(r.get("item_id") or ""))
            ctx.covered.setdefault(key, []).append(
                (sessions.get(r.get("session") or "", ""), str(r.get("outcome") or "")))
        return ctx

    def who(self, person: str | None) -> str:
        return who(self.names.get(person or "", "?"))

    def receiver(self, feedback: Mapping[str, Any]) -> str:
        """Whom feedback is for, in bold (:func:`feedback_receiver`); "the partner" while
        the partner a giver meant is not known yet."""
        partner = self.people[1] if len(self.people) > 1 else None
        to = feedback_receiver(feedback, self.people[0], partner)
        return self.who(to) if to else "the partner"

    def at(self, session: str | None) -> str:
        """The words ' at the check-in of DAY' for an item that belongs to a check-in."""
        when = self.sessions.get(session or "")
        return f" at the check-in of {when}" if when else ""

    def history(self, table: str, row: str, ind: str = _TOP) -> list[str]:
        """What each check-in recorded about an item, one line each (a bare "covered" is
        left out: the item's own line says so)."""
        return [f"At the check-in of {when or '?'}: {block(outcome, ind)}"
                for when, outcome in self.covered.get((table, row), [])
                if outcome.strip() and outcome.strip() != "covered"]


def _text(row: dict[str, Any], key: str = "text", ind: str = _TOP) -> str:
    return block(str(row.get(key) or ""), ind)


def _labelled(label: str, value: object, ind: str = _TOP) -> str:
    """The line 'Label: text' for a field a person typed, or "" when it is empty."""
    text = block(str(value or ""), ind)
    return f"{label}: {text}" if text else ""


def _words(*parts: str) -> str:
    """Fixed words and days joined as "a, b, c" (parts that are empty left out)."""
    return ", ".join(p for p in parts if p)


def _upper(words: str) -> str:
    """Fixed words with their first letter in capitals (names inside left as they are)."""
    return words[:1].upper() + words[1:]


def partnership(j: Journal, ctx: Context) -> list[str]:
    """Who the partners are, and the peer checklist they confirmed."""
    people = ctx.people
    out = ["Partners: " + " and ".join(ctx.who(p) for p in people) + "."]
    rec = j.get("partnership", "partnership") or {}
    if rec.get("name"):
        out.append(f"Partnership: {block(str(rec['name']), '')}")
    if rec.get("confirmed_at"):
        checks = [("outside each other's company", rec.get("outside_company")),
                  ("outside each other's market", rec.get("outside_market")),
                  ("at a similar stage", rec.get("similar_stage"))]
        ticked = "; ".join(f"{what}: {'ticked' if ok else 'not ticked'}" for what, ok in checks)
        out.append(escape_inline(f"Peer checklist (confirmed {day(rec['confirmed_at'])}): "
                                 f"{ticked}."))
    return ["\\\n".join(out), ""]


def baselines(j: Journal, ctx: Context) -> list[str]:
    items: list[str] = []
    for b in j._rows("baselines", order="recorded_at, hlc_created"):
        items += item(
            f"{ctx.who(b.get('person'))}, recorded {day(b.get('recorded_at')) or '?'}"
            + ctx.at(b.get("session")),
            _labelled("Role", b.get("role")), _labelled("Situation", b.get("situation")),
            _labelled("Clients", b.get("clients")),
            _labelled("Concentration of clients", b.get("concentration")),
            _labelled("Near-term goals", b.get("near_goals")),
            _labelled("Long-term goals", b.get("long_goals")))
    return section("Baselines: where each partner started", items)


def goals(j: Journal, ctx: Context) -> list[str]:
    items: list[str] = []
    for g in j._rows("goals", order=_ORDER):
        facts = _words(f"{g.get('horizon') or 'near'}-term", str(g.get("status") or "open"),
                       f"target {day(g['target'])}" if g.get("target") else "",
                       f"set {day(g.get('created_at'))}",
                       f"closed {day(g['closed_at'])}" if g.get("closed_at") else "")
        progress = goal_progress(j, g["id"])
        updates: list[str] = []
        for u in j._rows("updates", "goal = ?", (g["id"],), order=_ORDER):
            pct = f", {u['progress']} %" if u.get("progress") is not None else ""
            updates += item(f"{day(u.get('created_at'))}, {ctx.who(u.get('person'))}{pct}"
                            f"{ctx.at(u.get('session'))}: {_text(u, ind=_SUB)}", depth=1)
        items += item(
            f"{ctx.who(g.get('person'))}: {_text(g)} ({facts})",
            _labelled("Detail", g.get("detail")),
            "Progress: " + " → ".join(f"{pct} % ({when})" for when, pct in progress)
            if progress else "",
            children=updates)
    return section("Goals", items)


def commitments(j: Journal, ctx: Context) -> list[str]:
    items: list[str] = []
    for c in j._rows("commitments", order=_ORDER):
        carried = sum(1 for _, line in ctx.covered.get(("commitments", c["id"]), [])
                      if line.startswith("carried"))
        facts = _words(str(c.get("status") or "open"),
                       f"due {day(c['due'])}" if c.get("due") else "",
                       f"carried {carried} time{'s' if carried != 1 else ''}" if carried else "",
                       f"made {day(c.get('created_at'))}{ctx.at(c.get('session'))}",
                       f"closed {day(c['closed_at'])}" if c.get("closed_at") else "")
        items += item(f"{ctx.who(c.get('person'))}: {_text(c)} ({facts})",
                      _labelled("Follow-up", c.get("follow_up")),
                      _labelled("Result", c.get("result")),
                      *ctx.history("commitments", c["id"]))
    return section("Commitments", items)


def asks(j: Journal, ctx: Context) -> list[str]:
    items: list[str] = []
    for a in j._rows("asks", order=_ORDER):
        facts = _words(str(a.get("kind") or "other"), str(a.get("status") or "open"),
                       f"asked {day(a.get('created_at'))}")
        answer = block(str(a.get("answer") or ""), _TOP)
        items += item(
            f"{ctx.who(a.get('person'))} asks ({facts}): {_text(a)}",
            _labelled("Outcome wanted", a.get("outcome")) or "Outcome wanted: not said yet",
            f"Answer from {ctx.who(a.get('answered_by'))}"
            f"{' on ' + day(a['answered_at']) if a.get('answered_at') else ''}: {answer}"
            if answer else "",
            *ctx.history("asks", a["id"]))
    return section("Asks", items)


def challenges(j: Journal, ctx: Context) -> list[str]:
    items: list[str] = []
    for c in j._rows("challenges", order=_ORDER):
        facts = _words(str(c.get("status") or "offered"),
                       f"proposed {day(c.get('created_at'))}",
                       f"due {day(c['due'])}" if c.get("due") else "",
                       f"closed {day(c['closed_at'])}" if c.get("closed_at") else "")
        items += item(
            f"{ctx.who(c.get('proposer'))} challenges {ctx.who(c.get('person'))}: "
            f"{_text(c)} ({facts})",
            _labelled("Follow-up", c.get("follow_up")),
            *ctx.history("challenges", c["id"]))
    return section("Challenges", items)


def _about(j: Journal, ctx: Context, table: str, row: str) -> str:
    """What a piece of feedback is about, in words: the goal “…”, Ben's story of DAY."""
    target = j.get(table, row, include_deleted=True) if table and row else None
    if target is None:
        return ""
    if table == "stories":
        return f"on the story of {ctx.who(target.get('person'))} of {day(target.get('created_at'))}"
    return f"on the {_WHAT.get(table, 'item')} “{_text(target)}”"


def feedback(j: Journal, ctx: Context) -> list[str]:
    items: list[str] = []
    for f in j._rows("feedback", order=_ORDER):
        kind = _FEEDBACK_KIND.get(str(f.get("kind") or ""), "feedback")
        about = _about(j, ctx, str(f.get("target_table") or ""), str(f.get("target_id") or ""))
        to = ctx.receiver(f)
        head = (f"{ctx.who(f.get('person'))} → {to}, "
                f"{_words(kind, about, day(f.get('created_at')))}{ctx.at(f.get('session'))}: "
                f"{_text(f)}")
        response = FEEDBACK_RESPONSES.get(str(f.get("response") or ""))
        reply = _text(f, "response_text")
        answer = (f"Answer of {to} "
                  f"({_words(response, day(f.get('responded_at')))})"
                  + (f": {reply}" if reply else "") if response else "Not answered yet")
        items += item(head, answer)
    return section("Feedback", items)


def wins(j: Journal, ctx: Context) -> list[str]:
    items: list[str] = []
    for w in j._rows("wins", order="date, created_at, hlc_created"):
        items += item(f"{day(w.get('date') or w.get('created_at'))}, "
                      f"{ctx.who(w.get('person'))}: {_text(w)}",
                      _labelled("Detail", w.get("detail")))
    return section("Wins", items)


def stories(j: Journal, ctx: Context) -> list[str]:
    items: list[str] = []
    people = list(ctx.people)
    rows = j._rows("stories", order=_ORDER)
    people += [p for p in dict.fromkeys(str(s.get("person")) for s in rows) if p not in people]
    for person in people:
        versions = [s for s in rows if s.get("person") == person]
        children: list[str] = []
        for n, s in enumerate(versions, start=1):
            children += item(f"Version {n} ({day(s.get('created_at'))}): {_text(s, ind=_SUB)}",
                             depth=1)
        if versions:
            items += item(f"The story of {ctx.who(person)}, {len(versions)} version"
                          f"{'s' if len(versions) != 1 else ''}, oldest first",
                          children=children)
    return section("Stories", items)


def skills(j: Journal, ctx: Context) -> list[str]:
    items: list[str] = []
    for s in j._rows("skills", order=_ORDER):
        direction = "a strength" if s.get("direction") == "strength" else "to grow"
        items += item(f"{ctx.who(s.get('person'))}: {_text(s)} "
                      f"({_words(str(s.get('kind') or 'skill'), direction)})")
    return section("Skills and experience", items)


def talking_points(j: Journal, ctx: Context) -> list[str]:
    items: list[str] = []
    for t in j._rows("talking_points", order=_ORDER):
        state = ("covered" + ctx.at(t.get("session")) if t.get("status") == "covered"
                 else "open")
        shared = "shared " + day(t.get("shared_at") or t.get("created_at"))
        items += item(f"{ctx.who(t.get('person'))}: {_text(t)} ({_words(state, shared)})",
                      *ctx.history("talking_points", t["id"]))
    return section("Talking points", items)


def notes(j: Journal, ctx: Context) -> list[str]:
    items: list[str] = []
    for n in j._rows("notes", order=_ORDER):
        items += item(f"{day(n.get('created_at'))}, {ctx.who(n.get('person'))}"
                      f"{ctx.at(n.get('session'))}: {_text(n)}")
    return section("Shared notes", items)


def _item_line(j: Journal, ctx: Context, table: str, row: str, outcome: str) -> list[str]:
    """One covered item of a check-in, as a nested list item."""
    rec = j.get(table, row, include_deleted=True) if table in _WHAT else None
    what = _WHAT.get(table, escape_inline(table.replace("_", " ")) or "item")
    if rec is None:
        text = "(no longer in the journal)"
    elif table == "stories":
        text = f"version of {day(rec.get('created_at'))}"
    else:
        text = f"“{_text(rec, ind=_SUB)}”"
    owner = "" if rec is None else (
        f" of {ctx.receiver(rec) if table == 'feedback' else ctx.who(rec.get('person'))}")
    return item(f"{_upper(what)}{owner} {text}: {block(outcome, _SUB) or 'covered'}", depth=1)


def _split(ctx: Context, raw: object) -> str:
    """A check-in's recorded time split as "Ada 12 min, Ben 15 min" ("" when none)."""
    try:
        split = {str(k): int(v) for k, v in json.loads(str(raw or "{}")).items()}
    except (ValueError, TypeError, AttributeError):
        return ""
    total = sum(split.values())
    if total <= 0:
        return ""
    order = sorted(split, key=lambda p: (p not in ctx.people,
                                         ctx.people.index(p) if p in ctx.people else 0, p))
    return ", ".join(f"{ctx.who(p)} {round(split[p] / 60)} min "
                     f"({round(100 * split[p] / total)} %)" for p in order)


HELD_WORDS = {"done": "held", "open": "in progress", "skipped": "skipped"}


def checkin_section(j: Journal, ctx: Context, s: dict[str, Any], level: int = 3) -> list[str]:
    """One check-in (a row of `sessions`): its status, who started and ended it, the time
    split, the next date, each item covered with its outcome, and its shared notes."""
    lines: list[str] = []
    facts = _words(HELD_WORDS.get(str(s.get("status") or ""), "planned"),
                   f"planned for {day(s['planned_at'])}" if s.get("planned_at") else "",
                   f"{s['minutes']} minutes" if s.get("minutes") else "")
    lines += item(f"Status: {facts}")
    if s.get("started_by") or s.get("ended_by"):
        lines += item(_upper(_words(f"started by {ctx.who(s['started_by'])}"
                             if s.get("started_by") else "",
                             f"ended by {ctx.who(s['ended_by'])}"
                             if s.get("ended_by") else "")))
    split = _split(ctx, s.get("split"))
    if split:
        lines += item(f"Time: {split}")
    if s.get("next_at"):
        lines += item(f"Next check-in set for {day(s['next_at'])}")
    covered = j._rows("session_items", "session = ?", (s["id"],),
                      order="covered_at, hlc_created")
    children: list[str] = []
    for r in covered:
        children += _item_line(j, ctx, str(r.get("item_table") or ""),
                               str(r.get("item_id") or ""), str(r.get("outcome") or ""))
    lines += item(f"Covered: {len(covered)} item{'s' if len(covered) != 1 else ''}",
                  children=children)
    if s.get("notes"):
        lines += item("Notes:", _text(s, "notes"))
    when = day(s.get("started_at") or s.get("planned_at") or s.get("created_at")) or "?"
    return section(f"Check-in of {when}", lines, level=level)


def checkins(j: Journal, ctx: Context) -> list[str]:
    out: list[str] = []
    held = j._rows("sessions", "status != 'planned'",
                   order="coalesce(started_at, planned_at, created_at), hlc_created")
    for s in held:
        out += checkin_section(j, ctx, s)
    return ["## Check-ins", "", *out] if out else []


def private(j: Journal, ctx: Context) -> list[str]:
    """Private notes and talking-point drafts: this device only, never synced."""
    items: list[str] = []
    for n in j.private_notes():
        about = ""
        if n.get("about_table") and n.get("about_id"):
            about = _about(j, ctx, str(n["about_table"]), str(n["about_id"])).removeprefix("on ")
        where = _words(about and f"about {about}", ctx.at(n.get("session")).strip())
        items += item(f"{day(n.get('created_at'))}{' (' + where + ')' if where else ''}: "
                      f"{_text(n)}")
    drafts: list[str] = []
    for d in j.drafts():
        drafts += item(f"{day(d.get('created_at'))}: {_text(d)}")
    return (section("Private notes (this device only)", items)
            + section("Talking-point drafts (this device only)", drafts))


SHARED: tuple[Callable[[Journal, Context], list[str]], ...] = (
    baselines, goals, commitments, asks, challenges, feedback, wins, stories, skills,
    talking_points, notes, checkins,
)
