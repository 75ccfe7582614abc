"""The review as one self-contained HTML file a pair can keep.

One file, nothing else: the CSS is inline, the charts are inline SVG (:mod:`._review_svg`),
there is no script, no font, no image file and no URL, so it opens offline in any browser
years from now and shows the same thing. Links are only "#" fragments within the page.
Every piece of user text is HTML-escaped (:func:`._review_svg.esc`). It prints readably:
black on white, the contents list left out, charts and tables never split over pages.
"""

from __future__ import annotations

from ._review import BaselineView, Review
from ._review_md import STRIP_SYMBOLS
from ._review_svg import (
    COLOURS,
    DASHES,
    PERSON_COLOURS,
    STRIP_COLOURS,
    balance_svg,
    esc,
    progress_svg,
    strip_svg,
    wins_svg,
)

__all__ = ["render_review_html", "CHART_GOALS"]

CHART_GOALS = len(COLOURS)  # goals drawn in one chart

_CSS = """
:root { color-scheme: light; }
* { box-sizing: border-box; }
body { margin: 0; background: #f6f6f3; color: #1d1d1b;
       font: 15px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; }
main { max-width: 860px; margin: 0 auto; padding: 24px 28px 48px; background: #fff; }
h1 { font-size: 1.7em; margin: 0 0 .2em; }
h2 { font-size: 1.25em; margin: 1.8em 0 .6em; padding-bottom: .2em;
     border-bottom: 2px solid #1f5fa8; }
h3 { font-size: 1.05em; margin: 1.2em 0 .4em; }
p.period { color: #555; margin-top: 0; }
nav ol { columns: 2; padding-left: 1.2em; margin: .4em 0 0; }
a { color: #1f5fa8; }
table { border-collapse: collapse; width: 100%; margin: .4em 0 1em; }
th, td { text-align: left; vertical-align: top; padding: .35em .5em;
         border-bottom: 1px solid #ddd; }
th { font-weight: 600; background: #f1f3f6; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.then-now td { width: 40%; }
.then-now th[scope=row] { width: 20%; }
.muted { color: #666; }
.story { white-space: pre-wrap; }
ul.plain { margin: .2em 0; padding-left: 1.2em; }
ins { background: #dff3e4; text-decoration: none; padding: 0 .15em; }
del { background: #fbe3e1; padding: 0 .15em; }
figure { margin: 0 0 1em; }
svg.chart { max-width: 100%; height: auto; display: block; margin: .4em 0; }
svg.chart .grid { stroke: #e2e2e2; stroke-width: 1; }
svg.chart .axisline { stroke: #999; stroke-width: 1; }
svg.chart .axis { font-size: 11px; fill: #555; }
svg.chart .value { font-size: 11px; fill: #1d1d1b; }
.legend { list-style: none; padding: 0; margin: .2em 0 1em; font-size: .92em; }
.legend li { margin: .15em 0; }
.swatch { display: inline-block; width: 26px; margin-right: .5em; vertical-align: middle;
          border-top-width: 3px; }
.box { display: inline-block; width: 12px; height: 12px; margin-right: .4em;
       vertical-align: -1px; border: 2px solid; }
footer { margin-top: 2.5em; color: #666; font-size: .85em; border-top: 1px solid #ddd;
         padding-top: .6em; }
@page { margin: 14mm; }
@media print {
  body { background: #fff; font-size: 11pt; }
  main { max-width: none; padding: 0; }
  nav { display: none; }
  h2, h3 { break-after: avoid; page-break-after: avoid; }
  svg.chart, table, figure, .legend, article { break-inside: avoid; page-break-inside: avoid; }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
}
"""

_SECTIONS = (("start", "Where we started, where we are"), ("goals", "Goals and their progress"),
             ("story", "The story, version by version"), ("wins", "Wins per quarter"),
             ("commitments", "Commitments"), ("asks", "Asks"),
             ("checkins", "Check-ins held against planned"), ("time", "Time balance"))


def _text(value: str | None, empty: str = "—") -> str:
    """User text as HTML: escaped, line breaks kept."""
    if not (value or "").strip():
        return f'<span class="muted">{empty}</span>'
    return esc(value).replace("\n", "<br>")


def _items(values: tuple[str, ...], empty: str = "none") -> str:
    if not values:
        return f'<span class="muted">{empty}</span>'
    return '<ul class="plain">' + "".join(f"<li>{esc(v)}</li>" for v in values) + "</ul>"


