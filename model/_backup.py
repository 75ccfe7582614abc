"""Backups: a consistent copy of the whole journal, and bringing one back as a restored copy.

An export is for reading; a backup is for getting a journal back. `backup_journal` copies
the whole file through SQLite's backup API (one consistent snapshot, even while the app is
writing), local-only data included: private notes, drafts, settings, this device's keys
and the partnership key. It can be sealed with a passphrase (Argon2id + XSalsa20-Poly1305,
the same box that seals a device key, see _identity.py); unsealed, a backup is a plain
journal file, readable by anyone who has it.

`restore_backup` puts a backup in a journal's place as a *restored copy*: before anything
else is written, the copy moves to a new epoch (a fresh replica id, see _epoch.py), because
the device may have issued sequence numbers after the backup was made and a number must
never name two operations. It never writes over a journal unless told (`force`), and then
keeps the old one beside it as `<name>.before-restore`. What changed after the backup comes
back from the partner at the next sync.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import sqlite3
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import nacl.pwhash

from ._files import (
    SQLITE_MAGIC,
    building_path,
    companions,
    fold_wal,
    os_error,
    read_ordinary,
    remove_with_companions,
)
from ._health import open_existing
from ._identity import SealedKeys, open_sealed, seal_bytes
from ._journal import Journal, iso
from ._output import journal_files, write_file_safely
from ._repair import count_items
from ._restore_swap import ASIDE, put_in_place
from .errors import (
    DamagedJournalError,
    DiskFullError,
    JournalError,
    JournalExistsError,
    JournalMissingError,
    NewerJournalError,
    NotAJournalError,
    PassphraseError,
    ValidationError,
)

__all__ = ["BackupReport", "RestoreReport", "SEALED_MAGIC", "Ask", "backup_journal",
           "restore_backup"]

# A sealed backup: this line, Argon2id's opslimit and memlimit (8 bytes each, big-endian),
# its salt, then the secret box holding the journal file.
SEALED_MAGIC = b"comentor-backup-sealed-1\n"
_LIMITS = struct.Struct(">QQ")
_SALT = nacl.pwhash.argon2id.SALTBYTES
_BOX_EXTRA = 24 + 16  # XSalsa20-Poly1305's nonce and tag around the sealed bytes
_MADE_AT = "backup_made_at"  # local_meta key in the copy only: when the backup was made

# Asked for a passphrase: "backup" (a sealed backup) or "device" (a sealed device key in
# it); returns it, or None when there is no one to ask.
Ask = Callable[[str], str | None]


@dataclass
class BackupReport:
    """What a backup holds and where it went."""

    source: Path
    target: Path
    sealed: bool
    size: int
    items: dict[str, int] = field(default_factory=dict)  # live rows per synced table
    local: dict[str, int] = field(default_factory=dict)  # local-only rows per table


@dataclass
class RestoreReport:
    """What a restore brought back, as whom, and where the replaced journal went."""

    source: Path
    target: Path
    sealed: bool
    made_at: str | None  # when the backup was made (None: a plain copy of a journal)
    person: str
    device: str
    replica: str  # the restored copy's new replica id
    before: Path | None = None  # where the journal it replaced now is
    items: dict[str, int] = field(default_factory=dict)
    local: dict[str, int] = field(default_factory=dict)


def count_local(conn: sqlite3.Connection) -> dict[str, int]:
    """The local-only data a journal holds (never synced: only a backup keeps it)."""
    queries = {
        "local_keys": "SELECT count(*) FROM local_keys WHERE device_id = "
                      "(SELECT value FROM local_meta WHERE key = 'device_id')",
        "local_secrets": "SELECT count(*) FROM local_secrets WHERE name = 'partnership'",
        "settings": "SELECT count(*) FROM settings",
        "private_notes": "SELECT count(*) FROM private_notes WHERE deleted = 0",
        "talking_point_drafts": "SELECT count(*) FROM talking_point_drafts WHERE deleted = 0",
    }
    return {table: int(conn.execute(sql).fetchone()[0]) for table, sql in queries.items()}


# ---------------------------------------------------------------------- backup
def backup_journal(source: str | os.PathLike[str], output: str | os.PathLike[str], *,
                   passphrase: str | None = None, fast_kdf: bool = False,
                   now: dt.datetime | None = None) -> BackupReport:
    """Write a consistent copy of the journal at `source` to `output` (atomically, never
    over a file of the journal), sealed when a passphrase is given; `fast_kdf` lowers
    Argon2id's cost (tests only). A damaged journal is refused: repair it first."""
    source = Path(source)
    if not source.exists():
        raise JournalMissingError(f"no journal at {source}", hint="init", path=str(source))
    if source.is_dir():
        raise NotAJournalError(f"{source} is a folder, not a comentor journal", path=str(source))
    _refuse_a_journal(Path(output).expanduser())
    conn = open_existing(source)
    try:
        copy = sqlite3.connect(":memory:")
        try:
            try:
                conn.backup(copy)
            except sqlite3.DatabaseError as exc:
                raise conn.translate(exc) from None
            made_at = iso(now or dt.datetime.now(dt.UTC))
            copy.execute("INSERT OR REPLACE INTO local_meta (key, value) VALUES (?, ?)",
                         (_MADE_AT, made_at))
            copy.commit()
            items, local = count_items(copy), count_local(copy)
            data = copy.serialize()
        finally:
            copy.close()
    finally:
        conn.close()
    if passphrase:
        data = _seal(data, passphrase, fast_kdf)
    target = write_file_safely(output, data, protect=journal_files(source), replace_data=True)
    return BackupReport(source, target, bool(passphrase), len(data), items, local)


