"""Syncing a journal through any shared folder (a synced cloud folder, a USB stick).

The folder holds the same sealed envelopes as the relay (channel ``folder``), one file each:
``DIR/<device folder tag>/<envelope number, 12 digits>.cmenv``. The tag is a keyed hash of
the device id under the partnership key, so names reveal no person and no device to the
folder's host. Each device writes only into its own subfolder, through a temporary name
that takes its final name only if no file has it (folder_files.py: a journal restored from
a backup must never replace an envelope nobody has read), so two writers never clash and a
reader never sees a half-written file of ours. A device deletes its own files once every
other device has reported processing them; it never deletes anyone else's.

Only the subfolders of this partnership's devices are read: anything else (another
partnership sharing the folder, junk) could only fail to open, so it is passed over in
silence. A file that does not open (a file-sync service may deliver a partial one) is
reported, answered with one request to its writer to send again, and remembered
(:class:`~comentor.sync.mailbox.folder_files.Unopened`): it is read again only once it
changes, so it costs nothing at later syncs. Heartbeats (see stream.py) are for an envelope
lost on the way: while our latest one is still in the folder none is written, so a device
that stays away does not make the folder grow.

After a key rotation the previous key's subfolders stay behind (other devices' files are
never deleted, and a revoked device keeps writing there). Once this device no longer holds
that key their files cannot open, yet they are neither damaged nor an attack: the subfolder
names of every key used here are remembered (local cursor ``folder:key-tags``, the last
MAX_KEYS_REMEMBERED keys) and a retired key's subfolders are passed over in silence. A
revoked device's envelopes are always refused: each is reported once, and the highest number
judged is kept per device and key, so the same refusal is not repeated at every sync.

A folder given for one sync that is not the journal's usual one (``sync-folder OTHER``)
takes envelopes with numbers of the same stream (so no reader ever takes one for a replay),
but leaves the record of what was shipped as it was: the usual folder still gets all of it
at its next sync, instead of waiting for a heartbeat to reveal the gap.
"""

from __future__ import annotations

import contextlib
import json
import math
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
from comentor.sync.mailbox.folder_files import (
    FILE,
    Unopened,
    envelope_name,
    identity,
    numbered_between,
    place_exclusively,
    read_bounded,
    write_failure,
)
from comentor.sync.mailbox.stream import HEARTBEAT, MAX_JUMP, Exchange

if TYPE_CHECKING:
    from comentor.model import Journal

__all__ = ["FolderSync", "MAX_FILES_PER_ROUND", "MAX_KEYS_REMEMBERED"]

