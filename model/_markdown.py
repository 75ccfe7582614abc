"""The Markdown export: the whole shared journal as one document people read.

Whatever a person typed stays text in whatever renders the file (CommonMark 0.31 and the
renderers built on it): a goal that reads "# not a heading" is no heading, a line of three
backticks opens no code block, "<script>" is shown, not run, and a text of several lines
stays inside its list item. Every piece of user text (names included) goes through
:func:`escape_inline` (one line) or :func:`block` (several lines); the structure (headings,
lists, bold names) is only ever made by this module and :mod:`._markdown_sections`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING

from ._schedule import cadence, next_checkin

if TYPE_CHECKING:
    from ._journal import Journal

__all__ = ["export_markdown", "escape_inline", "block", "who", "day", "item", "indent",
           "section", "HARD_BREAK"]

# CommonMark 0.31 §2.4: any ASCII punctuation character may be backslash-escaped, and an
# escaped one is always a literal character. Escaping all 32 of them (not only those that
# mark something up in some context) needs no knowledge of where the text lands: nothing
# can then open a heading, list, quote, fence, table, emphasis, link, autolink, HTML tag or
# entity, and typographic renderers leave quotes, dashes and dots as typed.
_PUNCT = re.compile(r"([!\"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~])")

# §6.7: a backslash at the end of a line is a hard line break. Unlike two trailing spaces it
# survives editors that trim lines, and it never ends a paragraph or a list item.
HARD_BREAK = "\\"
NBSP = "\u00a0"  # a line's indentation: CommonMark keeps it, where it drops leading spaces


def escape_inline(text: str) -> str:
    """One line of user text as literal CommonMark inline content.

    Every ASCII punctuation character is backslash-escaped, whitespace (line breaks and tabs
    included) is folded to single spaces and trimmed (so no line can start an indented code
    block, end in a hard break or break out of its line), and U+0000 becomes U+FFFD as
    every CommonMark parser would make it (§2.3), so the text parsed back is exactly
    ``" ".join(text.replace("\\0", "\\ufffd").split())``.
    """
    one = " ".join((text or "").replace("\0", "\ufffd").split())
    return _PUNCT.sub(r"\\\1", one)


def block(text: str, indent: str = "  ") -> str:
    """Several lines of user text as literal content that stays where it is put (after a
    list marker, a label or at the start of a paragraph).

    Each line is escaped with :func:`escape_inline`; lines are joined by hard line breaks,
    so they show as the lines that were typed; continuation lines start with `indent` (the
    content column of the list item the text is in: two spaces under ``- `` at the top
    level). How far each line but the first stands in from the least indented line (the
    whitespace it starts with, a tab counted as four) is kept as as many no-break spaces
    (U+00A0): a space there would be dropped by every renderer, and with it the shape of a
    nested list typed into a note. The first line follows a label on the same line, so it
    is not indented. Blank lines are trimmed at both ends and a run of them becomes one
    empty line inside the same paragraph, so a blank line can neither end the list item
    nor turn its list loose. Empty text gives "".
    """
    typed = [(escape_inline(raw), _width(raw)) for raw in (text or "").splitlines()]
    base = min((width for line, width in typed if line), default=0)
    lines: list[str] = []
    for line, width in typed:
        if line and lines:  # the first line follows a label: nothing to line up with
            line = NBSP * (width - base) + line
        if line or (lines and lines[-1]):
            lines.append(line)
    while lines and not lines[-1]:
        lines.pop()
    return (HARD_BREAK + "\n" + indent).join(lines)


def _width(raw: str) -> int:
    """How far a typed line stands in: its leading whitespace, a tab counted as four."""
    lead = raw[:len(raw) - len(raw.lstrip())]
    return len(lead) + 3 * lead.count("\t")


def who(name: str | None) -> str:
    """A person's name in bold, escaped ("?" when there is none): ``**Ada**``.

    Put it after a space or at the start of a line and follow it with a space, punctuation
    or the end of the line, so the ``**`` always open and close.
    """
    return f"**{escape_inline(name or '') or '?'}**"


def day(value: object) -> str:
    """The day of a stored date or date-time as YYYY-MM-DD ("" when there is none); a value
    that is no date is shown escaped rather than trusted."""
    raw = str(value or "").strip()
    if not raw:
        return ""
    try:
        return dt.datetime.fromisoformat(raw.replace("Z", "+00:00")).date().isoformat()
    except ValueError:
        return escape_inline(raw)


def indent(depth: int) -> str:
    """The content column of a list item at `depth` (0 = top level): where its continuation
    lines start, and the `indent` to give :func:`block` for text inside it."""
    return "  " * (depth + 1)


def item(head: str, *lines: str, depth: int = 0, children: Iterable[str] = ()) -> list[str]:
    """One list item: `head` and the non-empty `lines` (Markdown already made safe, with
    :func:`block` given ``indent(depth)``) as one paragraph, one per line, then `children`
    (the lines of a nested list, made with ``depth + 1``)."""
    parts = [head, *(line for line in lines if line)]
    text = (HARD_BREAK + "\n" + indent(depth)).join(parts)
    return [f"{'  ' * depth}- {text}", *children]


def section(title: str, items: list[str], *, level: int = 2) -> list[str]:
    """A heading and its list, or nothing when the list is empty."""
    if not items:
        return []
    return [f"{'#' * level} {title}", "", *items, ""]


def export_markdown(j: Journal, *, private: bool = False) -> str:
    """The journal as one Markdown document: the partnership and its schedule, then each
    kind of item with its history (baselines, goals with their updates and progress,
    commitments, asks, challenges, feedback, wins, stories, skills, talking points, shared
    notes) and each check-in with what it covered. Private notes and talking-point drafts
    (this device only) are included only when `private` is asked for."""
    from . import _markdown_sections as sections

    ctx = sections.Context.of(j)
    nxt = next_checkin(j)
    out = ["# comentor journal", ""]
    out += sections.partnership(j, ctx)
    out += [escape_inline(f"Next check-in: {nxt.describe(j.today())}; cadence "
                          f"{cadence(j).describe()}."), ""]
    for make in sections.SHARED:
        out += make(j, ctx)
    if private:
        out += sections.private(j, ctx)
    return "\n".join(out).rstrip() + "\n"