def _refuse_a_journal(output: Path) -> None:
    """A backup may replace an older backup, never a journal (another partner's, another
    device's): a typo in `-o` must not cost a journal."""
    try:  # never open() it: a FIFO there would block until a writer came
        if (read_ordinary(output, len(SQLITE_MAGIC)) or b"") != SQLITE_MAGIC:
            return  # not a database, or not an ordinary file: write_file_safely refuses it
    except OSError:
        return  # missing, or not readable: write_file_safely says what it must
    try:  # immutable: reads the file as it is, makes no -wal or -shm beside it
        with contextlib.closing(sqlite3.connect(
                f"file:{quote(str(output.absolute()))}?immutable=1", uri=True)) as conn:
            keys = {str(k) for (k,) in conn.execute(
                "SELECT key FROM local_meta WHERE key IN ('format', ?)", (_MADE_AT,))}
    except sqlite3.Error:
        return
    if keys == {"format"}:
        raise ValidationError(f"{output} is a comentor journal, not a backup: choose another "
                              "file name", option="output")


def _seal(data: bytes, passphrase: str, fast: bool) -> bytes:
    sealed = seal_bytes(data, passphrase, fast=fast)
    return SEALED_MAGIC + _LIMITS.pack(sealed.opslimit, sealed.memlimit) + sealed.salt + sealed.box


