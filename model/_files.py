"""Journal files: putting them in place, and saying why one cannot be written.

A journal being made (by `init`, or by a repair) is written under a hidden name in the
folder it will live in, its -wal folded into the file, and only then linked to its name, so
a failure at any point (a full disk, a crash) leaves nothing that looks like a journal: no
empty file, no half-made one, and never anything over an existing journal.
"""

from __future__ import annotations

import errno
import os
import sqlite3
import stat
from pathlib import Path

from .errors import DiskFullError, JournalError, JournalExistsError, ReadOnlyJournalError

__all__ = ["SQLITE_MAGIC", "companions", "building_path", "fold_wal", "publish", "remove_with_companions",
           "os_error", "read_only", "disk_full", "taken", "read_ordinary"]


SQLITE_MAGIC = b"SQLite format 3\x00"  # how every SQLite database file begins


def companions(path: Path) -> list[Path]:
    """The files SQLite keeps beside a database: -wal, -shm and -journal."""
    return [path.with_name(path.name + suffix) for suffix in ("-wal", "-shm", "-journal")]


def taken(path: Path) -> JournalExistsError | None:
    """Why a new journal cannot be put at `path` (something non-empty is there), or None.

    A journal (any SQLite file) and anything else are told apart: "a journal already
    exists" about a spreadsheet would send its owner looking for a journal that is not there.
    """
    if path.is_dir():
        return JournalExistsError(f"{path} is a folder: give a file name for the journal")
    if path.is_symlink() and not path.exists():
        return JournalExistsError(f"{path} is a link to {os.readlink(path)}, which is not "
                                  "there: give the link's target, or remove the link")
    if path.exists() and not path.is_file():  # a pipe or a device: never replaced
        return JournalExistsError(f"{path} is not an ordinary file: give another path")
    try:
        if path.stat().st_size == 0:
            return None
        with path.open("rb") as f:
            head = f.read(16)
    except FileNotFoundError:
        return None
    except OSError as exc:
        return JournalExistsError(f"{path} is there and cannot be read ({exc.strerror}): "
                                  "nothing was written")
    if head == SQLITE_MAGIC:
        return JournalExistsError(f"a journal already exists at {path}")
    return JournalExistsError(f"{path} already exists and is not a journal: nothing was "
                              "written; give another path or move that file away")


def read_ordinary(path: Path, limit: int | None = None) -> bytes | None:
    """The bytes of the ordinary file at `path` (at most `limit`), or None when something
    else is there (a pipe, a device, a folder), which is then refused as "not an ordinary
    file", as :func:`taken` refuses it.

    A pipe would block on opening and a device (/dev/zero) would never end: the file is
    opened without waiting and told by what was opened (a look beforehand could be outrun
    by a swap), and no more is read than it held when it was opened. Raises OSError.
    """
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            return None
        size = info.st_size if limit is None else min(limit, info.st_size)
        with os.fdopen(fd, "rb", closefd=False) as handle:
            return handle.read(size)
    finally:
        os.close(fd)


def building_path(path: Path) -> Path:
    """A hidden name beside `path` to build a new journal under."""
    return path.with_name(f".{path.name}.{os.getpid()}-{os.urandom(4).hex()}.new")


def remove_with_companions(path: Path) -> None:
    for leftover in (path, *companions(path)):
        try:
            leftover.unlink(missing_ok=True)
        except OSError:
            pass


def read_only(path: Path) -> ReadOnlyJournalError:
    return ReadOnlyJournalError(
        f"the journal {path} is read-only (its file or folder cannot be written): "
        "nothing was changed", path=str(path))


def disk_full(path: Path) -> DiskFullError:
    return DiskFullError(f"the disk is full: nothing was changed in {path}", path=str(path))


def os_error(exc: OSError, path: Path) -> JournalError:
    """An operating-system error around a journal file, as one line."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return disk_full(path)
    if exc.errno in (errno.EPERM, errno.EACCES, errno.EROFS):
        return ReadOnlyJournalError(f"cannot write {path}: {exc.strerror}", path=str(path))
    return JournalError(f"cannot use {path}: {exc.strerror}", path=str(path))


def fold_wal(conn: sqlite3.Connection) -> None:
    """Move everything from the -wal into the file itself, so the file alone is the journal."""
    busy = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
    if busy:
        raise JournalError("could not finish writing the new journal: try again")


def publish(building: Path, path: Path) -> None:
    """Put a finished journal (closed, its -wal folded in) in its place in one step, never
    over another journal, and never beside a -wal, -shm or -journal: the new journal has
    none, so one there is another file's (a program that opened a journal at this path and
    still has it, or left its log behind), and SQLite would read its pages as the new
    journal's."""
    there = taken(path)
    if there is not None:
        raise there
    for part in companions(path):
        if os.path.lexists(part):
            raise JournalExistsError(
                f"{part} is there (SQLite's, for a journal open at {path} or one that was): "
                "nothing was written; close the program that has it, or remove it if no "
                "journal there needs it",
                path=str(path))
    if path.exists():
        path.unlink()
    try:
        os.link(building, path)
    except FileExistsError:
        raise taken(path) or JournalExistsError(f"a journal already exists at {path}") from None
    except OSError:  # a filesystem without hard links
        os.replace(building, path)
    try:
        fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError:
        pass
