"""User text is inert: no control character from a partner reaches the terminal raw."""

from __future__ import annotations

import unicodedata

from hypothesis import given
from hypothesis import strategies as st

from comentor.tui.text import inert, one_line


@given(st.text())
def test_no_control_character_survives(text: str) -> None:
    for shown in (inert(text, keep_newlines=False), one_line(text)):
        assert not any(unicodedata.category(c) == "Cc" for c in shown)
    assert all(c == "\n" or unicodedata.category(c) != "Cc" for c in inert(text))


def test_escapes_are_visible_and_lines_joined() -> None:
    assert one_line("a\x1b[2Jb\nc\r\nd") == "a\\x1b[2Jb ⏎ c ⏎ d"
    assert inert("bell\x07 csi\x9b") == "bell\\x07 csi\\x9b"
    assert inert("two\nlines") == "two\nlines"
