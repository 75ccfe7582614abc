"""User text is inert: no control character from a partner reaches the terminal raw."""

from __future__ import annotations

import unicodedata

from hypothesis import given
from hypothesis import strategies as st

from comentor.tui.text import escape_controls, first_name, inert, one_line


@given(st.text())
def test_no_control_character_survives(text: str) -> None:
    for shown in (inert(text, keep_newlines=False), one_line(text)):
        assert not any(unicodedata.category(c) == "Cc" for c in shown)
    assert all(c == "\n" or unicodedata.category(c) != "Cc" for c in inert(text))


def test_escapes_are_visible_and_lines_joined() -> None:
    assert one_line("a\x1b[2Jb\nc\r\nd") == "a\\x1b[2Jb ⏎ c ⏎ d"
    assert inert("bell\x07 csi\x9b") == "bell\\x07 csi\\x9b"
    assert inert("two\nlines") == "two\nlines"


@given(st.text())
def test_whole_documents_keep_their_layout_and_lose_their_controls(text: str) -> None:
    import json

    shown = escape_controls(text)
    assert all(c in "\t\n\r" or unicodedata.category(c) != "Cc" for c in shown)
    assert escape_controls(shown) == shown
    document = json.dumps({"text": text}, ensure_ascii=False)
    safe = escape_controls(document, json=True)
    assert json.loads(safe) == {"text": text}
    assert not any(unicodedata.category(c) == "Cc" for c in safe)


def test_documents_show_escapes_where_the_controls_were() -> None:
    assert escape_controls("a\x1b[2J\tb\r\n\x9b") == "a\\x1b[2J\tb\r\n\\x9b"
    assert escape_controls('"\x9b"', json=True) == '"\\u009b"'


def test_first_name_is_inert_and_falls_back_to_a_whole_phrase() -> None:
    """The fallback stands whole ("your partner", not "your"), for no name and for one that
    yields no first word; the name is made inert before it is cut."""
    assert first_name("Ada Lovelace") == "Ada"
    assert first_name(None, "your partner") == "your partner"
    assert first_name("", "Partner") == "Partner"
    assert first_name(" Ada", "Partner") == "Partner"
    assert first_name("Ben\x1b[31m Jones") == "Ben\\x1b[31m"
    assert first_name("Ben\nJones") == "Ben"
    assert first_name(None) == "?"
