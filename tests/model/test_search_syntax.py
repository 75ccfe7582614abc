"""What a person may type into search: "phrases", OR, -words to leave out, hyphenated
words as a phrase; and whatever they type, never an FTS5 error. A real journal."""

from __future__ import annotations

import sqlite3
import tempfile
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from comentor.model import _entities as e
from comentor.model._journal import Journal
from comentor.model._search import fts_query, search, search_count


def texts(journal: Journal, query: str) -> set[str]:
    return {str((journal.get(h.table, h.row) or {}).get("text")) for h in search(journal, query)}


def test_phrases_either_and_leaving_out(journal: Journal) -> None:
    e.add_goal(journal, "Publish the field guide")
    e.add_goal(journal, "Guide the field trip")
    e.add_win(journal, "Gave the pricing talk", date="2026-03-01")
    e.add_commitment(journal, "Draft chapter one")
    e.add_goal(journal, "Find a co-mentor for the spring")
    e.add_goal(journal, "Mentor a co-founder")
    # every word, in any order
    assert texts(journal, "field guide") == {"Publish the field guide", "Guide the field trip"}
    # a phrase: these words in this order
    assert texts(journal, '"field guide"') == {"Publish the field guide"}
    assert texts(journal, '"field gui') == {"Publish the field guide"}  # still typing it
    # either
    assert texts(journal, "chapter OR talk") == {"Draft chapter one", "Gave the pricing talk"}
    assert texts(journal, "pricing chapter OR talk") == {"Gave the pricing talk"}
    # leaving out
    assert texts(journal, "field -trip") == {"Publish the field guide"}
    assert texts(journal, 'guide -"field trip"') == {"Publish the field guide"}
    assert texts(journal, "-trip") == set() and search_count(journal, "-trip") == 0
    # a hyphenated word is a phrase, not two words anywhere
    assert texts(journal, "co-mentor") == {"Find a co-mentor for the spring"}
    # "or" in lower case is a word like any other
    assert texts(journal, "chapter or talk") == set()


def test_the_query_is_always_quoted() -> None:
    assert fts_query('say "hi" -x') == '("say" AND "hi") NOT "x"'
    assert fts_query("chapter OR talk") == '("chapter" OR "talk"*)'
    assert fts_query("NEAR(a:b *") == '"NEAR a b"*'  # one token: its words a phrase
    assert fts_query("a OR") == '"a"*' and fts_query("OR") == "" and fts_query("-x") == ""
    assert fts_query(" ".join(f"w{i}" for i in range(40))).count('"') == 32  # 16 words


_PIECES = st.sampled_from(['"', "-", "OR", "AND", "NOT", "NEAR", "(", ")", "*", ":", "^", "+",
                           "field", "guide", "co-mentor", " ", "  ", "é", "日本", "\x00", "'"])


@settings(max_examples=300, deadline=None)
@given(st.lists(_PIECES | st.text(max_size=6), max_size=12))
def test_whatever_is_typed_is_a_valid_query(pieces: list[str]) -> None:
    typed = "".join(pieces)
    db = sqlite3.connect(":memory:")
    db.execute("CREATE VIRTUAL TABLE t USING fts5(body)")
    db.execute("INSERT INTO t VALUES ('Publish the field guide, with a co-mentor')")
    query = fts_query(typed)
    if query:
        db.execute("SELECT count(*) FROM t WHERE t MATCH ?", (query,)).fetchone()


def test_a_journal_answers_every_odd_query() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        j = Journal.create(Path(tmp) / "j.db", "Ada")
        try:
            e.add_goal(j, "Publish the field guide")
            for odd in ('"', '""', '-""', '- -', "OR OR", '"OR"', "-OR", "(", "a:", "*", "^x"):
                search(j, odd)
                search_count(j, odd)
        finally:
            j.close()


def test_a_result_of_any_stored_day_is_dated(journal: Journal, monkeypatch: pytest.MonkeyPatch
                                              ) -> None:
    """Days at the ends of the calendar (a peer may send them) date their result instead of
    failing the search where local time would leave the calendar; a time stored without its
    zone is UTC, as every stored time is."""
    journal.write([("goals", "g0000000edge0001", {"text": "lantern early", "person": journal.me,
                                                  "created_at": "0001-01-01T00:00:00Z"}),
                   ("goals", "g0000000edge0002", {"text": "lantern late", "person": journal.me,
                                                  "created_at": "9999-12-31T23:00:00Z"}),
                   ("goals", "g0000000edge0003", {"text": "lantern naive", "person": journal.me,
                                                  "created_at": "2026-12-07T23:30:00"})])
    try:
        for zone in ("Asia/Tokyo", "America/New_York"):
            monkeypatch.setenv("TZ", zone)
            time.tzset()
            days = {h.row[-4:]: h.when for h in search(journal, "lantern")}
            assert days["0001"] == "0001-01-01" and days["0002"] == "9999-12-31"
            assert days["0003"] == ("2026-12-08" if zone == "Asia/Tokyo" else "2026-12-07")
    finally:
        monkeypatch.undo()
        time.tzset()