def _unseal(data: bytes, source: Path, ask: Ask | None) -> bytes:
    head = len(SEALED_MAGIC) + _LIMITS.size
    if len(data) < head + _SALT:
        raise NotAJournalError(f"the backup {source} is cut short: it cannot be restored",
                               path=str(source))
    ops, mem = _LIMITS.unpack(data[len(SEALED_MAGIC):head])
    # the costs come from the file: bounded, so a doctored header cannot demand any memory
    if not (nacl.pwhash.argon2id.OPSLIMIT_MIN <= ops <= nacl.pwhash.argon2id.OPSLIMIT_SENSITIVE
            and nacl.pwhash.argon2id.MEMLIMIT_MIN <= mem
            <= nacl.pwhash.argon2id.MEMLIMIT_SENSITIVE):
        raise NotAJournalError(f"the backup {source} has a damaged header: it cannot be "
                               "restored", path=str(source))
    box = data[head + _SALT:]
    # the box is a 24-byte nonce, a 16-byte tag and the journal file, which SQLite always
    # writes in whole pages (512 bytes or a multiple): a copy cut short is told from a
    # wrong passphrase before one is asked for
    if len(box) < _BOX_EXTRA + 512 or (len(box) - _BOX_EXTRA) % 512:
        raise NotAJournalError(f"the backup {source} is cut short or damaged: it cannot be "
                               "restored", path=str(source))
    secret = ask("backup") if ask else None
    if not secret:
        raise PassphraseError(f"the backup {source} is sealed: its passphrase is needed",
                              path=str(source))
    sealed = SealedKeys(data[head:head + _SALT], ops, mem, box)
    try:
        return open_sealed(sealed, secret, what=f"the backup {source}")
    except PassphraseError:  # the tag does not say which: a changed byte fails the same way
        raise PassphraseError(f"wrong passphrase for the backup {source}, or the file was "
                              "changed after it was written", path=str(source)) from None


