"""Putting a restored journal in the place of the one there, which is kept beside it.

The journal in the way is renamed to `<name>.before-restore` (its -wal and -shm with it)
and the restored file is linked in its place. The danger is another program opening the
journal by its path meanwhile (`comentor add`, the app): a connection holds the file it
opened, but SQLite names that file's -wal and -shm after the *path* it was opened by, and
opens them when it first reads. A program that opened the old file just before it moved
would make and use a -wal at the journal's path, beside the restored file, which would then
read the old journal's pages as its own (it reads as damaged, or as the old journal), and
the write would be in neither journal.

A lock alone cannot prevent that. In WAL mode a writer's lock lives in the -shm, and a
program that came after the -shm moved makes a new one and sees no lock; a lock on the
file itself only makes the program wait, and once it is let go it goes on, on the moved
file, and makes its -wal at the path, beside the restored file, after any check here. So
the old journal is first turned into a rollback-journal file (`journal_mode=DELETE`: its
-wal folded in and removed) and held under an exclusive lock while it moves. Any program
that opened it meanwhile waits; once let go it finds a file that keeps no -wal (it makes
none) and SQLite refuses to write to it, because a file that has moved since it was opened
cannot keep a rollback journal safely (SQLITE_READONLY_DBMOVED): its write fails, in one
line, and lands nowhere. A comentor that opens the kept journal later makes it WAL again.
What no restore can prevent: a program let go only after the restored file is in place,
and in use by a third program, finds that one's -wal at the path, and SQLite opens a -wal
it finds without asking whose it is; only the opener could tell (by checking, after its
first read, that the path still names the file it opened).

That needs the journal to be open nowhere else (the app): then it is moved as before, with
the -wal and -shm that program holds, and what a racing program made at the path is moved
beside the kept file when it has none of its own; when it has, the kept journal has two
logs that no one can merge, and the restore stops before the restored file is put beside
either (see :func:`_keep_strays`).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

from ._files import companions, publish
from ._held import hold, release
from .errors import JournalLockedError

__all__ = ["ASIDE", "put_in_place"]

ASIDE = ".before-restore"
_LOCK_TIMEOUT = 2.0  # seconds to wait for a program reading the journal to finish
# pauses between tries to make the journal a rollback-journal file while a short-lived
# program (an `add`) still has it open: about 0.75 s in all, then it is moved as it is
_RETRY_PAUSES = (0.05, 0.1, 0.2, 0.4)


def put_in_place(building: Path, target: Path, occupied: bool) -> Path | None:
    """Put the finished journal at `building` (closed, its -wal folded in) at `target`;
    what was there (when `occupied`) is kept as `<name>.before-restore`, whose path this
    returns. On a failure the kept journal goes back when it can go back whole."""
    aside = None
    if occupied:
        with _held_still(target):
            aside = _move_aside(target)
        _keep_strays(target, aside)
    try:
        publish(building, target)  # never beside a -wal or -shm (one made since: refused)
    except BaseException:
        if aside is not None and not _move_back(aside, target):
            stray = next((p for p in companions(target) if os.path.lexists(p)), None)
            if stray is not None:
                raise _opened_meanwhile(target, aside, stray) from None
        raise
    if aside is not None:
        _fold_kept(aside)
    return aside


def _opened_meanwhile(target: Path, aside: Path, stray: Path) -> JournalLockedError:
    return JournalLockedError(
        f"another program opened {target} while it was being moved aside: nothing was "
        f"restored; the journal is now {aside.name} and {stray.name} holds what that "
        "program wrote: close every comentor (the app too), then restore again",
        path=str(target))


@contextlib.contextmanager
def _held_still(target: Path) -> Iterator[None]:
    """While this runs, the journal at `target` is a rollback-journal file that no other
    program can read or write (when it can be made one: see the module's docstring)."""
    conn = _rollback_and_lock(target)
    # noted as held, so that nothing in this process reads the file raw meanwhile: closing
    # that descriptor would drop the lock (see _held.py)
    identity = hold(target) if conn is not None else None
    try:
        yield
    finally:
        if conn is not None:
            with contextlib.suppress(sqlite3.Error):
                conn.close()  # the lock goes; the transaction wrote nothing, left no file
            release(identity)


def _rollback_and_lock(target: Path) -> sqlite3.Connection | None:
    """A connection holding an exclusive lock on the journal at `target`, made a
    rollback-journal file first; None when it cannot be (open in another program, not a
    database, read-only, damaged): the journal is then moved as it is."""
    try:
        if not target.is_file() or target.stat().st_size == 0:
            return None  # nothing SQLite would open without making or emptying a file
        conn = sqlite3.connect(f"file:{quote(str(target.absolute()))}?mode=rw", uri=True,
                               isolation_level=None, timeout=_LOCK_TIMEOUT)
    except (sqlite3.Error, OSError):
        return None
    try:
        for pause in (*_RETRY_PAUSES, None):
            try:  # needs every other connection gone: SQLite does not wait for that
                conn.execute("PRAGMA journal_mode=DELETE").fetchall()
                break
            except sqlite3.OperationalError as exc:
                busy = getattr(exc, "sqlite_errorcode", 0) & 0xFF == sqlite3.SQLITE_BUSY
                if pause is None or not busy:
                    raise
                time.sleep(pause)
        conn.execute("BEGIN EXCLUSIVE")  # readers too wait now (a rollback-journal lock)
        # a program that opened it between the two made it WAL again: not still, then
        mode = str(conn.execute("PRAGMA journal_mode").fetchone()[0]).lower()
        if mode != "delete" or os.path.lexists(companions(target)[0]):
            raise sqlite3.OperationalError("the journal was reopened")
    except sqlite3.Error:
        with contextlib.suppress(sqlite3.Error):
            conn.close()
        return None
    return conn


def _aside_name(target: Path) -> Path:
    """`<name>.before-restore`, or `.2`, `.3` ... after it when that is taken."""
    number = 1
    while True:
        aside = target.with_name(target.name + ASIDE + (f".{number}" if number > 1 else ""))
        if not any(os.path.lexists(p) for p in (aside, *companions(aside))):
            return aside
        number += 1


def _move_aside(target: Path) -> Path:
    """Rename the journal in the way, with its -wal and -shm (first: a stale -wal must never
    meet the restored file), to a free `<name>.before-restore`."""
    aside = _aside_name(target)
    for old, new in zip((*companions(target), target), (*companions(aside), aside), strict=True):
        if old.exists():
            os.rename(old, new)
    return aside


def _keep_strays(target: Path, aside: Path) -> None:
    """A -wal or -shm at `target` now was made by a program that opened the old journal
    there just before it moved (it was moved with its own, and nothing else is there): it
    is the old journal's, and its connection is on the kept file. Moved beside the kept
    file, where that program's writes are found (and folded in) and nothing is lost.

    Unless the kept file has a log of its own (a program held it open through the move,
    so it could not be held still): two logs of one file, each written without the other,
    cannot both be its log, and folding one after the other could mix pages of two
    versions. Then nothing is put in place, nothing is moved back (a program whose file is
    back at its path folds its log into it on closing, the other's pages with it), and
    both logs are kept as they are."""
    strays = [(p, q) for p, q in zip(companions(target), companions(aside), strict=True)
              if os.path.lexists(p)]
    if not strays:
        return
    if any(os.path.lexists(q) for q in companions(aside)):
        raise _opened_meanwhile(target, aside, strays[0][0])
    for stray, kept in strays:
        os.rename(stray, kept)  # a connection to it keeps it under its new name


def _move_back(aside: Path, target: Path) -> bool:
    """Undo :func:`_move_aside` after a failed restore (best effort), and only as a whole:
    a file back at its path beside another -wal than its own would read that one's pages
    (and fold them in). Returns whether it was moved back."""
    places = (target, *companions(target))
    if any(os.path.lexists(p) for p in places):
        return False
    for old, new in zip((aside, *companions(aside)), places, strict=True):
        with contextlib.suppress(OSError):
            if old.exists() and not os.path.lexists(new):
                os.rename(old, new)
    return True


def _fold_kept(aside: Path) -> None:
    """Merge the kept journal's -wal into it (best effort). SQLite does that when the last
    connection to a file closes, but not for a file renamed meanwhile: the writes a running
    program made just before the restore would stay in a -wal that only SQLite reads, and a
    copy of the kept file alone would lack them."""
    wal = companions(aside)[0]
    if not wal.is_file() or wal.stat().st_size == 0:
        return
    with contextlib.suppress(sqlite3.Error, OSError):
        with contextlib.closing(sqlite3.connect(
                f"file:{quote(str(aside.absolute()))}", uri=True, timeout=2)) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
