"""Syncing a journal through any shared folder (a synced cloud folder, a USB stick).

The folder holds the same sealed envelopes as the relay (channel ``folder``), one file each:
``DIR/<device folder tag>/<envelope number, 12 digits>.cmenv``. The tag is a keyed hash of
the device id under the partnership key, so names reveal no person and no device to the
folder's host. Each device writes only into its own subfolder, through a temporary name and
``os.replace``, so two writers never clash and a reader never sees a half-written file of
ours; a file-sync service may still deliver partial files: those do not authenticate, are
reported and skipped, and are read again at the next sync (or asked for again, see
:class:`~comentor.sync.mailbox.stream.Exchange`). A device deletes its own files once every other device has
reported processing them; it never deletes anyone else's.

After a key rotation the previous key's subfolders stay behind (other devices' files are
never deleted, and a revoked device keeps writing there). Once this device no longer holds
that key their files cannot open, yet they are neither damaged nor an attack: the subfolder
names of every key used here are remembered (local cursor ``folder:key-tags``, the last
MAX_KEYS_REMEMBERED keys) and a retired key's subfolders are passed over in silence. A
revoked device's envelopes are always refused: each is reported once, and the highest number
judged is kept per device and key, so the same refusal is not repeated at every sync.
"""

from __future__ import annotations

import json
import os
import re
import stat
import time
from pathlib import Path
from typing import TYPE_CHECKING

from comentor.model.replication import (
    ROTATION_TABLES,
    DeviceKeys,
    device_ids,
    device_record,
    drop_previous_key,
    previous_key,
)
from comentor.sync._journal import open_for_sync
from comentor.sync._options import check_folder
from comentor.sync._report import TransportOutcome
from comentor.sync.errors import TransportError
from comentor.sync.keys import folder_tag, key_id
from comentor.sync.mailbox.envelope import MAX_ENVELOPE
from comentor.sync.mailbox.stream import HEARTBEAT, Exchange

if TYPE_CHECKING:
    from comentor.model import Journal

__all__ = ["FolderSync", "MAX_FILES_PER_ROUND", "MAX_KEYS_REMEMBERED"]

MAX_FILES_PER_ROUND = 2000  # per subfolder, so a flood of junk files cannot stall a sync
MAX_ENVELOPES_PER_ROUND = 64
MAX_KEYS_REMEMBERED = 64  # keys whose subfolder names are kept (a rotation = a revocation)
_KEY_TAGS = ("envelopes", "folder:key-tags")
_TAG = re.compile(r"^[0-9a-f]{20}$")
_FILE = re.compile(r"^([0-9]{12})\.cmenv$")
_STALE_TMP = 3600.0


