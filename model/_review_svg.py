"""The review's charts as inline SVG: a line per goal, wins per quarter, the check-in strip.

Plain SVG elements only (no script, no link, no external reference, no font): the HTML
review must open offline years from now and print. Every chart reads without colour too:
goal lines differ in dash pattern, partners' bars in fill pattern (solid or outlined), and
the strip's states in shape. Text from the journal is escaped with :func:`esc`.
"""

from __future__ import annotations

import datetime as dt
import html
import math
import re
from collections.abc import Callable

from ._review import GoalLine, QuarterWins, Slot
from ._review_parts import next_quarter, quarter_of

__all__ = ["esc", "COLOURS", "DASHES", "PERSON_COLOURS", "progress_svg", "wins_svg", "strip_svg",
           "balance_svg"]

COLOURS = ("#1f5fa8", "#c0392b", "#2e8b57", "#8e44ad", "#d35400", "#16707a", "#7f6000",
           "#555555")
DASHES = ("", "7 4", "2 3", "9 3 2 3")
PERSON_COLOURS = ("#1f5fa8", "#d35400")
STRIP_COLOURS = {"kept": "#2e8b57", "late": "#d4a017", "missed": "#c0392b", "due": "#777777"}
_CONTROLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def esc(text: object) -> str:
    """Text for HTML or SVG: markup characters escaped, control characters shown as \\xNN
    (XML has no way to carry most of them, and none should reach a reader's screen)."""
    raw = _CONTROLS.sub(lambda m: f"\\x{ord(m.group()):02x}", str(text if text is not None else ""))
    return html.escape(raw, quote=True)


def _svg(width: int, height: int, label: str, body: list[str]) -> str:
    # no xmlns: inline SVG in HTML needs none, and the file names no URL at all
    return (f'<svg class="chart" viewBox="0 0 {width} {height}" '
            f'width="{width}" height="{height}" role="img" aria-label="{esc(label)}">'
            f"<title>{esc(label)}</title>" + "".join(body) + "</svg>")


def _x_of(start: dt.date, end: dt.date, left: float, width: float) -> Callable[[str], float]:
    """The x of a YYYY-MM-DD day on an axis from `start` to `end` (clamped to it)."""
    days = max(1, (end - start).days)

    def x(day: str) -> float:
        try:
            d = dt.date.fromisoformat(day[:10])
        except ValueError:
            d = start
        return left + width * min(1.0, max(0.0, (d - start).days / days))

    return x


def progress_svg(goals: list[GoalLine], start: dt.date, end: dt.date, label: str) -> str:
    """One line per goal over the period, 0 to 100 %; a goal's line starts where it stood
    when the period began."""
    w, h, left, right, top, bottom = 720, 230, 44, 12, 12, 30
    pw, ph = w - left - right, h - top - bottom
    x = _x_of(start, end, left, pw)

    def y(p: int) -> float:
        return top + ph * (1 - max(0, min(100, p)) / 100)

    body = []
    for p in (0, 25, 50, 75, 100):
        body.append(f'<line x1="{left}" x2="{left + pw}" y1="{y(p):.1f}" y2="{y(p):.1f}" '
                    'class="grid"/>')
        body.append(f'<text x="{left - 6}" y="{y(p) + 4:.1f}" class="axis" '
                    f'text-anchor="end">{p}%</text>')
    quarter = quarter_of(start)
    for _ in range(200):  # a light line at each quarter's first day, labelled where it fits
        quarter = next_quarter(quarter)
        if quarter >= end:
            break
        qx = x(quarter.isoformat())
        body.append(f'<line x1="{qx:.1f}" x2="{qx:.1f}" y1="{top}" y2="{top + ph}" class="grid"/>')
        if qx - left > 80 and left + pw - qx > 80:
            body.append(f'<text x="{qx:.1f}" y="{h - 8}" class="axis" text-anchor="middle">'
                        f"{quarter.year}-{quarter.month:02d}</text>")
    for day, anchor in ((start, "start"), (end, "end")):
        body.append(f'<text x="{x(day.isoformat()):.1f}" y="{h - 8}" class="axis" '
                    f'text-anchor="{anchor}">{esc(day.isoformat())}</text>')
    for n, g in enumerate(goals):
        pts = ([(start.isoformat(), g.start)] if g.start is not None else []) + list(g.points)
        if not pts:
            continue
        colour, dash = COLOURS[n % len(COLOURS)], DASHES[n % len(DASHES)]
        coords = " ".join(f"{x(d):.1f},{y(p):.1f}" for d, p in pts)
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        body.append(f'<g class="goal"><title>{esc(g.text)} ({g.latest} %)</title>'
                    f'<polyline points="{coords}" fill="none" stroke="{colour}" '
                    f'stroke-width="2.2"{dash_attr}/>')
        body += [f'<circle cx="{x(d):.1f}" cy="{y(p):.1f}" r="2.6" fill="{colour}"/>'
                 for d, p in pts]
        body.append("</g>")
    return _svg(w, h, label, body)


