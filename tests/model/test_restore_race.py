"""`restore --force` racing a program that opens the journal by its path.

The restore moves the journal in the way aside (`<name>.before-restore`: its -wal and -shm,
then the file) and links the restored file in its place. A program that opened the path
just before the file moved holds the OLD file, but SQLite names that file's -wal and -shm
after the path it opened: whatever it writes goes to a `-wal` at the journal's path, beside
the restored file, which then reads the old journal's pages as its own ("damaged"), and the
write is in neither journal. QA saw it by widening the moment between the two renames;
these tests widen it the same way, deterministically: `os.rename` is wrapped so that the
racing program runs (to its end, or is opened and kept) right before the file itself moves.
Real files, real SQLite, a real second process; nothing of ours is replaced.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from comentor.model import add_goal
from comentor.model._backup import backup_journal, restore_backup
from comentor.model._journal import Journal
from comentor.model.errors import JournalError

# `comentor add` as a separate process that stays open until told: it opens the journal by
# its path, writes, says how that went (one line), and closes when a line comes on its stdin
_ADD = """
import sys
from comentor.model import Journal, add_goal
from comentor.model.errors import JournalError
j = None
try:
    j = Journal.open(sys.argv[1])
    add_goal(j, "Written by the racer")
    print("written", flush=True)
except JournalError as exc:
    print("refused:", exc, flush=True)
sys.stdin.readline()
if j is not None:
    j.close()
"""


class Racer:
    """A second program writing to the journal: started (and waited for until it has
    written or been refused) at the racing moment, closed only when the test says."""

    def __init__(self, journal: Path) -> None:
        # a short busy timeout: a racer kept waiting gives up soon. Never a guess at
        # timing: the restore waits for its answer, whatever it is, before it goes on
        env = {**os.environ, "COMENTOR_BUSY_TIMEOUT": "0.2"}
        self.proc = subprocess.Popen([sys.executable, "-c", _ADD, str(journal)], env=env,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True)
        assert self.proc.stdout is not None
        self.said = self.proc.stdout.readline().strip()

    def close(self) -> None:
        out, _ = self.proc.communicate("close\n", timeout=60)
        assert self.proc.returncode == 0, out

    @property
    def written(self) -> bool:
        assert self.said.startswith(("written", "refused: ")), self.said
        return self.said == "written"


def goals(path: Path) -> set[str]:
    """The goals of the journal at `path`, read as comentor reads it (checks included)."""
    j = Journal.open(path)
    try:
        return {str(t) for (t,) in j.conn.execute("SELECT text FROM goals WHERE deleted = 0")}
    finally:
        j.close()


def sound(path: Path) -> None:
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",), path


@pytest.fixture
def world(tmp_path: Path) -> tuple[Path, Path]:
    """A journal with one goal before its backup and one after."""
    journal, backup = tmp_path / "j.db", tmp_path / "b.db"
    with Journal.create(journal, "Ada") as j:
        add_goal(j, "Before the backup")
    backup_journal(journal, backup)
    with Journal.open(journal) as j:
        add_goal(j, "After the backup")
    return journal, backup


def before_the_file_moves(monkeypatch: pytest.MonkeyPatch, journal: Path,
                          race: Callable[[], None]) -> list[bool]:
    """Run `race` once, right before the restore renames the journal file itself (its -wal
    and -shm have moved already); returns a list that holds True once it ran."""
    ran: list[bool] = []
    rename = os.rename

    def widened(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
        if not ran and Path(src) == journal and Path(dst).name.startswith(journal.name + "."):
            ran.append(True)
            race()
        rename(src, dst)

    monkeypatch.setattr(os, "rename", widened)
    return ran


def test_a_program_writing_while_the_file_moves_loses_nothing(
        world: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    """The QA's case: `comentor add` opens the journal in the moment between the renames
    and is still open when the restored file is in place. The restored journal reads as
    the backup, whole, with nothing of the old one's beside it; the racer's write is in the
    kept journal if the racer said it was written, and the racer said so if not."""
    journal, backup = world
    racers: list[Racer] = []
    ran = before_the_file_moves(monkeypatch, journal, lambda: racers.append(Racer(journal)))
    try:
        report = restore_backup(backup, journal, force=True)
    finally:
        monkeypatch.undo()
        for racer in racers:
            racer.close()
    assert ran and report.before is not None
    kept, racer = report.before, racers[0]
    sound(journal)
    assert goals(journal) == {"Before the backup"}
    sound(kept)
    assert goals(kept) == {"Before the backup", "After the backup"} | (
        {"Written by the racer"} if racer.written else set()), racer.said


def test_a_program_that_opened_the_old_file_cannot_write_beside_the_restored_one(
        world: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    """A program had opened the path (the old file) but not read yet when the file moved;
    it reads and writes after the restore is done. SQLite would make its -wal at the path,
    beside the restored file: its write must fail instead, and the restored journal stay
    whole."""
    journal, backup = world
    held: list[sqlite3.Connection] = []
    before_the_file_moves(monkeypatch, journal, lambda: held.append(
        sqlite3.connect(journal, isolation_level=None, timeout=0.2)))
    report = restore_backup(backup, journal, force=True)
    monkeypatch.undo()
    late = held[0]
    try:
        with pytest.raises(sqlite3.OperationalError):
            late.execute("UPDATE goals SET text = 'Written late' WHERE text = 'Before the backup'")
    finally:
        late.close()
    sound(journal)
    assert goals(journal) == {"Before the backup"}
    assert report.before is not None
    assert goals(report.before) == {"Before the backup", "After the backup"}


def test_a_journal_held_open_elsewhere_with_a_racer_is_refused_not_damaged(
        world: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    """A program (the app) holds the journal open through the restore, so the old file
    keeps its own -wal and -shm (moved with it); a racer in the moment between the renames
    makes another pair at the path. Publishing the restored file beside that pair would
    damage it: the restore refuses in one line instead, and nothing is lost."""
    journal, backup = world
    kept = journal.with_name(journal.name + ".before-restore")
    app = Journal.open(journal)
    racers: list[Racer] = []
    try:
        before_the_file_moves(monkeypatch, journal, lambda: racers.append(Racer(journal)))
        try:
            with pytest.raises(JournalError) as refused:
                restore_backup(backup, journal, force=True)
        finally:
            monkeypatch.undo()
            for racer in racers:
                racer.close()
        assert racers[0].written, racers[0].said  # its -wal is the second pair
        assert Path(f"{journal}-wal").stat().st_size > 0  # kept where it is, unread
        assert "\n" not in str(refused.value) and str(kept.name) in str(refused.value)
        assert kept.exists() and not journal.exists()
        add_goal(app, "The app writes on")  # into its own log, beside the kept file
    finally:
        app.close()
    assert goals(kept) == {"Before the backup", "After the backup", "The app writes on"}


def test_a_log_made_at_the_path_goes_beside_the_kept_journal_when_it_has_none(
        world: tuple[Path, Path]) -> None:
    """When the old journal cannot be held still and a program opened it at its path just
    before it moved, that program's -wal and -shm at the path are the kept journal's: they
    go beside it, with that program's connection, and what it wrote is in the kept journal."""
    from comentor.model._restore_swap import _keep_strays

    journal, _ = world
    kept = journal.with_name(journal.name + ".before-restore")
    racer = sqlite3.connect(journal, isolation_level=None)
    try:
        racer.execute("UPDATE goals SET text = 'Changed by the racer' "
                      "WHERE text = 'After the backup'")
        assert Path(f"{journal}-wal").stat().st_size > 0  # its change is in its log alone
        os.rename(journal, kept)  # the file moves, the racer's log stays at the path
        _keep_strays(journal, kept)
        assert not any(Path(f"{journal}{s}").exists() for s in ("-wal", "-shm", "-journal"))
        racer.execute("UPDATE goals SET text = 'Changed again' "
                      "WHERE text = 'Changed by the racer'")  # on, in the log it has
    finally:
        racer.close()
    assert goals(kept) == {"Before the backup", "Changed again"}


