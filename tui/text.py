"""User text made inert for a terminal: no escape sequence from a partner ever runs.

Item text arrives by sync from the partner's device. Printed as is, an ESC or CSI sequence
in it would move the cursor, retitle the window or worse. Every C0 and C1 control character
(and DEL) is shown escaped, as ``\\x1b``; line breaks become " ⏎ " where a view has one line
per item, and stay where a view shows whole texts. So are the bidirectional embedding,
override and isolate marks (U+202A-U+202E, U+2066-U+2069): in a terminal that reorders
right-to-left text, one of them makes the rest of the line read otherwise than it is
("Trojan source"); letters of any script are untouched.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["inert", "one_line", "escape_controls", "counted", "columns", "clip", "cell",
           "first_name"]

_KEEP_MULTILINE = {"\n"}
_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f]")  # Unicode's Cc: C0, DEL and C1
_BIDI = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_PRINTED = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")  # and the marks


def _escape(char: str) -> str:
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def inert(text: object, *, keep_newlines: bool = True) -> str:
    """The text with every control character escaped (newlines kept unless asked not to)."""
    out = []
    for char in str(text if text is not None else ""):
        if char in _KEEP_MULTILINE and keep_newlines:
            out.append(char)
        elif char == "\t":
            out.append("    " if keep_newlines else " ")
        elif char in _BIDI or unicodedata.category(char) == "Cc":
            out.append(_escape(char))
        else:
            out.append(char)
    return "".join(out)


def one_line(text: object) -> str:
    """The text on one line, inert: line breaks shown as ' ⏎ ', controls escaped."""
    raw = str(text if text is not None else "").replace("\r\n", "\n").replace("\r", "\n")
    return " ⏎ ".join(inert(part, keep_newlines=False) for part in raw.split("\n"))


def escape_controls(text: str, *, keep: str = "\t\n\r", json: bool = False) -> str:
    """Only the control characters (all but `keep`) and the direction marks escaped,
    nothing else changed: for whole documents printed to a terminal (an export, JSON),
    whose layout must stay as it is.

    With `json`, escapes are JSON's own (``\u001b``), so the document stays valid JSON.
    """
    def escaped(match: re.Match[str]) -> str:
        char = match.group()
        if char in keep:
            return char
        return f"\\u{ord(char):04x}" if json else _escape(char)

    return _PRINTED.sub(escaped, text)


def counted(n: int, one: str, many: str | None = None) -> str:
    """'1 open ask', '2 open asks': a count with its noun in agreement (`many` defaults to
    `one` with an "s": give it where the plural is not that, as in "stories")."""
    return f"{n} {one if n == 1 else (many or one + 's')}"


def columns(text: str) -> int:
    """How many terminal columns `text` takes: a wide (East Asian) character two; a mark
    that joins the character before it, or a format character (a zero-width space, an
    emoji's variation selector), none."""
    return sum(0 if unicodedata.category(c) in ("Mn", "Me", "Cf") else
               2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def clip(text: str, width: int | None) -> str:
    """`text` cut to `width` columns, its last one "…" when cut; whole when `width` is None."""
    if width is None or columns(text) <= width:
        return text
    kept, used = [], 0
    for c in text:
        used += columns(c)
        if used > width - 1:
            break
        kept.append(c)
    return "".join(kept) + "…"


def cell(text: str, width: int) -> str:
    """`text` as a column `width` terminal columns wide: cut with "…", or padded."""
    kept = clip(text, width)
    return kept + " " * (width - columns(kept))


def first_name(name: str | None, fallback: str = "?") -> str:
    """A person's first name, on one line; `fallback` where there is no name, or one that
    starts with a space (names are stored trimmed: only a hand-made record has one)."""
    return one_line(name).split(" ")[0] or fallback
