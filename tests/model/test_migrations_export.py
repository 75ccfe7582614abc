"""Schema migrations from every earlier schema, and the three export formats."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from sqlite_utils import Database

from comentor.model import _clocks as clocks
from comentor.model import _entities as e
from comentor.model import _export as export
from comentor.model import _migrations as migrations
from comentor.model._journal import Journal
from comentor.model._schema import TABLES
from comentor.model._search import search
from comentor.model.errors import NotAJournalError


def _names() -> list[str]:
    return [m.name for m in migrations.MIGRATIONS._migrations]


@pytest.mark.parametrize("stop_before", _names()[1:])
def test_journal_from_every_earlier_schema_opens_and_upgrades(tmp_path: Path, stop_before: str) -> None:
    # make a current journal, then rebuild its data in a database stopped at an earlier schema
    j = Journal.create(tmp_path / "new.db", "Ada")
    e.add_goal(j, "Publish the guide")
    j.add_draft("Ask about the wombatword rate")
    j.close()
    old = tmp_path / "old.db"
    db = Database(sqlite3.connect(old, isolation_level=None), execute_plugins=False)
    migrations.migrate(db, stop_before=stop_before)
    src = sqlite3.connect(tmp_path / "new.db")
    before = _names().index(stop_before)
    # drafts were not indexed before m010: their documents are left out of older schemas
    unindexed = "" if before > _names().index("m010_draft_search") else (
        " WHERE rowid NOT IN (SELECT docid FROM search_docs "
        "WHERE tbl = 'talking_point_drafts')")
    tables = [t for t in db.table_names() if not t.startswith("_sqlite")]
    for table in tables:
        if table.startswith("search_fts"):
            if table == "search_fts":  # the index as that schema had it
                db.conn.executemany(
                    "INSERT INTO search_fts (rowid, body) VALUES (?, ?)",
                    src.execute(f"SELECT rowid, body FROM search_fts{unindexed}").fetchall(),
                )
            continue
        if table == "field_clocks":  # the clocks as a table of their own, before m009
            if before <= _names().index("m009_row_clocks"):
                db.conn.executemany("INSERT INTO field_clocks VALUES (?, ?, ?, ?, ?)",
                                    _clock_rows(src))
            continue
        # only the columns the older schema has: later fields arrive with their migration
        cols = [c[1] for c in db.conn.execute(f'PRAGMA table_info("{table}")')]
        names = ", ".join(f'"{c}"' for c in cols)
        where = unindexed.replace("rowid", "docid") if table == "search_docs" else ""
        rows = src.execute(f'SELECT {names} FROM "{table}"{where}').fetchall()
        if rows:
            marks = ",".join("?" * len(cols))
            db.conn.executemany(f'INSERT INTO "{table}" ({names}) VALUES ({marks})', rows)
    db.conn.close()
    j = Journal.open(old)
    assert migrations.pending(j.db) == 0
    assert sorted(_clock_rows(j.conn)) == sorted(_clock_rows(src))  # m009 moved them whole
    # kept, empty, for a 0.2 that reads the journal (its queries name the table)
    assert j.conn.execute("SELECT count(*) FROM field_clocks").fetchone()[0] == 0
    assert [h.table for h in search(j, "guide")] == ["goals"]
    assert [h.table for h in search(j, "wombatword")] == ["talking_point_drafts"]
    assert "revoked_seqs" in {c[1] for c in j.conn.execute('PRAGMA table_info("devices")')}
    e.add_goal(j, "Still writable")
    assert len(j.rows("goals")) == 2


def _clock_rows(conn: sqlite3.Connection) -> list[tuple[str, str, str, int, str]]:
    """Every field clock of a journal, as the rows of the table they had before m009."""
    out = []
    for table in TABLES:
        for row, blob in conn.execute(f'SELECT id, _clocks FROM "{table}"'):
            out.extend((table, row, f, h, r) for f, (h, r) in clocks.load(blob).items())
    assert out
    return out


def test_a_file_that_is_not_a_journal_is_refused_untouched(tmp_path: Path) -> None:
    other = tmp_path / "other.db"
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE t (x)")
    conn.commit()
    conn.close()
    before = other.read_bytes()
    with pytest.raises(NotAJournalError):
        Journal.open(other)
    assert other.read_bytes() == before
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    with pytest.raises(NotAJournalError):
        Journal.open(text)
    assert text.read_text() == "hello"


def test_exports(journal: Journal) -> None:
    from icalendar import Calendar

    e.add_goal(journal, "Publish the guide")
    journal.add_private_note("private thought")
    md = export.export_markdown(journal)
    assert "Publish the guide" in md and "private thought" not in md
    assert "private thought" in export.export_markdown(journal, private=True)
    data = json.loads(export.export_json(journal))
    assert data["goals"][0]["text"] == "Publish the guide" and "private_notes" not in data
    cal = Calendar.from_ical(export.export_ics(journal))
    events = list(cal.walk("VEVENT"))
    assert len(events) == 1
    rule = events[0]["RRULE"]
    assert rule["FREQ"] == ["WEEKLY"] and rule["INTERVAL"] == [3]


def test_migration_names_are_listed_for_the_cheap_check() -> None:
    from comentor.model._schema import MIGRATION_NAMES

    assert tuple(_names()) == MIGRATION_NAMES
