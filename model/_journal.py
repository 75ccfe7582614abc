"""The journal: one SQLite file per device, and the one write path into it.

Every edit becomes one signed operation, appended to `ops` and applied to the projection in
the same transaction. The journal runs in WAL mode with synchronous=FULL, so a crash at any
point leaves either the whole transaction or none of it. A connection is used only on the
thread that opened it; open another Journal for another thread.
"""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ._clock import HybridClock
from ._files import building_path, fold_wal, os_error, publish, remove_with_companions, taken
from ._health import JournalConnection, explain_sqlite_error, open_existing, open_new
from ._identity import DeviceKeys, SealedKeys, seal, unseal
from ._local import LocalData
from ._ops import (
    new_person_id,
)
from ._reading import Reading
from ._schema import FORMAT
from ._upgrade import bring_up_to_date, migrate_journal
from ._writing import WritePath
from .errors import (
    DiskFullError,
    JournalError,
    JournalLockedError,
    JournalMissingError,
    NotAJournalError,
    PassphraseError,
    ValidationError,
)

__all__ = ["Journal", "FORMAT", "iso"]

Clock = Callable[[], dt.datetime]


def iso(moment: dt.datetime) -> str:
    """A UTC ISO 8601 string with seconds, as every datetime field stores it."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _system_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _connect(path: Path, *, check_format: bool) -> JournalConnection:
    """Connect to a new journal file, or to an existing one after checking what it is and
    what state it is in (see health.py): nothing is changed in a file that is not a
    healthy, writable journal."""
    return open_existing(path) if check_format else open_new(path)


class Journal(WritePath, LocalData, Reading):
    """An open journal. Create with :meth:`create`, open with :meth:`open`."""

    def __init__(
        self,
        path: Path,
        conn: sqlite3.Connection,
        keys: DeviceKeys,
        *,
        now: Clock | None = None,
        rand: Callable[[int], bytes] = os.urandom,
        device_id: str | None = None,
    ) -> None:
        self.path = path
        self.conn = conn
        self.keys = keys
        self._device_id = device_id  # None: worked out from the keys when first asked
        self._now = now or _system_now
        self._rand = rand
        last = conn.execute("SELECT max(hlc) FROM ops").fetchone()[0] or 0
        self.clock = HybridClock(lambda: int(self._now().timestamp() * 1000), int(last))

    @property
    def device_id(self) -> str:
        """This device's id: derived from its signing key (on first use: that loads PyNaCl).
        An opened journal takes the id it says it belongs to (local_meta), the one its key
        was stored under and made from (`_init_meta` writes both; a sealed key is checked
        against it when unlocked), so opening and reading need no PyNaCl (the app's first
        frame, `status`)."""
        if self._device_id is None:
            self._device_id = self.keys.device_id
        return self._device_id

    @device_id.setter
    def device_id(self, value: str) -> None:
        self._device_id = value

    # ------------------------------------------------------------------ opening
    @classmethod
    def create(
        cls,
        path: str | os.PathLike[str],
        name: str,
        *,
        passphrase: str | None = None,
        joining: bool = False,
        key_seed: bytes | None = None,
        now: Clock | None = None,
        rand: Callable[[int], bytes] = os.urandom,
        fast_kdf: bool = False,
        device_name: str | None = None,
        keys: DeviceKeys | None = None,
        person: str | None = None,
    ) -> Journal:
        """Make a new journal for a person and this device.

        `joining` leaves out the partnership and cadence rows, which arrive from the partner.
        `keys` uses keys made beforehand (pairing makes them before the journal exists);
        `person` makes this a second device of an existing person (no new person row).
        """
        from ._entities import is_blank  # here: opening a journal never needs it

        path = Path(path)
        name = name.strip()
        if is_blank(name) or len(name) > 80:  # an invisible name is no name
            raise ValidationError("a name is needed (at most 80 characters)")
        there = taken(path)
        if there is not None:
            raise there
        keys = keys or DeviceKeys.generate(key_seed)
        # built beside its place and moved there whole: a failure (a full disk) leaves no
        # empty or half-made file behind to be mistaken for a journal
        building = building_path(path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            conn = _connect(building, check_format=False)
            conn.path = path
            try:
                migrate_journal(conn)
                journal = cls(path, conn, keys, now=now, rand=rand)
                journal._init_meta(name, passphrase, joining, fast_kdf, device_name or _host_name(),
                                   person)
                fold_wal(conn)
            finally:
                conn.close()
            publish(building, path)
        except OSError as exc:
            raise _not_made(os_error(exc, path), path) from None
        except DiskFullError as exc:
            raise _not_made(exc, path) from None
        except sqlite3.Error as exc:  # SQLite could not make the file (a folder not writable)
            why = explain_sqlite_error(exc, path)
            if why is None:
                raise
            raise _not_made(why, path) from None
        finally:
            remove_with_companions(building)
        return cls.open(path, keys=keys, now=now, rand=rand)

    def _init_meta(
        self, name: str, passphrase: str | None, joining: bool, fast_kdf: bool, device_name: str,
        existing_person: str | None,
    ) -> None:
        keys = self.keys
        person = existing_person or new_person_id(self._rand)
        with self.transaction():
            meta = {"format": FORMAT, "device_id": self.device_id, "epoch": 0, "person": person}
            self.conn.executemany(
                "INSERT INTO local_meta (key, value) VALUES (?, ?)", list(meta.items())
            )
            if passphrase:
                s = seal(keys, passphrase, fast=fast_kdf)
                self.conn.execute(
                    "INSERT INTO local_keys (device_id, sealed, salt, opslimit, memlimit, box) "
                    "VALUES (?, 1, ?, ?, ?, ?)",
                    (self.device_id, s.salt, s.opslimit, s.memlimit, s.box),
                )
            else:
                self.conn.execute(
                    "INSERT INTO local_keys (device_id, sign_secret, box_secret) VALUES (?, ?, ?)",
                    (self.device_id, keys.sign_secret, keys.box_secret),
                )
            if not joining:
                self.conn.execute(
                    "INSERT INTO local_secrets (name, value) VALUES ('partnership', ?)",
                    (self._rand(32),),
                )
        stamp = self.now_iso()
        if existing_person is None:
            self.put("people", person, name=name, joined_at=stamp)
        self.put(
            "devices", self.device_id, person=person, name=device_name[:60],
            sign_pk=keys.sign_public, box_pk=keys.box_public, added_at=stamp,
        )
        if not joining:
            self.put("partnership", "partnership", created_at=stamp)
            from ._dates import system_zone  # the zone of whoever set it (issue 10)

            self.put("schedule", "cadence", every_days=21, at="12:00", minutes=30,
                     start=self.today().isoformat(), zone=system_zone())

    @classmethod
    def open(
        cls,
        path: str | os.PathLike[str],
        *,
        passphrase: str | None = None,
        keys: DeviceKeys | None = None,
        now: Clock | None = None,
        rand: Callable[[int], bytes] = os.urandom,
    ) -> Journal:
        """Open an existing journal, bringing its schema up to date.

        A damaged journal is refused (DamagedJournalError); one that cannot be written (a
        read-only file or folder, a full disk) or that a newer comentor changed opens for
        reading, and refuses every write with the reason (see :attr:`write_refusal`).
        """
        path = Path(path)
        if not path.exists():
            raise JournalMissingError(f"no journal at {path}", hint="init", path=str(path))
        if path.is_dir():
            raise NotAJournalError(f"{path} is a folder, not a comentor journal")
        conn = _connect(path, check_format=True)
        try:
            bring_up_to_date(conn)
            row = conn.execute("SELECT value FROM local_meta WHERE key = 'device_id'").fetchone()
            if row is None or not row[0]:
                raise conn.note_damage("it does not say which device it belongs to", check=False)
            if keys is None:
                keys = _load_keys(conn, str(row[0]), passphrase)
                return cls(path, conn, keys, now=now, rand=rand, device_id=str(row[0]))
            return cls(path, conn, keys, now=now, rand=rand)
        except BaseException:
            conn.close()
            raise

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ basics
    @property
    def write_refusal(self) -> JournalError | None:
        """Why this journal refuses every write (damaged, read-only, full disk, newer), or
        None while it can be written."""
        return getattr(self.conn, "refusal", None)

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (BEGIN IMMEDIATE): all of it lands, or none of it.

        A journal that must not be written refuses before anything starts; an error inside
        (a full disk, damage found on the way) rolls back whatever SQLite has not already.
        """
        refusal = self.write_refusal
        if refusal is not None:
            raise refusal.with_traceback(None)
        try:
            self.conn.execute("BEGIN IMMEDIATE")
        except JournalLockedError:
            raise JournalLockedError(
                f"journal {self.path} is busy: another program is writing to it; try again",
                path=str(self.path)) from None
        try:
            yield self.conn
            self.conn.execute("COMMIT")
        except BaseException:
            self._rollback()
            raise

    def _rollback(self) -> None:
        """Roll back if a transaction is still open (SQLite ends some on its own, such as
        on a full disk); a failed rollback never hides the error that caused it."""
        if not self.conn.in_transaction:
            return
        try:
            sqlite3.Connection.execute(self.conn, "ROLLBACK")
        except sqlite3.Error:
            pass

    def meta(self, key: str) -> Any:
        row = self.conn.execute("SELECT value FROM local_meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else row[0]

    def _set_meta(self, key: str, value: object) -> None:
        self.conn.execute(
            "INSERT INTO local_meta (key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    @property
    def me(self) -> str:
        """The person id of this device's owner."""
        return str(self.meta("person"))

    @property
    def replica(self) -> str:
        """This device's current replica id: device id and epoch."""
        return f"{self.device_id}.{int(self.meta('epoch') or 0)}"

    @property
    def db(self) -> Any:
        """A sqlite-utils view of the connection (imported on first use: it is slow to load)."""
        from sqlite_utils import Database

        return Database(self.conn, execute_plugins=False)

    @property
    def is_demo(self) -> bool:
        return bool(self.meta("demo"))

    def now(self) -> dt.datetime:
        return self._now()

    def now_iso(self) -> str:
        return iso(self._now())

    def today(self) -> dt.date:
        """Today in the local time zone of this machine."""
        return self._now().astimezone().date()

    def partnership_key(self) -> bytes | None:
        """The secret both partners share; None until this device is paired or has invited."""
        row = self.conn.execute("SELECT value FROM local_secrets WHERE name = 'partnership'").fetchone()
        return None if row is None else bytes(row[0])


def _not_made(why: JournalError, path: Path) -> JournalError:
    """The error of a journal that could not be made: nothing was left behind."""
    if isinstance(why, DiskFullError):
        return DiskFullError(f"the disk is full: no journal was made at {path}", path=str(path))
    return why


def _host_name() -> str:
    try:
        return os.uname().nodename[:60] or "this device"
    except (AttributeError, OSError):
        return "this device"


def _load_keys(conn: JournalConnection, device_id: str, passphrase: str | None) -> DeviceKeys:
    row = conn.execute(
        "SELECT sign_secret, box_secret, sealed, salt, opslimit, memlimit, box FROM local_keys "
        "WHERE device_id = ?", (device_id,),
    ).fetchone()
    if row is None:
        raise conn.note_damage("it holds no key for its device", check=False)
    if not row[2]:
        keys = DeviceKeys.stored(row[0], row[1])
        if keys is None:
            raise conn.note_damage("its device key is damaged", check=False)
        return keys
    if passphrase is None:
        raise PassphraseError("this device's key is locked: give its passphrase")
    keys = unseal(SealedKeys(bytes(row[3]), int(row[4]), int(row[5]), bytes(row[6])), passphrase)
    if keys.device_id != device_id:
        raise JournalError("the unlocked key does not belong to this device")
    return keys
