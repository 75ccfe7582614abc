"""SQLite's errors about a journal file, as the journal's own: told apart by their codes
(``sqlite_errorcode``), never by their text, so that each says in one line what is wrong
with the file and what to do (see :mod:`._health`, whose connections use these)."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from ._files import disk_full, read_only
from .errors import DamagedJournalError, JournalError, JournalLockedError, ReadOnlyJournalError

__all__ = ["damaged", "explain_sqlite_error"]

_LOW_SPACE = 64 * 1024  # below this much free space a write is refused as "the disk is full"


def damaged(path: Path, detail: str = "") -> DamagedJournalError:
    return DamagedJournalError(f"the journal {path} is damaged: nothing was written to it",
                               path=str(path), detail=detail, hint="repair")


# SQLite's extended code for a write to a file that was moved or replaced since it was
# opened (a restore put another journal at its path): not a read-only file at all
_READONLY_DBMOVED = 1032


def _code(exc: BaseException) -> int | None:
    """SQLite's primary result code of an error, or None for errors SQLite did not raise."""
    code = getattr(exc, "sqlite_errorcode", None)
    return None if code is None else int(code) & 0xFF


def _disk_is_full(path: Path) -> bool:
    try:
        st = os.statvfs(path.parent)
    except OSError:
        return False
    return st.f_bavail * st.f_frsize < _LOW_SPACE


_DAMAGE = (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB)


def explain_sqlite_error(exc: BaseException, path: Path) -> JournalError | None:
    """The journal's error for one SQLite raised about the journal at `path`, told by its
    code (never its text); None for an error that is not about the file's state."""
    code = _code(exc)
    if code in _DAMAGE:
        return damaged(path, str(getattr(exc, "sqlite_errorname", "SQLITE_CORRUPT")))
    if code == sqlite3.SQLITE_FULL or (code == sqlite3.SQLITE_IOERR and _disk_is_full(path)):
        return disk_full(path)
    if code == sqlite3.SQLITE_READONLY:
        if getattr(exc, "sqlite_errorcode", None) == _READONLY_DBMOVED:
            return JournalError(f"the journal {path} was replaced while this command had it "
                                "open (a restore): nothing was changed; run it again",
                                path=str(path))
        return read_only(path)
    if code == sqlite3.SQLITE_CANTOPEN:  # read-only: open_existing then opens it for reading
        return ReadOnlyJournalError(
            f"SQLite cannot open a file of the journal {path}: is its folder there and "
            "writable (and the temporary folder too), and the file name not too long?",
            path=str(path))
    if code in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
        return JournalLockedError(f"the journal {path} is locked by another program",
                                  path=str(path))
    if code == sqlite3.SQLITE_IOERR:
        return JournalError(f"could not read or write the journal {path}: an input/output "
                            "error (is the disk still there?)", path=str(path))
    return None