def wins_svg(quarters: list[QuarterWins], names: tuple[str, ...], label: str) -> str:
    """Bars per quarter, one per partner, with the count above each bar."""
    w, h, left, bottom, top = 720, 200, 30, 34, 16
    ph = h - top - bottom
    high = max([max(q.counts, default=0) for q in quarters] + [1])
    group = (w - left - 8) / max(1, len(quarters))
    bar = max(4.0, min(28.0, (group - 10) / max(1, len(names))))
    body = [f'<line x1="{left}" x2="{w - 8}" y1="{top + ph}" y2="{top + ph}" class="axisline"/>']
    # a label such as "2024 Q3" needs about 56 px: with many quarters only every `step`-th
    # is named (the first always), and counts sit above bars only where they fit
    step = max(1, math.ceil(56 / group))
    for i, q in enumerate(quarters):
        gx = left + i * group + (group - bar * len(names)) / 2
        for k, count in enumerate(q.counts):
            bh = ph * count / high
            colour = PERSON_COLOURS[k % len(PERSON_COLOURS)]
            fill = colour if k % 2 == 0 else "#ffffff"
            bx = gx + k * bar
            who = names[k] if k < len(names) else "?"
            body.append(f'<rect x="{bx:.1f}" y="{top + ph - bh:.1f}" width="{bar - 2:.1f}" '
                        f'height="{bh:.1f}" fill="{fill}" stroke="{colour}" stroke-width="2">'
                        f"<title>{esc(who)}: {count} in {esc(q.label)}</title></rect>")
            if count and bar >= 12:
                body.append(f'<text x="{bx + (bar - 2) / 2:.1f}" y="{top + ph - bh - 3:.1f}" '
                            f'class="value" text-anchor="middle">{count}</text>')
        if i % step == 0:
            body.append(f'<text x="{left + i * group + group / 2:.1f}" y="{h - 14}" '
                        f'class="axis" text-anchor="middle">{esc(q.label)}</text>')
    return _svg(w, h, label, body)


def strip_svg(slots: list[Slot], label: str, per_row: int = 26) -> str:
    """One cell per planned check-in, oldest first: filled (kept), half-filled (late),
    crossed (missed), dashed (due now)."""
    cell, gap = 22, 5
    rows = max(1, -(-len(slots) // per_row))
    w = per_row * (cell + gap) + gap
    h = rows * (cell + gap) + gap
    body = []
    for i, s in enumerate(slots):
        cx = gap + (i % per_row) * (cell + gap)
        cy = gap + (i // per_row) * (cell + gap)
        colour = STRIP_COLOURS.get(s.state, "#777777")
        tip = f"due {s.due.isoformat()}: {s.state}"
        if s.held is not None:
            tip += f", held {s.held.isoformat()}"
        if s.state in ("late", "due") and s.days_late:
            tip += f" ({s.days_late} days late)"
        shape = {
            "kept": f'<rect x="{cx}" y="{cy}" width="{cell}" height="{cell}" fill="{colour}"/>',
            "late": (f'<rect x="{cx + 1}" y="{cy + 1}" width="{cell - 2}" height="{cell - 2}" '
                     f'fill="#ffffff" stroke="{colour}" stroke-width="2"/>'
                     f'<path d="M{cx} {cy + cell} L{cx + cell} {cy} L{cx + cell} {cy + cell} Z" '
                     f'fill="{colour}"/>'),
            "missed": (f'<rect x="{cx + 1}" y="{cy + 1}" width="{cell - 2}" height="{cell - 2}" '
                       f'fill="#ffffff" stroke="{colour}" stroke-width="2"/>'
                       f'<path d="M{cx + 5} {cy + 5} L{cx + cell - 5} {cy + cell - 5} '
                       f'M{cx + cell - 5} {cy + 5} L{cx + 5} {cy + cell - 5}" '
                       f'stroke="{colour}" stroke-width="2.5"/>'),
        }.get(s.state, f'<rect x="{cx + 1}" y="{cy + 1}" width="{cell - 2}" height="{cell - 2}" '
                       f'fill="#ffffff" stroke="{colour}" stroke-width="2" '
                       'stroke-dasharray="3 2"/>')
        body.append(f'<g class="slot {esc(s.state)}"><title>{esc(tip)}</title>{shape}</g>')
    return _svg(w, h, label, body)


def balance_svg(shares: tuple[tuple[str, int], ...], label: str, width: int = 360) -> str:
    """One horizontal bar split between the partners' percentages."""
    h = 22
    body, x = [], 0.0
    for k, (name, pct) in enumerate(shares):
        colour = PERSON_COLOURS[k % len(PERSON_COLOURS)]
        fill = colour if k % 2 == 0 else "#ffffff"
        bw = width * pct / 100
        body.append(f'<rect x="{x:.1f}" y="1" width="{max(0.0, bw - 1):.1f}" height="{h - 2}" '
                    f'fill="{fill}" stroke="{colour}" stroke-width="2">'
                    f"<title>{esc(name)}: {pct} %</title></rect>")
        x += bw
    return _svg(width, h, label, body)