# ---------------------------------------------------------------------- restore
def restore_backup(source: str | os.PathLike[str], target: str | os.PathLike[str], *,
                   ask: Ask | None = None, force: bool = False) -> RestoreReport:
    """Put the backup at `source` in place as the journal at `target`, moved to a new
    epoch before anything else is written. An existing journal there is refused unless
    `force`, and then kept as `<name>.before-restore`."""
    source, target = Path(source), Path(target)
    occupied = _check_places(source, target, force)
    data = _read_backup(source)
    sealed = data.startswith(SEALED_MAGIC)
    if sealed:
        data = _unseal(data, source, ask)
    if not data.startswith(SQLITE_MAGIC):
        raise NotAJournalError(f"{source} is not a comentor backup", path=str(source))
    building = building_path(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        _write_new(building, data)
        report = _settle(building, source, target, sealed, ask)
        report.before = put_in_place(building, target, occupied)  # see _restore_swap.py
    except OSError as exc:
        raise os_error(exc, target) from None
    finally:
        remove_with_companions(building)
    return report


def _check_places(source: Path, target: Path, force: bool) -> bool:
    """Refuse a missing backup, a folder, the journal as its own backup, and (without
    `force`) a journal in the way; returns whether something must be moved aside."""
    if not source.exists():
        raise JournalMissingError(f"no backup at {source}", path=str(source))
    if source.is_dir():
        raise NotAJournalError(f"{source} is a folder, not a comentor backup", path=str(source))
    if not source.is_file():
        raise _not_ordinary(source)
    if target.is_dir():
        raise ValidationError(f"{target} is a folder: name the journal file to restore to",
                              option="journal")
    if target.exists() and not target.is_file():  # a pipe or a device: never replaced
        raise ValidationError(f"{target} is not an ordinary file: name the journal file to "
                              "restore to", option="journal")
    for part in journal_files(target):
        with contextlib.suppress(OSError):
            if os.path.samefile(source, part):
                raise ValidationError(f"{source} is the journal itself, not a backup of it",
                                      path=str(source))
    present = [p for p in (target, *companions(target)) if p.exists()]
    occupied = bool(present) and not (present == [target] and target.stat().st_size == 0)
    if occupied and not force:
        raise JournalExistsError(
            f"a journal already exists at {target}: nothing was restored; to replace it "
            f"(it is kept as {target.name}{ASIDE}), restore again", path=str(target),
            instead="force")
    return occupied


def _not_ordinary(source: Path) -> NotAJournalError:
    return NotAJournalError(f"{source} is not an ordinary file: give the path of a backup "
                            "file", path=str(source))


def _read_backup(source: Path) -> bytes:
    """The backup's bytes: only an ordinary file's, and no more than it held when opened
    (a pipe would hang the restore; /dev/zero would fill the memory); a file that does not
    begin as a backup does is refused before the rest of it is read (a disk image)."""
    try:
        head = read_ordinary(source, max(len(SEALED_MAGIC), len(SQLITE_MAGIC)))
        if head is not None and not head.startswith((SEALED_MAGIC, SQLITE_MAGIC)):
            raise NotAJournalError(f"{source} is not a comentor backup", path=str(source))
        data = read_ordinary(source)
    except OSError as exc:
        raise JournalError(f"cannot read the backup {source}: {exc.strerror}",
                           path=str(source)) from None
    except MemoryError:
        raise JournalError(f"the backup {source} is too large to restore on this machine",
                           path=str(source)) from None
    if data is None:  # swapped for a pipe or a device since _check_places looked
        raise _not_ordinary(source)
    if data.startswith(SQLITE_MAGIC):
        return _with_its_wal(source) or data
    return data


def _with_its_wal(source: Path) -> bytes | None:
    """A journal file given as the backup (a `.before-restore` kept by an earlier restore,
    a copy of a journal) with its -wal beside it: its latest changes are in that -wal, not
    in the file, so it is read through SQLite, which merges them. None when there is no
    -wal or SQLite cannot read it (the bytes are then judged as they are)."""
    wal = companions(source)[0]
    if not wal.is_file() or wal.stat().st_size == 0:
        return None
    try:
        with contextlib.closing(sqlite3.connect(
                f"file:{quote(str(source.absolute()))}?mode=ro", uri=True, timeout=5)) as conn:
            with contextlib.closing(sqlite3.connect(":memory:")) as copy:
                conn.backup(copy)
                return copy.serialize()
    except (sqlite3.Error, MemoryError):
        return None


def _write_new(path: Path, data: bytes) -> None:
    """Write a new file readable by its owner only (it holds the device's keys)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def _settle(building: Path, source: Path, target: Path, sealed: bool,
            ask: Ask | None) -> RestoreReport:
    """Open the restored copy (brought up to date), move it to a new epoch, and say what
    it holds; the file is left closed, its -wal folded in."""
    j = _open(building, source, ask)
    try:
        refusal = j.write_refusal
        if isinstance(refusal, NewerJournalError):
            raise NewerJournalError(f"the backup {source} was made by a newer comentor: "
                                    "restore it with that version", path=str(source))
        if isinstance(refusal, DiskFullError):
            raise DiskFullError(f"the disk is full: nothing was restored to {target}",
                                path=str(target))
        made_at = j.meta(_MADE_AT)
        with j.transaction():
            j.bump_epoch()
            j.conn.execute("DELETE FROM local_meta WHERE key = ?", (_MADE_AT,))
        j.raise_mark()
        device = j.get("devices", j.device_id, include_deleted=True) or {}
        report = RestoreReport(source, target, sealed, None if made_at is None else str(made_at),
                               j.person_name(j.me), str(device.get("name") or j.device_id),
                               j.replica, items=count_items(j.conn), local=count_local(j.conn))
        fold_wal(j.conn)
    finally:
        j.close()
    return report


def _open(building: Path, source: Path, ask: Ask | None) -> Journal:
    """The restored copy as a Journal (its device key unlocked: asked when sealed)."""
    try:
        try:
            return Journal.open(building)
        except PassphraseError:
            secret = ask("device") if ask else None
            if not secret:
                raise PassphraseError("the device key in the backup is locked: its passphrase "
                                      "is needed", path=str(source)) from None
            return Journal.open(building, passphrase=secret)
    except DamagedJournalError:
        raise DamagedJournalError(f"the backup {source} is damaged: it cannot be restored",
                                  path=str(source)) from None
    except NotAJournalError:
        raise NotAJournalError(f"{source} is not a comentor backup", path=str(source)) from None
