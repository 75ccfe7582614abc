"""The files of a sync folder: reading one safely, placing ours, and the ones that did not open.

Split from folder.py, which keeps the round (what is read, written and pruned, and in
which order); this module keeps what touches single files, where a folder shared with a
file-sync service, a USB stick or another program can hold anything:

- :func:`read_bounded` never follows a symlink, never blocks on a FIFO, never reads past an
  envelope's size.
- :func:`place_exclusively` puts a written envelope under its final name only if no file has
  that name: a journal restored from a backup goes back to the backup's envelope counter,
  and replacing a file there would destroy an envelope no partner has read yet.
- :class:`Unopened` remembers, in the journal's local cursors, the files that were read and
  did not open (or were refused), by name, size and modification time: each is judged,
  reported and answered with a resend request once, and read again only once it changes
  (a partial file the file-sync service completes later).
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import stat
from pathlib import Path
from typing import TYPE_CHECKING

from comentor.sync.mailbox.envelope import MAX_ENVELOPE
from comentor.sync.mailbox.stream_state import OWN

if TYPE_CHECKING:
    from comentor.model import Journal

__all__ = ["FILE", "MAX_REMEMBERED", "Unopened", "envelope_name", "identity",
           "numbered_between", "place_exclusively", "read_bounded", "write_failure"]

FILE = re.compile(r"^([0-9]{12})\.cmenv$")
MAX_REMEMBERED = 20_000  # files remembered per folder and key: 10 rounds of 2000 junk files
_FOLDERS_REMEMBERED = 8  # folders (usual and one-off) whose unopened files are remembered


def envelope_name(seq: int) -> str:
    return f"{seq:012d}.cmenv"


def read_bounded(path: Path) -> bytes | None:
    """A regular file's bytes, or None: never follows a symlink, never blocks on a FIFO
    or a device someone planted in the shared folder, never reads past an envelope."""
    try:
        if not stat.S_ISREG(os.lstat(path).st_mode):
            return None
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW)
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):  # swapped since the lstat
                return None
            with os.fdopen(fd, "rb", closefd=False) as fh:
                data = fh.read(MAX_ENVELOPE + 1)
        finally:
            os.close(fd)
    except OSError:
        return None
    return None if len(data) > MAX_ENVELOPE else data


def identity(path: Path) -> str | None:
    """What tells one version of a file from the next (None: it is gone): a partial file
    completed by a file-sync service changes size or time, and is read again."""
    try:
        st = os.lstat(path)
    except OSError:
        return None
    return f"{st.st_size}:{st.st_mtime_ns}"


def numbered_between(folder: Path, low: int, high: int) -> list[tuple[int, Path]]:
    """The envelope files of ``folder`` numbered above ``low`` and up to ``high``, highest
    first."""
    found = []
    with contextlib.suppress(OSError):  # another program changes the folder under us
        for p in folder.iterdir():
            m = FILE.match(p.name)
            if m and low < int(m.group(1)) <= high:
                found.append((int(m.group(1)), p))
    return sorted(found, reverse=True)


def place_exclusively(tmp: Path, final: Path) -> bool:
    """Give the written file ``tmp`` the name ``final`` unless a file has it (then False,
    and ``tmp`` is gone). A hard link claims the name atomically; where the filesystem has
    none (FAT on a USB stick, some network and cloud filesystems) an empty file created
    exclusively claims it, and the envelope is moved over it (a reader that meets the empty
    file takes it as a partial one, and reads it again once it changes)."""
    try:
        os.link(tmp, final)
    except FileExistsError:
        _discard(tmp)
        return False
    except OSError:
        try:
            fd = os.open(final, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
        except FileExistsError:
            _discard(tmp)
            return False
        os.close(fd)
        os.replace(tmp, final)
        return True
    _discard(tmp)
    return True


def _discard(path: Path) -> None:
    with contextlib.suppress(OSError):  # another program changes the folder under us
        path.unlink()


_ADVICE = {
    errno.ENOENT: "it is gone (unplugged, unmounted or moved?); sync again once it is back",
    errno.ENOSPC: "the disk is full; free some space and sync again",
    errno.EDQUOT: "the storage quota is used up; free some space and sync again",
    errno.EROFS: "it is read-only; give a folder this device may write to",
    errno.EACCES: "this device may not write there; fix its permissions and sync again",
    errno.EPERM: "this device may not write there; fix its permissions and sync again",
}


def write_failure(root: Path, exc: OSError) -> str:
    """One line for an envelope that could not be written: where, why, and what to do."""
    why = exc.strerror or str(exc)
    advice = _ADVICE.get(exc.errno or 0, "sync again once that is fixed")
    return f"cannot write to sync folder {root}: {why}: {advice} (nothing was lost)"


class Unopened:
    """The files of one folder read under one key that did not open or were refused.

    Kept in the local cursor ``("envelopes", "<ns>:unopened")`` as ``{folder: {"<subfolder>/
    <name>": [identity, why]}}``, for the last few folders used; :meth:`save` keeps only the
    files met again this round, so the record never outgrows what the folder holds.
    """

    def __init__(self, j: Journal, ns: str, root: Path) -> None:
        self.j, self.name, self.root = j, f"{ns}:unopened", str(root.resolve())
        self._raw = j.cursor(OWN, self.name)
        try:
            data = json.loads(self._raw) if self._raw else {}
        except ValueError:
            data = {}
        self._all: dict[str, object] = data if isinstance(data, dict) else {}
        known = self._all.get(self.root)
        self._before: dict[str, object] = known if isinstance(known, dict) else {}
        self._now: dict[str, list[str]] = {}

    def why(self, rel: str, ident: str) -> str | None:
        """Why ``rel`` did not open when it was last read, if it has not changed since."""
        entry = self._before.get(rel)
        if (isinstance(entry, list) and len(entry) == 2 and entry[0] == ident
                and isinstance(entry[1], str)):
            self._now[rel] = [ident, entry[1]]
            return entry[1]
        return None

    def add(self, rel: str, ident: str | None, why: str) -> None:
        if ident is not None and len(self._now) < MAX_REMEMBERED:
            self._now[rel] = [ident, why]

    def save(self) -> None:
        others = {k: v for k, v in self._all.items() if k != self.root}
        kept = dict(list(others.items())[-(_FOLDERS_REMEMBERED - 1):])
        if self._now:
            kept[self.root] = dict(sorted(self._now.items()))  # the same text if unchanged
        value = json.dumps(kept) if kept else ""
        if value != (self._raw or ""):
            with self.j.transaction():
                self.j.write_cursor(OWN, self.name, value)
