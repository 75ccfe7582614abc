"""A journal file replaced at its path while it is open (a backup restored while the app
runs), and letting go of the old one safely.

A long-running process (the app's database thread, the sync engine) keeps its connection to
the file it opened; a restore that moves another file into place leaves that connection on
the old one. Writing on would land in a file nobody reads, and, worse, SQLite's write-ahead
log keeps its name (`journal.db-wal`), so the restored file would read the old file's pages
from it. So such a process checks :func:`file_identity` before it uses its journal and, when
the file changed, closes the old journal with :func:`let_go` (which folds the log into the
old file and empties it) before it opens the new one.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import ComentorError

if TYPE_CHECKING:
    from ._journal import Journal

__all__ = ["file_identity", "let_go", "written_elsewhere"]


def file_identity(path: str | os.PathLike[str]) -> tuple[int, int] | None:
    """Which file is at `path` now (device, inode), or None when there is none."""
    try:
        st = Path(path).stat()
    except OSError:
        return None
    return st.st_dev, st.st_ino


def let_go(j: Journal) -> None:
    """Close a journal whose file was replaced at its path: its write-ahead log is folded
    into the old file and emptied first, so the new file never reads from it."""
    with contextlib.suppress(ComentorError, sqlite3.Error):
        j.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
    with contextlib.suppress(ComentorError, sqlite3.Error):
        j.close()


def written_elsewhere(j: Journal) -> int:
    """A number that changes whenever another connection (another program, a sync engine's
    own connection) commits to the journal, and never for this connection's own writes
    (SQLite's ``data_version``: it reads no page). For a long-running program that must
    show what others wrote."""
    return int(j.conn.execute("PRAGMA data_version").fetchone()[0])