MAX_FILES_PER_ROUND = 2000  # per subfolder, so a flood of junk files cannot stall a sync
MAX_ENVELOPES_PER_ROUND = 64
MAX_KEYS_REMEMBERED = 64  # keys whose subfolder names are kept (a rotation = a revocation)
_KEY_TAGS = ("envelopes", "folder:key-tags")
_TAG = re.compile(r"^[0-9a-f]{20}$")
_STALE_TMP = 3600.0
# our latest envelope, still in our subfolder, stands for a heartbeat this long: after a day
# one is written all the same (a cloud service that never delivered the file, a conflict
# copy on the other side), so a partner away for weeks costs one file a day, not 144
_WAITING_AT_MOST = 86400.0
_UNREADABLE = "unreadable or larger than an envelope"
_JUDGED = ""  # remembered as read and refused (reported once, by the exchange)
_PARTIAL = "partial files are read again once they change"
_CHECKED = 16  # files above our counter opened to find our highest (the rest: junk)
Failures = list[tuple[str, str]]  # (subfolder/name, why it did not open)


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
        self._one_off = False  # this round's folder is not the journal's usual one

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
            self._one_off = _one_off(j.setting("sync_folder"), root)
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
                if not ex.stale():
                    self._round(ex, root, (_tags(j, prev) if prev else set()) | retired)
                if not ex.stale():
                    break
                # a key was adopted half-way: the round starts again under it, and what did
                # not open under the key held before is read again (and only then reported)
                extra.append(ex.report)
                ex = self._exchange(j)
            if previous_key(j) is not None and ex.switched():
                drop_previous_key(j)
            if not ex.report.received and not _partner_wrote(ex, root):
                ex.report.alone = (
                    f"no other device of this partnership has written to {root} yet "
                    "(is it the folder your partner's devices use?)")
            for r in extra:
                ex.report.merge(r)
            return ex.report
        finally:
            j.close()

    def _exchange(self, j: Journal, key: bytes | None = None,
                  tables: tuple[str, ...] | None = None) -> Exchange:
        return Exchange(j, "folder", allow_mass_delete=self.allow_mass_delete,
                        heartbeat=self.heartbeat, key=key, tables=tables)

    def _round(self, ex: Exchange, root: Path, skip: set[str]) -> None:
        """Read, write and prune the subfolders of one key (``skip``: the other keys')."""
        mine = root / folder_tag(ex.partnership_key, ex.j.device_id)
        try:
            mine.mkdir(exist_ok=True)
            own = os.lstat(mine)
        except FileExistsError:  # a file, or a dangling symlink, where our subfolder goes
            own = None
        except OSError as exc:
            raise TransportError(write_failure(root, exc)) from None
        if own is None or not stat.S_ISDIR(own.st_mode):
            # a symlink planted to make us write or prune elsewhere, or a stray file
            raise TransportError(f"sync folder {root}: our subfolder {mine.name} is not a "
                                 "plain directory (a file or a symlink?): remove it and sync again")
        memory = Unopened(ex.j, ex.ns, root)
        failures: Failures = []
        self._read(ex, root, mine.name, skip, memory, failures)
        if ex.stale():
            return  # read again under the new key: nothing to remember or report
        memory.save()
        if failures:
            ex.report.rejected.append(_failure_line(failures))
        record = ex.sending_record() if self._one_off else None
        try:
            self._write(ex, root, mine)
        finally:
            if record is not None:  # the usual folder still ships all of it
                ex.restore_sending(record)
        if self.prune:
            self._prune(ex, mine)

    def _read(self, ex: Exchange, root: Path, own: str, skip: set[str], memory: Unopened,
              failures: Failures) -> None:
        try:
            names = sorted(p.name for p in root.iterdir() if _TAG.match(p.name)
                           and p.name != own and p.name not in skip and not p.is_symlink())
        except OSError as exc:
            raise TransportError(f"cannot read sync folder {root}: {exc.strerror or exc}: "
                                 "sync again once it is back (nothing was lost)") from None
        done: set[str] = set()
        for _ in range(3):  # a device whose record just arrived is read in the same round
            known = {folder_tag(ex.partnership_key, d): d for d in ex.others()}
            revoked = {folder_tag(ex.partnership_key, d): d for d in _revoked(ex.j)}
            todo = [n for n in names if n not in done and (n in known or n in revoked)]
            for name in todo:
                done.add(name)
                self._read_device(ex, root / name, known.get(name), revoked.get(name),
                                  memory, failures)
            if not todo:
                return

    def _read_device(self, ex: Exchange, sub: Path, device: str | None, thief: str | None,
                     memory: Unopened, failures: Failures) -> None:
        """The new files of one device's subfolder (a revoked one's: judged, never taken)."""
        after = ex.last_in(device) if device else _judged(ex, thief) if thief else 0
        judged = after
        pending: list[tuple[int, Path, str, str]] = []
        with contextlib.suppress(OSError):
            for p in sub.iterdir():
                m = FILE.match(p.name)
                ident = identity(p) if m and int(m.group(1)) > after else None
                if m is None or ident is None:
                    continue
                rel = f"{sub.name}/{p.name}"
                why = memory.why(rel, ident)
                if why is None:
                    pending.append((int(m.group(1)), p, rel, ident))
                elif why != _JUDGED:
                    failures.append((rel, why))  # still there as it was: not read again
        pending.sort()
        if len(pending) > MAX_FILES_PER_ROUND:
            ex.report.notes.append(f"folder: {len(pending) - MAX_FILES_PER_ROUND} more "
                                   f"file(s) in {sub.name} left for the next sync")
        r, ask = ex.report, [device] if device else []
        for n, path, rel, ident in pending[:MAX_FILES_PER_ROUND]:
            data = read_bounded(path)
            if data is None:
                memory.add(rel, ident, _UNREADABLE)
                failures.append((rel, _UNREADABLE))
                ex.ask_again(ask)  # once: remembered, it is not read again unless it changes
                continue
            marks = len(r.rejected), len(r.notes)
            status = ex.receive(data, keep_extra_if_unopened=False, ask=ask)
            if status == "unopened":  # said once for all of them, below
                said = r.rejected[marks[0]:] + r.notes[marks[1]:]
                del r.rejected[marks[0]:], r.notes[marks[1]:]
                why = said[-1].split("ignored an envelope: ", 1)[-1] if said else "did not open"
                memory.add(rel, ident, why)
                failures.append((rel, why))
                continue
            judged = n
            if status != "applied":  # refused, a replay or ours: reported once, by receive
                memory.add(rel, ident, _JUDGED)
                if status == "rejected":
                    ex.ask_again(ask)  # what it carried comes again, in a new envelope
        if thief and judged > after:
            with ex.j.transaction():
                ex.j.write_cursor(thief, f"env-{ex.ns}:judged", str(judged))

    def _write(self, ex: Exchange, root: Path, mine: Path) -> None:
        # a journal restored from a backup went back to the backup's counter: its next
        # numbers follow its envelopes still in the folder (and what a partner said it read)
        ex.skip_past(_ours_after(ex, mine))
        for _ in range(MAX_ENVELOPES_PER_ROUND):
            # a heartbeat reveals an envelope lost on the way; ours is still here (for now)
            waiting = _waiting(mine / envelope_name(ex.out_seq()))
            ex.heartbeat = math.inf if waiting else self.heartbeat
            out = ex.prepare()
            if out is None:
                return
            final = mine / envelope_name(out.seq)
            tmp = mine / f".{out.seq:012d}.{os.getpid()}.{os.urandom(4).hex()}.tmp"
            try:
                with open(tmp, "wb") as fh:
                    fh.write(out.data)
                    fh.flush()
                    os.fsync(fh.fileno())
                placed = place_exclusively(tmp, final)
            except OSError as exc:
                with contextlib.suppress(OSError):
                    tmp.unlink()
                if not os.path.lexists(final):
                    ex.give_back(out.seq)
                raise TransportError(write_failure(root, exc)) from None
            if not placed:  # that number is taken: sealed again under the next free one
                ex.skip_past(_ours_after(ex, mine))
                continue
            ex.confirm(out)

    def _prune(self, ex: Exchange, mine: Path) -> None:
        done = ex.confirmed_out()
        now = time.time()
        with contextlib.suppress(OSError):
            for p in mine.iterdir():
                m = FILE.match(p.name)
                if m and int(m.group(1)) <= done:
                    p.unlink()
                elif p.name.endswith(".tmp") and now - p.stat().st_mtime > _STALE_TMP:
                    p.unlink()