def _baseline(b: BaselineView) -> list[str]:
    start = f"At the start ({esc(b.recorded)})" if b.recorded else "At the start"
    clients = _text(b.clients) + (f' <span class="muted">(concentration: '
                                  f'{esc(b.concentration)})</span>' if b.concentration else "")
    met = _items(b.goals_met) + (f'<span class="muted">{b.goals_dropped} dropped</span>'
                                 if b.goals_dropped else "")
    skills = (f"<strong>Strengths</strong>{_items(b.strengths)}"
              f"<strong>Wants to grow</strong>{_items(b.grows)}")
    rows = [("Role", _text(b.role), '<span class="muted">—</span>'),
            ("Situation and story", _text(b.situation),
             f'<span class="story">{_text(b.story, "no story yet")}</span>'),
            ("Clients", clients, f"{b.wins} win{'s' if b.wins != 1 else ''} recorded"),
            ("Near-term goals", _text(b.near_goals), _items(b.goals_near, "none open")),
            ("Long-term goals", _text(b.long_goals), _items(b.goals_long, "none open")),
            ("Goals met", '<span class="muted">—</span>', met),
            ("Skills", '<span class="muted">—</span>', skills)]
    out = [f"<article><h3>{esc(b.name)}</h3>"]
    if not b.recorded:
        out.append('<p class="muted">No baseline recorded: the first check-in records it.</p>')
    out.append(f'<table class="then-now"><thead><tr><th></th><th>{start}</th><th>Today</th>'
               "</tr></thead><tbody>")
    out += [f'<tr><th scope="row">{label}</th><td>{then}</td><td>{now}</td></tr>'
            for label, then, now in rows]
    out.append("</tbody></table></article>")
    return out


def _goals(r: Review) -> list[str]:
    """A chart per partner, and per CHART_GOALS goals beyond that (each line keeps a colour
    and dash of its own: a chart of forty lines reads as none), open goals first."""
    if not r.goals:
        return ['<p class="muted">No goals in this period.</p>']
    out = []
    for name in r.names:
        goals = sorted((g for g in r.goals if g.name == name), key=lambda g: g.status != "open")
        if not goals:
            continue
        out.append(f"<h3>{esc(name)}</h3>")
        for first in range(0, len(goals), CHART_GOALS):
            part = goals[first:first + CHART_GOALS]
            which = (f" ({first + 1} to {first + len(part)} of {len(goals)})"
                     if len(goals) > CHART_GOALS else "")
            out.append("<figure>" + progress_svg(part, r.start, r.today,
                                                f"Progress of {name}'s goals{which}"))
            out.append('<ul class="legend">')
            for n, g in enumerate(part):
                colour, dash = COLOURS[n % len(COLOURS)], DASHES[n % len(DASHES)]
                style = {"": "solid", "2 3": "dotted"}.get(dash, "dashed")
                start = g.start if g.start is not None else (g.points[0][1] if g.points else None)
                where = (f"{start} % → {g.latest} %, {len(g.points)} updates"
                         if g.latest is not None else "no progress recorded")
                out.append(f'<li><span class="swatch" style="border-top-style: {style}; '
                           f'border-top-color: {colour}"></span>{esc(g.text)} '
                           f'<span class="muted">({g.horizon}-term, {esc(g.status)}; {where})'
                           "</span></li>")
            out.append("</ul></figure>")
    return out


def _stories(r: Review) -> list[str]:
    if not r.stories:
        return ['<p class="muted">No story written yet.</p>']
    out = []
    for name in r.names:
        versions = [s for s in r.stories if s.name == name]
        if not versions:
            continue
        out.append(f"<h3>{esc(name)}</h3><ol class=\"plain\">")
        for s in versions:
            out.append(f'<li value="{s.number}"><strong>{esc(s.date)}</strong> '
                       f'<span class="muted">({esc(s.summary())})</span>'
                       f'<div class="story">{_text(s.text)}</div>')
            if s.added or s.removed:
                out.append("<div>" + " ".join(f"<ins>{esc(p)}</ins>" for p in s.added)
                           + (" " if s.added and s.removed else "")
                           + " ".join(f"<del>{esc(p)}</del>" for p in s.removed) + "</div>")
            out.append("</li>")
        out.append("</ol>")
    return out


def _legend_people(names: tuple[str, ...]) -> str:
    items = []
    for k, name in enumerate(names):
        colour = PERSON_COLOURS[k % len(PERSON_COLOURS)]
        fill = colour if k % 2 == 0 else "#ffffff"
        items.append(f'<li><span class="box" style="background: {fill}; border-color: '
                     f'{colour}"></span>{esc(name)}</li>')
    return '<ul class="legend">' + "".join(items) + "</ul>"


def _wins(r: Review) -> list[str]:
    if not any(q.total for q in r.wins):
        return ['<p class="muted">No wins recorded in this period.</p>']
    out = [wins_svg(list(r.wins), r.names, "Wins per quarter"), _legend_people(r.names)]
    for q in r.wins:
        if q.wins:
            out.append(f"<h3>{esc(q.label)}</h3><ul class=\"plain\">")
            out += [f"<li>{esc(day)} · <strong>{esc(name)}</strong>: {esc(text)}</li>"
                    for day, name, text in q.wins]
            out.append("</ul>")
    return out


