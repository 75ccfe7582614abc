"""What a table's rows are called in messages: "a goal", "an ask", "a private note".

A module of its own, importing nothing: the messages of an edit, the decoder's refusal of a
text too long and `comentor search`'s kind column all need the name, and `search` stays a
quick command that loads no more than it prints (tests/cli/test_imports.py).
"""

from __future__ import annotations

__all__ = ["kind_name", "item_kind"]

_NAMES = {"stories": "story", "feedback": "feedback", "private_notes": "private note",
          "talking_points": "talking point", "talking_point_drafts": "draft",
          "sessions": "check-in", "people": "person"}


def kind_name(table: str) -> str:
    """'a goal', 'an ask', 'a private note': the kind of item a table holds, for messages."""
    name = _NAMES.get(table) or table.removesuffix("s").replace("_", " ")
    return ("an " if name[0] in "aeiou" else "a ") + name


def item_kind(table: str, *, article: bool = False) -> str:
    """'goal', 'story', 'private note' (with `article`: 'a goal', 'an ask'): the kind of
    item a table holds, for messages."""
    named = kind_name(table)
    return named if article else named.split(" ", 1)[1]
