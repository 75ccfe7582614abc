"""The review as Markdown: the same review as the HTML file, as text people paste anywhere.

All user text goes through :func:`._markdown.escape_inline` and :func:`._markdown.block`,
so a goal that reads "# not a heading" or "<script>" stays text in every CommonMark
renderer. The charts become text: a sparkline of each goal's progress and the check-in
strip as one symbol per planned check-in.
"""

from __future__ import annotations

from ._markdown import block, escape_inline
from ._review import Review, Slot

__all__ = ["render_review_markdown", "sparkline", "STRIP_SYMBOLS", "strip_text"]

_BARS = "▁▂▃▄▅▆▇█"
# one symbol per planned check-in, readable without colour
STRIP_SYMBOLS = {"kept": "■", "late": "◩", "missed": "□", "due": "◌"}
_WORDS = {"kept": "kept", "late": "late", "missed": "missed", "due": "due now"}


def sparkline(values: list[int] | tuple[int, ...], high: int = 100) -> str:
    """Percentages as a row of block characters (0 to `high`)."""
    top = len(_BARS) - 1
    return "".join(_BARS[max(0, min(top, round(v / high * top)))] for v in values)


def strip_text(slots: tuple[Slot, ...] | list[Slot]) -> str:
    """The check-in strip as one symbol per planned check-in (see STRIP_SYMBOLS)."""
    return "".join(STRIP_SYMBOLS.get(s.state, "?") for s in slots)


def _e(text: object) -> str:
    return escape_inline(str(text or ""))


def _list(values: tuple[str, ...], empty: str = "none") -> str:
    return "; ".join(_e(v) for v in values) if values else empty


def _baselines(r: Review) -> list[str]:
    out = ["## Where we started, where we are", ""]
    for b in r.baselines:
        out += [f"### {_e(b.name)}", ""]
        if b.recorded:
            out.append(f"- **At the start** (baseline recorded {b.recorded})")
            for label, value in (("Role", b.role), ("Situation", b.situation),
                                 ("Clients", b.clients), ("Concentration", b.concentration),
                                 ("Near-term goals", b.near_goals),
                                 ("Long-term goals", b.long_goals)):
                if value:
                    out.append(f"  - {label}: {block(value, '    ')}")
        else:
            out.append("- **At the start**: no baseline recorded")
        out.append("- **Today**")
        out.append(f"  - Open near-term goals: {_list(b.goals_near)}")
        out.append(f"  - Open long-term goals: {_list(b.goals_long)}")
        out.append(f"  - Goals met: {_list(b.goals_met)}"
                   + (f" ({b.goals_dropped} dropped)" if b.goals_dropped else ""))
        out.append(f"  - Story: {block(b.story, '    ') if b.story else 'none yet'}")
        out.append(f"  - Strengths: {_list(b.strengths)}")
        out.append(f"  - Wants to grow: {_list(b.grows)}")
        out.append(f"  - Wins recorded: {b.wins}")
        out.append("")
    return out


def _goals(r: Review) -> list[str]:
    out = ["## Goals and their progress", ""]
    if not r.goals:
        return out + ["No goals in this period.", ""]
    for g in r.goals:
        values = ([g.start] if g.start is not None else []) + [p for _, p in g.points]
        head = f"- **{_e(g.name)}**: {_e(g.text)} ({g.horizon}-term, {g.status})"
        if not values:
            out.append(f"{head}: no progress recorded")
            continue
        first = g.start if g.start is not None else g.points[0][1]
        span = (f"{first} % → {g.latest} %" if len(values) > 1 else f"{g.latest} %")
        updates = len(g.points)
        out.append(f"{head}: {span}, {updates} update{'s' if updates != 1 else ''} "
                   f"{sparkline(values)}")
    return out + [""]


