"""A damaged journal is named and never written to; repair rebuilds it from its signed log.

Damage is made by hand in the file's bytes (a flipped page, a cut, text that is not UTF-8);
a full database by `PRAGMA max_page_count` (SQLite's own SQLITE_FULL, without a real full
disk: the CLI tests use a tiny tmpfs for that).
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

from comentor import model as m
from comentor.model import _health as health
from comentor.model._journal import Journal
from comentor.model._schema import MIGRATION_RELEASES, expected_columns
from comentor.model.errors import (
    DamagedJournalError,
    DiskFullError,
    JournalExistsError,
    NewerJournalError,
    NotAJournalError,
)

from .helpers import paired, sync_pair


def _filled(path: Path, goals: int = 40, *, passphrase: str | None = None) -> Path:
    j = Journal.create(path, "Ada", passphrase=passphrase, fast_kdf=True)
    for i in range(goals):
        m.add_goal(j, f"Goal {i} " + "words " * 10)
        j.add_private_note(f"private thought {i}")
    j.close()
    return path


def _ops(path: Path) -> set[tuple[str, int, bytes]]:
    conn = sqlite3.connect(path)
    try:
        return {(str(r), int(s), bytes(g)) for r, s, g in conn.execute("SELECT replica, seq, sig FROM ops")}
    finally:
        conn.close()


def _page_of(path: Path, sql: str) -> int:
    """The page a row lives on (SQLite's dbstat is not always built in: use rootpage)."""
    conn = sqlite3.connect(path)
    try:
        return int(conn.execute(sql).fetchone()[0])
    finally:
        conn.close()


def _spoil(path: Path, page: int, at: int = 0, length: int = 24) -> bytes:
    """Overwrite bytes of one page (the b-tree header by default) with 0xA5; returns the file."""
    data = bytearray(path.read_bytes())
    size = int.from_bytes(data[16:18], "big")
    start = (page - 1) * size + (100 if page == 1 else 0) + at
    data[start:start + length] = b"\xa5" * length
    path.write_bytes(bytes(data))
    return bytes(data)


def _root(path: Path, table: str) -> int:
    return _page_of(path, f"SELECT rootpage FROM sqlite_master WHERE name = '{table}'")


def test_a_damaged_journal_is_refused_at_open_and_left_untouched(tmp_path: Path) -> None:
    path = _filled(tmp_path / "j.db")
    before = _spoil(path, _root(path, "goals"))
    with pytest.raises(DamagedJournalError) as caught:
        Journal.open(path)
    assert caught.value.field("path") == str(path) and caught.value.field("hint") == "repair"
    assert "damaged" in str(caught.value) and "\n" not in str(caught.value)
    assert path.read_bytes() == before


def test_damage_met_after_opening_refuses_every_later_write_and_is_remembered(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # a journal too large for the quick check at open: the damage surfaces in a query
    monkeypatch.setattr(health, "QUICK_CHECK_MAX_BYTES", 0)
    path = _filled(tmp_path / "j.db")
    before = _spoil(path, _root(path, "goals"))
    j = Journal.open(path)
    assert j.write_refusal is None
    with pytest.raises(DamagedJournalError) as caught:
        m.list_items(j, "goal")
    assert "quick_check" in str(caught.value.field("detail"))
    assert isinstance(j.write_refusal, DamagedJournalError)
    with pytest.raises(DamagedJournalError):
        j.add_private_note("never lands")  # a table the damage does not touch
    with pytest.raises(DamagedJournalError):
        m.add_goal(j, "never lands")
    j.close()
    assert path.read_bytes() == before
    with pytest.raises(DamagedJournalError):  # another process: remembered, not re-checked
        Journal.open(path)


def test_text_that_is_not_utf8_is_damage_not_a_crash(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(health, "QUICK_CHECK_MAX_BYTES", 0)
    path = _filled(tmp_path / "j.db", goals=3)
    path.write_bytes(path.read_bytes().replace(b"Goal 1 words", b"\xff\xfeal 1 words"))
    with Journal.open(path) as j:
        with pytest.raises(DamagedJournalError):
            m.list_items(j, "goal")


def test_truncated_or_overwritten_is_damaged_anything_else_is_not_a_journal(tmp_path: Path) -> None:
    path = _filled(tmp_path / "j.db")
    data = path.read_bytes()
    for name, body in (("cut.db", data[: len(data) // 2]), ("short.db", data[:60]),
                       ("head.db", b"\0" * 16 + data[16:])):
        (tmp_path / name).write_bytes(body)
        with pytest.raises(DamagedJournalError):
            Journal.open(tmp_path / name)
        assert (tmp_path / name).read_bytes() == body
    for name, body in (("empty.db", b""), ("notes.txt", b"just some notes\n" * 100)):
        (tmp_path / name).write_bytes(body)
        with pytest.raises(NotAJournalError) as caught:
            Journal.open(tmp_path / name)
        assert not isinstance(caught.value, DamagedJournalError)


def test_the_tables_opening_expects_are_those_a_fresh_journal_has(journal: Journal) -> None:
    have: dict[str, set[str]] = {}
    for table, column in journal.conn.execute(
            "SELECT m.name, p.name FROM sqlite_master AS m, pragma_table_info(m.name) AS p "
            "WHERE m.type = 'table' AND m.name NOT LIKE 'search_fts_%' "
            "AND m.name NOT LIKE '_sqlite_%'"):
        have.setdefault(table, set()).add(column)
    assert have == expected_columns()


def test_a_schema_text_that_still_parses_but_renames_a_column_is_damage(tmp_path: Path) -> None:
    path = _filled(tmp_path / "j.db", goals=3)
    data = path.read_bytes()
    table = b'CREATE TABLE "goals" (id TEXT PRIMARY KEY, deleted '
    assert data.count(table) == 1
    path.write_bytes(data.replace(table, table.replace(b"deleted", b"deletex")))
    with pytest.raises(DamagedJournalError) as caught:
        Journal.open(path)
    assert "goals lacks deleted" in str(caught.value.field("detail"))


def test_a_garbled_record_of_migrations_is_damage_not_a_newer_journal(tmp_path: Path) -> None:
    path = _filled(tmp_path / "j.db", goals=3)
    conn = sqlite3.connect(path)
    conn.execute("UPDATE _sqlite_migrations SET name = 'm002_searcx' WHERE name = 'm002_search'")
    conn.commit()
    conn.close()
    with pytest.raises(DamagedJournalError):
        Journal.open(path)


def test_a_full_database_changes_nothing_and_says_so(journal: Journal) -> None:
    m.add_goal(journal, "Before the disk filled")
    pages = journal.conn.execute("PRAGMA page_count").fetchone()[0]
    journal.conn.execute(f"PRAGMA max_page_count = {pages}")
    with pytest.raises(DiskFullError) as caught:
        for i in range(50):
            m.write_story(journal, f"story {i} " + "long text " * 3000)
    assert str(caught.value).startswith("the disk is full: nothing was changed")
    assert not journal.conn.in_transaction
    journal.conn.execute("PRAGMA max_page_count = 1073741823")
    m.add_goal(journal, "After space was freed")  # the journal goes on as it was
    assert {g["text"] for g in journal.rows("goals")} == {"Before the disk filled",
                                                          "After space was freed"}


def test_a_failed_create_leaves_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def full(*args: object, **kwargs: object) -> None:
        raise DiskFullError("the disk is full")

    monkeypatch.setattr(Journal, "_init_meta", full)
    with pytest.raises(DiskFullError) as caught:
        Journal.create(tmp_path / "j.db", "Ada")
    assert "no journal was made" in str(caught.value)
    assert os.listdir(tmp_path) == []


def test_a_newer_schema_is_read_but_never_written(tmp_path: Path) -> None:
    path = _filled(tmp_path / "j.db", goals=2)
    with Journal.open(path) as j:  # the release its newest migration needs is recorded
        assert j.meta("needs_version") == MIGRATION_RELEASES[-1][1]
        # what a comentor 99 would leave: a migration this one does not know, and its release
        j.conn.executescript(
            "INSERT INTO _sqlite_migrations (migration_set, name) VALUES ('comentor', 'm099_next');"
            "UPDATE local_meta SET value = '99.0.0' WHERE key = 'needs_version';")
    before = path.read_bytes()
    with Journal.open(path) as j:
        assert len(m.list_items(j, "goal")) == 2
        with pytest.raises(NewerJournalError) as caught:
            m.add_goal(j, "never lands")
        assert caught.value.field("needs") == "99.0.0" and "comentor 99.0.0" in str(caught.value)
        with pytest.raises(NewerJournalError):
            j.add_private_note("never lands either")
    assert path.read_bytes() == before


# ---------------------------------------------------------------------- repair
def test_repair_recovers_every_operation_when_the_structure_is_gone(tmp_path: Path) -> None:
    path = _filled(tmp_path / "j.db", passphrase="open sesame")
    want = _ops(path)
    with Journal.open(path, passphrase="open sesame") as j:
        old_replica = j.replica
    before = _spoil(path, 1, length=400)  # the table of tables: SQL reaches nothing
    with pytest.raises(DamagedJournalError):
        Journal.open(path, passphrase="open sesame")
    report = m.repair_journal(path, tmp_path / "new.db")
    assert path.read_bytes() == before
    assert not any(p.exists() for p in health.companions(path))
    assert report.operations == len(want) and report.missing is None
    assert report.local["private_notes"] == 40 and report.local["local_keys"] == 1
    assert _ops(tmp_path / "new.db") == want
    with Journal.open(tmp_path / "new.db", passphrase="open sesame") as j:
        assert len(m.list_items(j, "goal")) == 40
        assert len(j.private_notes()) == 40
        m.add_goal(j, "written after the repair")
        assert j.replica.split(".")[0] == old_replica.split(".")[0]
        assert int(j.replica.split(".")[1]) > int(old_replica.split(".")[1])  # a new epoch


def test_repair_keeps_only_what_verifies_and_never_overwrites(tmp_path: Path) -> None:
    path = _filled(tmp_path / "j.db")
    want = _ops(path)
    data = bytearray(path.read_bytes())
    import random

    rnd = random.Random(8)
    for _ in range(50):
        data[rnd.randrange(len(data))] ^= rnd.randrange(1, 256)
    path.write_bytes(bytes(data))
    report = m.repair_journal(path)
    new = tmp_path / "j-repaired.db"
    got = _ops(new)
    assert got <= want and report.operations == len(got) >= len(want) * 0.8
    with Journal.open(new) as j:
        assert len(m.list_items(j, "goal")) > 0
    with pytest.raises(JournalExistsError):
        m.repair_journal(path)  # the default target now exists
    with pytest.raises(JournalExistsError):
        m.repair_journal(path, path)


def test_a_repaired_journal_gets_the_rest_back_from_the_partner(tmp_path: Path) -> None:
    ada, ben = paired(tmp_path)
    for i in range(30):
        m.add_goal(ada, f"Ada's goal {i} " + "padding " * 40)
        m.add_goal(ben, f"Ben's goal {i}")
    sync_pair(ada, ben)
    path = ada.path
    ada.close()
    conn = sqlite3.connect(path)
    goals = [bytes(g) for (g,) in conn.execute("SELECT sig FROM ops WHERE tbl = 'goals'")]
    keep = [bytes(g) for (g,) in conn.execute("SELECT sig FROM ops WHERE tbl != 'goals'")]
    conn.close()
    # lose every page of the log that holds a goal's operation (and nothing of the trust list)
    data = bytearray(path.read_bytes())
    size = int.from_bytes(data[16:18], "big")
    for sig in goals:
        page = data.find(sig) // size
        chunk = bytes(data[page * size:(page + 1) * size])
        if page > 0 and not any(k in chunk for k in keep):
            data[page * size:(page + 1) * size] = b"\0" * size
    path.write_bytes(bytes(data))
    report = m.repair_journal(path, tmp_path / "ada2.db")
    assert report.operations < len(_ops(ben.path))
    assert report.local["local_secrets"] >= 1
    with Journal.open(tmp_path / "ada2.db") as again:
        sync_pair(again, ben)
        mine = {g["text"] for g in again.rows("goals")}
        assert mine == {g["text"] for g in ben.rows("goals")} and len(mine) == 60
    ben.close()


def test_a_damaged_device_key_is_refused_at_open(tmp_path: Path) -> None:
    path = _filled(tmp_path / "j.db", goals=2)
    with sqlite3.connect(path) as db:
        db.execute("UPDATE local_keys SET sign_secret = x'0102'")
    db.close()
    with pytest.raises(DamagedJournalError) as caught:
        Journal.open(path)
    assert caught.value.field("detail") == "its device key is damaged"
    assert "damaged" in str(caught.value) and "\n" not in str(caught.value)