def test_a_new_journal_is_never_put_beside_a_log_left_at_its_path(tmp_path: Path) -> None:
    """A journal deleted while a program had it open leaves its -wal at the path; a new
    journal made there would read that log's pages as its own. Refused, the log kept."""
    from comentor.model.errors import JournalExistsError

    journal = tmp_path / "j.db"
    with Journal.create(journal, "Ada") as j:
        add_goal(j, "Only in the log")
    holder = sqlite3.connect(journal, isolation_level=None)
    try:
        holder.execute("UPDATE goals SET text = 'Changed in the log'")
        journal.unlink()
        wal = Path(f"{journal}-wal")
        before = wal.read_bytes()
        assert before
        with pytest.raises(JournalExistsError, match="-wal is there"):
            Journal.create(journal, "Ben")
        assert not journal.exists() and wal.read_bytes() == before
    finally:
        holder.close()


def test_a_write_to_a_moved_file_is_told_as_a_replaced_journal(tmp_path: Path) -> None:
    """SQLite refuses a write to a rollback-journal file moved since it was opened (what a
    program let go after a restore meets) with a READONLY code: told as the restore it
    is, not as a read-only journal the person would go and chmod."""
    from comentor.model._health import explain_sqlite_error

    path = tmp_path / "j.db"
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("CREATE TABLE t (x)")
        os.rename(path, tmp_path / "moved.db")
        with pytest.raises(sqlite3.OperationalError) as refused:
            conn.execute("INSERT INTO t VALUES (1)")
    finally:
        conn.close()
    told = explain_sqlite_error(refused.value, path)
    assert told is not None and "read-only" not in str(told)
    assert str(told) == (f"the journal {path} was replaced while this command had it open "
                         "(a restore): nothing was changed; run it again")