def _stories(r: Review) -> list[str]:
    out = ["## The story, version by version", ""]
    if not r.stories:
        return out + ["No story written yet.", ""]
    for name in r.names:
        versions = [s for s in r.stories if s.name == name]
        if not versions:
            continue
        out += [f"### {_e(name)}", ""]
        for s in versions:
            out.append(f"- Version {s.number}, {s.date} ({s.summary()}): {block(s.text)}")
            if s.added:
                out.append("  - added: " + "; ".join(f"“{_e(p)}”" for p in s.added))
            if s.removed:
                out.append("  - removed: " + "; ".join(f"“{_e(p)}”" for p in s.removed))
        out.append("")
    return out


def _wins(r: Review) -> list[str]:
    out = ["## Wins per quarter", ""]
    if not any(q.total for q in r.wins):
        return out + ["No wins recorded in this period.", ""]
    for q in r.wins:
        counts = ", ".join(f"{_e(n)} {c}" for n, c in zip(r.names, q.counts, strict=False))
        out.append(f"- {q.label}: {counts}")
        for day, name, text in q.wins:
            out.append(f"  - {day}, {_e(name)}: {_e(text)}")
    return out + [""]


def _practice(r: Review) -> list[str]:
    out = ["## Commitments", ""]
    for c in r.commitments:
        rate = f" ({c.kept_rate} % kept)" if c.kept_rate is not None else ""
        out.append(f"- {_e(c.name)}: {c.kept} kept, {c.dropped} dropped{rate}; carried to a "
                   f"later check-in {c.carried} time{'s' if c.carried != 1 else ''}; "
                   f"{c.open} open today")
    out += ["", "## Asks", ""]
    for a in r.asks:
        out.append(f"- {_e(a.name)}: {a.answered} answered, {a.closed} closed without an "
                   f"answer, {a.open} open")
        out += [f"  - open: {_e(t)}" for t in a.open_texts]
    out += ["", "## Check-ins held against planned", ""]
    if not r.slots:
        out += ["No check-in planned in this period yet.", ""]
    else:
        planned = len([s for s in r.slots if s.state != "due"])
        out.append(f"{r.held} held of {planned} planned: {r.slot_count('kept')} kept the "
                   f"cadence, {r.slot_count('late')} late, {r.slot_count('missed')} missed"
                   + ("; one is due now." if r.slot_count("due") else "."))
        out += ["", strip_text(r.slots), "",
                "Legend: " + ", ".join(f"{STRIP_SYMBOLS[k]} {_WORDS[k]}" for k in STRIP_SYMBOLS),
                ""]
        odd = [s for s in r.slots if s.state in ("late", "missed")]
        for s in odd:
            if s.state == "late":
                out.append(f"- due {s.due}, held {s.held} ({s.days_late} days late)")
            elif s.state == "missed":
                out.append(f"- due {s.due}: missed")
        if odd:
            out.append("")
    out += ["## Time balance", ""]
    if r.balance is None:
        out.append("No speaking time recorded yet (the check-in's timer records it).")
    else:
        b = r.balance
        shares = ", ".join(f"{_e(n)} {p} %" for n, p in b.shares)
        out.append(f"Last {b.checkins} check-in{'s' if b.checkins != 1 else ''}: {shares}")
        if b.per_checkin:
            out.append("")
            out += [f"- {day}: " + ", ".join(f"{_e(n)} {p} %" for n, p in row)
                    for day, row in b.per_checkin]
    return out + [""]


def render_review_markdown(r: Review) -> str:
    """The review as one Markdown document (user text escaped per CommonMark)."""
    out = [f"# {'Year in review' if r.is_year else 'Review'}: "
           + " & ".join(_e(n) for n in r.names), ""]
    # the cadence is the model's own words (an IANA zone name at most): kept readable
    out.append(f"Where we started, where we are: {r.period}. Cadence: {r.cadence}."
               + (" A demo partnership." if r.demo else ""))
    out.append("")
    for part in (_baselines, _goals, _stories, _wins, _practice):
        out += part(r)
    return "\n".join(out).rstrip() + "\n"