def _ours_after(ex: Exchange, mine: Path) -> int:
    """The highest number above our counter of an envelope of ours in our subfolder (0:
    none). Only a file that opens as ours counts: junk, or a file planted by the folder's
    host, cannot push our numbers on (its name is still never written over)."""
    out = ex.out_seq()
    for n, path in numbered_between(mine, out, out + MAX_JUMP)[:_CHECKED]:
        data = read_bounded(path)
        if data is not None and ex.is_ours(data):
            return n
    return 0


def _one_off(usual: str | None, root: Path) -> bool:
    """Whether ``root`` is a folder given for one sync, not the journal's usual one."""
    if not usual:
        return False  # the only folder this journal syncs through
    path = Path(usual).expanduser()
    try:
        return not os.path.samefile(path, root)
    except OSError:  # the usual one is not there now (an unplugged stick)
        return path.resolve() != root.resolve()


def _partner_wrote(ex: Exchange, root: Path) -> bool:
    """Whether any other device of the partnership has a subfolder in ``root`` (under the
    current key or the one before it): else no partner device has written there yet."""
    keys = [k for k in (ex.partnership_key, previous_key(ex.j)) if k]
    return any(os.path.isdir(root / folder_tag(k, d)) for k in keys for d in ex.others())


def _failure_line(failures: Failures) -> str:
    """The files that did not open, in one line however many there are."""
    if len(failures) == 1:
        rel, why = failures[0]
        return f"folder: ignored an envelope: {why} ({rel}; {_PARTIAL})"
    reasons: dict[str, list[str]] = {}
    for rel, why in failures:
        reasons.setdefault(why, []).append(rel)
    parts = [f"{why}: {', '.join(rels[:2])}" + (f" and {len(rels) - 2} more" if len(rels) > 2 else "")
             for why, rels in list(reasons.items())[:3]]
    if len(reasons) > 3:
        parts.append(f"{len(reasons) - 3} other reason(s)")
    return f"folder: ignored {len(failures)} files that do not open ({'; '.join(parts)}); {_PARTIAL}"


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


def _waiting(latest: Path) -> bool:
    """Whether our latest envelope is still in our subfolder, written less than
    :data:`_WAITING_AT_MOST` ago (then no heartbeat is needed beside it)."""
    try:
        return time.time() - latest.lstat().st_mtime < _WAITING_AT_MOST
    except OSError:
        return False