def _commitments_asks(r: Review) -> tuple[list[str], list[str]]:
    c_rows = "".join(
        f"<tr><td>{esc(c.name)}</td><td class=num>{c.kept}</td><td class=num>{c.dropped}</td>"
        f"<td class=num>{'—' if c.kept_rate is None else f'{c.kept_rate} %'}</td>"
        f"<td class=num>{c.carried}</td><td class=num>{c.open}</td></tr>" for c in r.commitments)
    commitments = ["<table><thead><tr><th>Who</th><th class=num>Kept</th><th class=num>Dropped"
                   "</th><th class=num>Kept rate</th><th class=num>Times carried</th>"
                   f"<th class=num>Open today</th></tr></thead><tbody>{c_rows}</tbody></table>"]
    a_rows = "".join(
        f"<tr><td>{esc(a.name)}</td><td class=num>{a.answered}</td><td class=num>{a.closed}</td>"
        f"<td class=num>{a.open}</td><td>{_items(a.open_texts, '')}</td></tr>" for a in r.asks)
    asks = ["<table><thead><tr><th>Who asked</th><th class=num>Answered</th><th class=num>"
            "Closed unanswered</th><th class=num>Open</th><th>Still open</th></tr></thead>"
            f"<tbody>{a_rows}</tbody></table>"]
    return commitments, asks


def _checkins(r: Review) -> list[str]:
    if not r.slots:
        return ['<p class="muted">No check-in planned in this period yet.</p>']
    planned = len([s for s in r.slots if s.state != "due"])
    out = [f"<p>{r.held} held of {planned} planned ({esc(r.cadence)}): "
           f"<strong>{r.slot_count('kept')}</strong> kept the cadence, "
           f"<strong>{r.slot_count('late')}</strong> late, "
           f"<strong>{r.slot_count('missed')}</strong> missed"
           + ("; one is due now." if r.slot_count("due") else ".") + "</p>",
           strip_svg(list(r.slots), "Check-ins held against planned, oldest first")]
    words = {"kept": "kept (held on time)", "late": "late", "missed": "missed", "due": "due now"}
    out.append('<ul class="legend">' + "".join(
        f'<li><span class="box" style="border-color: {STRIP_COLOURS[k]}; background: '
        f'{STRIP_COLOURS[k] if k == "kept" else "#ffffff"}"></span>{STRIP_SYMBOLS[k]} {w}</li>'
        for k, w in words.items()) + "</ul>")
    odd = [s for s in r.slots if s.state in ("late", "missed")]
    if odd:
        out.append('<ul class="plain">' + "".join(
            f"<li>due {s.due.isoformat()}: "
            + (f"held {s.held.isoformat()}, {s.days_late} days late" if s.held is not None
               else "missed") + "</li>" for s in odd) + "</ul>")
    return out


def _time(r: Review) -> list[str]:
    b = r.balance
    if b is None:
        return ['<p class="muted">No speaking time recorded yet (the check-in\'s timer '
                "records it).</p>"]
    shares = ", ".join(f"{esc(n)} {p} %" for n, p in b.shares)
    out = [f"<p>Last {b.checkins} check-in{'s' if b.checkins != 1 else ''}: {shares}</p>",
           balance_svg(b.shares, "Speaking time of the last check-ins"),
           _legend_people(tuple(n for n, _ in b.shares))]
    if b.per_checkin:
        out.append("<table><thead><tr><th>Check-in</th><th>Split</th></tr></thead><tbody>")
        out += [f"<tr><td>{esc(day)}</td><td>" + ", ".join(f"{esc(n)} {p} %" for n, p in row)
                + "</td></tr>" for day, row in b.per_checkin]
        out.append("</tbody></table>")
    return out


def render_review_html(r: Review) -> str:
    """The review as one self-contained HTML document (no script, no external reference)."""
    title = f"{'Year in review' if r.is_year else 'Review'}: " + " & ".join(r.names)
    commitments, asks = _commitments_asks(r)
    bodies = {"start": [line for b in r.baselines for line in _baseline(b)],
              "goals": _goals(r), "story": _stories(r), "wins": _wins(r),
              "commitments": commitments, "asks": asks, "checkins": _checkins(r),
              "time": _time(r)}
    out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
           '<meta name="viewport" content="width=device-width, initial-scale=1">',
           f"<title>{esc(title)}</title><style>{_CSS}</style></head><body><main>",
           f"<header><h1>{esc(title)}</h1><p class=\"period\">Where we started, where we are: "
           f"{esc(r.period)}" + (" · a demo partnership" if r.demo else "") + "</p></header>",
           "<nav><ol>" + "".join(f'<li><a href="#{key}">{name}</a></li>'
                                 for key, name in _SECTIONS) + "</ol></nav>"]
    for key, name in _SECTIONS:
        out.append(f'<section id="{key}"><h2>{name}</h2>')
        out += bodies[key]
        out.append("</section>")
    out.append(f"<footer>Made with comentor on {r.today.isoformat()}. This file is complete "
               "in itself: it needs no network and runs no scripts.</footer>")
    out.append("</main></body></html>")
    return "\n".join(out) + "\n"
