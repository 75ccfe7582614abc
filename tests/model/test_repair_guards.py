"""Repair's guards: damage that would make it loop, a journal it must not downgrade, and a
file that is no journal at all.

Each case is a real journal (or a real backup, a real text file) changed by hand in its
bytes or through SQLite; repair must end with its usual result or one line that says what
to do, write nothing, and leave none of its temporary copy (which holds the device's keys)
behind.
"""

from __future__ import annotations

import sqlite3
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from comentor import model as m
from comentor.model._backup import SEALED_MAGIC, backup_journal
from comentor.model._journal import Journal
from comentor.model.errors import NewerJournalError, NotAJournalError

from .helpers import undo_row_clocks

# the repair child's address space: about ten times what a repair of these journals needs,
# so a repair that reads the same rows forever fails soon instead of filling the machine
_CHILD_MEMORY = 512 * 1024 * 1024
_CHILD_GIVE_UP = 300  # seconds: only so that a loop never hangs the suite; nothing is timed


def _filled(path: Path, goals: int = 40) -> Path:
    j = Journal.create(path, "Ada", fast_kdf=True)
    for i in range(goals):
        m.add_goal(j, f"Goal {i} " + "words " * 10)
        j.add_private_note(f"private thought {i}")
    j.close()
    return path


def _sigs(path: Path) -> set[bytes]:
    conn = sqlite3.connect(path)
    try:
        return {bytes(s) for (s,) in conn.execute("SELECT sig FROM ops")}
    finally:
        conn.close()


def _varint_end(data: bytes | bytearray, pos: int) -> int:
    while data[pos] & 0x80:
        pos += 1
    return pos + 1


def _lower_last_rowid(path: Path, table: str) -> None:
    """Give the table's last row (the last cell of its rightmost leaf page) rowid 0, keeping
    the varint's length: a row now out of order, that SQLite still reads."""
    conn = sqlite3.connect(path)
    (page,) = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", (table,)).fetchone()
    conn.close()
    data = bytearray(path.read_bytes())
    size = int.from_bytes(data[16:18], "big")
    while True:  # down the right edge of the b-tree (dbstat is not always built in)
        head = (page - 1) * size + (100 if page == 1 else 0)
        if data[head] == 0x0D:  # a table leaf
            break
        assert data[head] == 0x05, "a table's b-tree holds only interior and leaf pages"
        (page,) = struct.unpack(">I", data[head + 8:head + 12])
    (cells,) = struct.unpack(">H", data[head + 3:head + 5])
    (offset,) = struct.unpack(">H", data[head + 8 + 2 * (cells - 1):head + 10 + 2 * (cells - 1)])
    rowid = _varint_end(data, (page - 1) * size + offset)  # after the payload's size
    length = _varint_end(data, rowid) - rowid
    data[rowid:rowid + length] = b"\x80" * (length - 1) + b"\x00"
    path.write_bytes(bytes(data))


def _leftovers(folder: Path) -> list[Path]:
    """Repair's temporary copy, and a new journal half built (files/building_path)."""
    return sorted(folder.glob(".comentor-repair-*")) + sorted(folder.glob(".*.new*"))


# ---------------------------------------------------------------------- rows out of order
def test_repair_reads_past_a_row_whose_rowid_goes_backwards(tmp_path: Path) -> None:
    path = _filled(tmp_path / "j.db")
    want = _sigs(path)
    for table in ("ops", "private_notes"):
        _lower_last_rowid(path, table)
    with sqlite3.connect(path) as conn:  # SQLite reads every row, the last one out of order
        rowids = [r for (r,) in conn.execute("SELECT rowid FROM ops NOT INDEXED")]
    conn.close()
    assert len(rowids) == len(want) and rowids[-1] == 0 and rowids[-2] > 0
    before = path.read_bytes()
    new = tmp_path / "new.db"
    # the command, in a child whose memory is bounded from its first line: a repair that
    # read the same rows forever would fail there, out of memory, not fill this machine
    child = ("import resource, runpy; "
             f"resource.setrlimit(resource.RLIMIT_AS, ({_CHILD_MEMORY}, {_CHILD_MEMORY})); "
             "runpy.run_module('comentor.tui.cli', run_name='__main__')")
    proc = subprocess.run(
        [sys.executable, "-c", child, "repair", "--journal", str(path), "-o", str(new)],
        capture_output=True, text=True, timeout=_CHILD_GIVE_UP)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    lines = proc.stdout.splitlines()
    assert lines[0] == f"Rebuilt {path} into {new} (the damaged file is left as it was)"
    assert lines[1].startswith(f"Recovered {len(want)} operations, each signed")
    assert "40 private notes" in proc.stdout
    assert path.read_bytes() == before and _leftovers(tmp_path) == []
    assert _sigs(new) == want  # the row out of order too: its operation verifies
    with Journal.open(new) as j:
        assert len(m.list_items(j, "goal")) == 40
        assert len(j.private_notes()) == 40


