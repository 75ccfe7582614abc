"""Writing a file the user named (an export, a review, a backup) without ever losing data.

A path typed by a person can be the journal itself (`export md -o journal.db`), its WAL or
shared-memory file, a device (`/dev/full`), a folder or a FIFO. Writing there would destroy
the journal or hang. So a target must be a regular file or not exist yet, and must not be
any file of an open journal; the data goes to a temporary file beside it, is flushed to
disk, and replaces the target in one rename; on any failure the temporary file is removed
and the target is untouched. Nor does an export replace a database or a sealed backup (the
partner's journal, the copy `restore` keeps, last week's backup): only a backup may replace
an older backup, and it checks that it is not a journal itself. No write replaces a file
SQLite keeps beside a database (another journal's -wal holds its latest changes).
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import tempfile
from collections.abc import Iterable
from pathlib import Path

from ._files import SQLITE_MAGIC, companions, read_ordinary
from ._held import held_here
from .errors import ValidationError

__all__ = ["journal_files", "write_file_safely"]


def journal_files(journal: Path) -> list[Path]:
    """The files that make up a journal on disk: the database and SQLite's companions."""
    return [journal, *companions(journal)]


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.abspath(a) == os.path.abspath(b)


_COMPANIONS = ("-wal", "-shm", "-journal")
_WAL_MAGIC = (b"\x37\x7f\x06\x82", b"\x37\x7f\x06\x83")  # a write-ahead log's first bytes


def _part_of_a_database(target: Path) -> Path | None:
    """The database whose companion file `target` is (its -wal, -shm or -journal beside a
    SQLite file), or None. Such a file can hold a journal's latest changes, not yet in the
    database itself: replacing it loses them, whatever it looks like."""
    for suffix in _COMPANIONS:
        if target.name.endswith(suffix) and len(target.name) > len(suffix):
            base = target.with_name(target.name[: -len(suffix)])
            if held_here(base):  # open in this process: a journal, and not to be read raw
                return base
            try:
                if (read_ordinary(base, len(SQLITE_MAGIC)) or b"") == SQLITE_MAGIC:
                    return base
            except OSError:
                pass
    try:
        head = read_ordinary(target, 4) or b""
    except OSError:
        return None
    return target if head in _WAL_MAGIC else None


def _held_data(target: Path) -> str | None:
    """What `target` holds that no export may replace (a database: a journal or a backup,
    or a sealed backup), or None."""
    from ._backup import SEALED_MAGIC  # the backup writes through this module

    try:
        head = read_ordinary(target, max(len(SQLITE_MAGIC), len(SEALED_MAGIC))) or b""
    except OSError:
        return None  # missing or unreadable: the checks below say what they must
    if head.startswith(SQLITE_MAGIC):
        return "a database (a journal, or a backup of one)"
    if head.startswith(SEALED_MAGIC):
        return "a sealed backup"
    return None


def write_file_safely(path: str | os.PathLike[str], data: bytes, *,
                      protect: Iterable[Path] = (), replace_data: bool = False) -> Path:
    """Write `data` to `path` atomically; refuse a path that is not a plain file to replace.

    `protect` lists files that must never be written (the open journal's files). A file
    that holds a database or a sealed backup is replaced only with `replace_data` (a backup
    replacing an older one). Raises a ValidationError (field "output") with one line saying
    why; nothing is changed then.
    """
    target = Path(path).expanduser()
    for guarded in protect:
        if _same_file(target, guarded) or _same_file(target.resolve(), guarded.resolve()):
            raise ValidationError(
                f"{target} is a file of your journal: choose another file name", option="output")
    try:
        info = os.stat(target)
    except FileNotFoundError:
        info = None
    except OSError as exc:
        raise ValidationError(f"cannot write {target}: {exc.strerror}", option="output") from None
    if info is not None and not stat.S_ISREG(info.st_mode):
        kind = "a folder" if stat.S_ISDIR(info.st_mode) else "not a regular file"
        raise ValidationError(f"cannot write {target}: it is {kind}", option="output")
    base = _part_of_a_database(target)
    if base is not None:  # not even a backup replaces one
        raise ValidationError(f"{target} is part of the database {base.name} (its latest "
                              "changes may be there): choose another file name",
                              option="output")
    held = None if info is None or replace_data else _held_data(target)
    if held is not None:
        raise ValidationError(f"{target} is {held}, which an export never replaces: choose "
                              "another file name", option="output")
    folder = target.parent if str(target.parent) else Path(".")
    tmp_name = None
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, target)
        tmp_name = None
    except OSError as exc:
        reason = "the disk is full" if exc.errno == errno.ENOSPC else (exc.strerror or str(exc))
        raise ValidationError(f"cannot write {target}: {reason}; nothing was changed",
                              option="output") from None
    finally:
        if tmp_name is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp_name)
    return target