class FolderSync:
    """One round of folder sync: read the others' new envelopes, write ours, prune ours."""

    def __init__(
        self,
        journal_path: str | os.PathLike[str],
        folder: str | os.PathLike[str] | None = None,
        *,
        passphrase: str | None = None,
        keys: DeviceKeys | None = None,
        allow_mass_delete: bool = False,
        prune: bool = True,
        heartbeat: float = HEARTBEAT,
    ) -> None:
        self.journal_path = Path(journal_path)
        self.folder = folder
        self.passphrase = passphrase
        self.keys = keys
        self.allow_mass_delete = allow_mass_delete
        self.prune = prune
        self.heartbeat = heartbeat

    def sync_once(self) -> TransportOutcome:
        j = open_for_sync(self.journal_path, keys=self.keys, passphrase=self.passphrase,
                          action="folder")
        try:
            ex = self._exchange(j)
            given = self.folder or j.setting("sync_folder")
            if not given:
                raise TransportError("no sync folder configured", option="sync_folder",
                                     hint="configure")
            root = check_folder(given)
            extra: list[TransportOutcome] = []
            for _ in range(3):  # a key adopted on the way starts the round again
                prev = previous_key(j)
                retired = _remember_tags(j, [k for k in (ex.partnership_key, prev) if k])
                if prev is not None and prev != ex.partnership_key:
                    # the transition after a rotation: the previous key's subfolders carry
                    # only devices and key grants, for the devices that have not switched
                    old = self._exchange(j, prev, ROTATION_TABLES)
                    self._round(old, root, _tags(j, ex.partnership_key) | retired)
                    extra.append(old.report)
                unopened: list[str] = []
                if not ex.stale():
                    self._round(ex, root, (_tags(j, prev) if prev else set()) | retired,
                                unopened)
                if not ex.stale():
                    break
                # a key was adopted half-way: the round starts again under it and reads
                # every file that did not open once more, so only that verdict is reported
                # (the new key's files did not open under the one we held before)
                ex.report.rejected = [r for r in ex.report.rejected if r not in unopened]
                extra.append(ex.report)
                ex = self._exchange(j)
            if previous_key(j) is not None and ex.switched():
                drop_previous_key(j)
            for r in extra:
                ex.report.merge(r)
            return ex.report
        finally:
            j.close()

    def _exchange(self, j: Journal, key: bytes | None = None,
                  tables: tuple[str, ...] | None = None) -> Exchange:
        return Exchange(j, "folder", allow_mass_delete=self.allow_mass_delete,
                        heartbeat=self.heartbeat, key=key, tables=tables)

    def _round(self, ex: Exchange, root: Path, skip: set[str],
               unopened: list[str] | None = None) -> None:
        """Read, write and prune the subfolders of one key (``skip``: the other keys').

        ``unopened`` collects the reports of files that did not open, for the caller."""
        mine = root / folder_tag(ex.partnership_key, ex.j.device_id)
        try:
            mine.mkdir(exist_ok=True)
            own = os.lstat(mine)
        except OSError as exc:
            raise TransportError(f"cannot write to sync folder {root}: {exc.strerror}") from None
        if not stat.S_ISDIR(own.st_mode):  # a symlink planted to make us write or prune elsewhere
            raise TransportError(f"sync folder {root}: our subfolder {mine.name} is not a "
                                 "plain directory (a symlink?): remove it and sync again")
        self._read(ex, root, mine.name, skip, [] if unopened is None else unopened)
        if ex.stale():
            return
        self._write(ex, mine)
        if self.prune:
            self._prune(ex, mine)

    def _read(self, ex: Exchange, root: Path, own: str, skip: set[str],
              unopened: list[str]) -> None:
        known = {folder_tag(ex.partnership_key, d): d for d in ex.others()}
        revoked = {folder_tag(ex.partnership_key, d): d for d in _revoked(ex.j)}
        try:
            subdirs = sorted(p for p in root.iterdir() if _TAG.match(p.name) and p.name != own
                             and p.name not in skip and not p.is_symlink())
        except OSError as exc:
            raise TransportError(f"cannot read sync folder {root}: {exc.strerror}") from None
        for sub in subdirs:
            device, thief = known.get(sub.name), revoked.get(sub.name)
            after = ex.last_in(device) if device else _judged(ex, thief) if thief else 0
            judged = after
            numbered = []
            with _suppress_os():
                for p in sub.iterdir():
                    m = _FILE.match(p.name)
                    if m and int(m.group(1)) > after:
                        numbered.append((int(m.group(1)), p))
            numbered.sort()
            if len(numbered) > MAX_FILES_PER_ROUND:
                ex.report.notes.append(
                    f"folder: {len(numbered) - MAX_FILES_PER_ROUND} more file(s) left for the next sync"
                )
            for n, path in numbered[:MAX_FILES_PER_ROUND]:
                data = _read_bounded(path)
                if data is None:
                    ex.report.rejected.append(f"folder: ignored {sub.name}/{path.name}: "
                                              "unreadable or larger than an envelope")
                    continue
                status = ex.receive(data, keep_extra_if_unopened=False)
                if status == "unopened":
                    ex.report.rejected[-1] += f" ({sub.name}/{path.name}; partial files are read again next time)"
                    unopened.append(ex.report.rejected[-1])
                else:
                    judged = n
            if thief and judged > after:
                with ex.j.transaction():
                    ex.j.write_cursor(thief, f"env-{ex.ns}:judged", str(judged))

    def _write(self, ex: Exchange, mine: Path) -> None:
        for _ in range(MAX_ENVELOPES_PER_ROUND):
            out = ex.prepare()
            if out is None:
                return
            final = mine / f"{out.seq:012d}.cmenv"
            tmp = mine / f".{out.seq:012d}.{os.getpid()}.{os.urandom(4).hex()}.tmp"
            try:
                with open(tmp, "wb") as fh:
                    fh.write(out.data)
                    fh.flush()
                    os.fsync(fh.fileno())
                os.replace(tmp, final)
            except OSError as exc:
                with _suppress_os():
                    tmp.unlink()
                raise TransportError(f"cannot write to sync folder: {exc.strerror or exc}") from None
            ex.confirm(out)

    def _prune(self, ex: Exchange, mine: Path) -> None:
        done = ex.confirmed_out()
        now = time.time()
        with _suppress_os():
            for p in mine.iterdir():
                m = _FILE.match(p.name)
                if m and int(m.group(1)) <= done:
                    p.unlink()
                elif p.name.endswith(".tmp") and now - p.stat().st_mtime > _STALE_TMP:
                    p.unlink()


def _tags(j: Journal, key: bytes) -> set[str]:
    """Every paired device's subfolder name under `key` (revoked ones included)."""
    return {folder_tag(key, device) for device in device_ids(j)}


def _remember_tags(j: Journal, held: list[bytes]) -> set[str]:
    """Record the subfolder names of the keys held now; return those of keys held before.

    Without the key a retired subfolder cannot be told from junk, hence the record, made
    while the key is still held. It names only what the folder's host already sees, and
    keeps the last MAX_KEYS_REMEMBERED keys (a few tags each), most recent last.
    """
    raw = j.cursor(*_KEY_TAGS)
    try:
        known = json.loads(raw) if raw else {}
    except ValueError:
        known = {}
    if not isinstance(known, dict):
        known = {}
    now = {key_id(k): sorted(_tags(j, k)) for k in held}
    merged = {kid: tags for kid, tags in known.items() if kid not in now and isinstance(tags, list)}
    retired = {t for tags in merged.values() for t in tags if isinstance(t, str)}
    merged.update(now)
    merged = dict(list(merged.items())[-max(MAX_KEYS_REMEMBERED, len(now)):])
    value = json.dumps(merged)
    if value != raw:
        with j.transaction():
            j.write_cursor(*_KEY_TAGS, value)
    return retired - {t for tags in now.values() for t in tags}


def _revoked(j: Journal) -> list[str]:
    """The devices revoked so far: everything they send is refused, now and later."""
    return [d for d in device_ids(j) if d != j.device_id
            and (device_record(j, d) or {}).get("revoked_at")]


def _judged(ex: Exchange, device: str) -> int:
    """The highest number of a revoked device's files already judged (and reported)."""
    return int(ex.j.cursor(device, f"env-{ex.ns}:judged") or "0")


class _suppress_os:
    """Ignore OS errors from a folder another program changes under us."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type: object, exc: object, tb: object) -> bool:
        return isinstance(exc, OSError)


def _read_bounded(path: Path) -> bytes | None:
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