# ---------------------------------------------------------------------- a newer journal
def _as_a_newer_comentor_left_it(path: Path) -> None:
    """What a comentor 9.9.9 would leave: a migration this one does not know, the release it
    needs, a column of its own in a local table (filled) and a table of its own."""
    conn = sqlite3.connect(path)
    conn.executescript(
        "INSERT INTO _sqlite_migrations (migration_set, name) VALUES ('comentor', 'm099_next');"
        "UPDATE local_meta SET value = '9.9.9' WHERE key = 'needs_version';"
        "ALTER TABLE private_notes ADD COLUMN mood TEXT;"
        "UPDATE private_notes SET mood = 'calm';"
        "CREATE TABLE future_things (id TEXT PRIMARY KEY, what TEXT);"
        "INSERT INTO future_things VALUES ('a', 'kept by 9.9.9');")
    conn.close()


def test_repair_refuses_a_journal_a_newer_comentor_changed(tmp_path: Path) -> None:
    path = _filled(tmp_path / "j.db", goals=3)
    _as_a_newer_comentor_left_it(path)
    before = path.read_bytes()
    with pytest.raises(NewerJournalError) as caught:
        m.repair_journal(path, tmp_path / "new.db")
    text = str(caught.value)
    assert "comentor 9.9.9" in text and "update comentor on this device, then repair" in text
    assert "\n" not in text and caught.value.field("needs") == "9.9.9"
    assert not (tmp_path / "new.db").exists() and _leftovers(tmp_path) == []
    assert path.read_bytes() == before


def test_repair_refuses_a_journal_whose_format_mark_is_newer(tmp_path: Path) -> None:
    path = _filled(tmp_path / "j.db", goals=3)
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE local_meta SET value = 'comentor-journal-9' WHERE key = 'format'")
    conn.close()
    with pytest.raises(NewerJournalError) as caught:  # as opening refuses it
        Journal.open(path)
    with pytest.raises(NewerJournalError) as caught:
        m.repair_journal(path, tmp_path / "new.db")
    assert "a newer comentor" in str(caught.value) and "then repair" in str(caught.value)
    assert not (tmp_path / "new.db").exists() and _leftovers(tmp_path) == []


def test_a_newer_journal_with_its_changes_still_in_the_wal_is_refused_too(tmp_path: Path) -> None:
    path = _filled(tmp_path / "j.db", goals=3)
    writer = sqlite3.connect(path)  # a program still has it open: the change is in the -wal
    writer.execute("PRAGMA wal_autocheckpoint = 0")
    writer.execute("UPDATE local_meta SET value = '9.9.9' WHERE key = 'needs_version'")
    writer.commit()
    try:
        assert Path(f"{path}-wal").stat().st_size > 0
        with pytest.raises(NewerJournalError):
            m.repair_journal(path, tmp_path / "new.db")
    finally:
        writer.close()


def test_an_older_journal_is_still_repaired_and_brought_up_to_date(tmp_path: Path) -> None:
    path = _filled(tmp_path / "j.db", goals=3)
    want = _sigs(path)
    with sqlite3.connect(path) as conn:  # as 0.2.x left it, before the field clocks moved
        undo_row_clocks(conn)
    conn.close()
    report = m.repair_journal(path, tmp_path / "new.db")
    assert report.operations == len(want) and _sigs(tmp_path / "new.db") == want
    with Journal.open(tmp_path / "new.db") as j:
        assert len(m.list_items(j, "goal")) == 3 and len(j.private_notes()) == 3
        m.add_goal(j, "written after the repair")
    assert _leftovers(tmp_path) == []


# ---------------------------------------------------------------------- not a journal
def test_a_file_that_is_no_journal_is_called_so_not_a_journal_without_keys(tmp_path: Path) -> None:
    other = tmp_path / "other.db"  # another program's SQLite database
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE t (x)")
    conn.close()
    (tmp_path / "notes.txt").write_text("just some notes\n" * 100)
    (tmp_path / "empty.db").write_bytes(b"")
    for name in ("notes.txt", "empty.db", "other.db"):
        before = (tmp_path / name).read_bytes()
        with pytest.raises(NotAJournalError) as caught:
            m.repair_journal(tmp_path / name, tmp_path / "new.db")
        text = str(caught.value)
        assert "not a comentor journal" in text and "keys" not in text and "\n" not in text
        assert caught.value.field("hint") is None  # not "pair again": nothing is lost
        assert (tmp_path / name).read_bytes() == before
        assert not (tmp_path / "new.db").exists() and _leftovers(tmp_path) == []


def test_a_sealed_backup_is_sent_to_restore(tmp_path: Path) -> None:
    path = _filled(tmp_path / "j.db", goals=3)
    sealed = tmp_path / "j.bak"
    backup_journal(path, sealed, passphrase="open sesame", fast_kdf=True)
    assert sealed.read_bytes().startswith(SEALED_MAGIC)
    with pytest.raises(NotAJournalError) as caught:
        m.repair_journal(sealed, tmp_path / "new.db")
    text = str(caught.value)
    assert "sealed comentor backup" in text and "restore it" in text and "keys" not in text
    assert caught.value.field("hint") == "restore" and "\n" not in text
    assert not (tmp_path / "new.db").exists() and _leftovers(tmp_path) == []
    plain = tmp_path / "plain.bak"  # unsealed, a backup is a journal: repair reads it
    backup_journal(path, plain)
    assert m.repair_journal(plain, tmp_path / "new.db").operations == len(_sigs(path))
