"""Rebuilding a damaged journal into a new file from the signed operations it still holds.

The readable tables are a projection of the operation log, and every operation is signed by
the device that made it, so whatever operations can still be read from a damaged file, and
verify, rebuild every table they touched. Repair reads a copy of the damaged file (and its
-wal), never the file itself: through SQLite as far as SQLite gets, then page by page (see
pages.py) for what SQLite cannot reach. It keeps each operation whose signature verifies
against its author's key (a device id is derived from its key, so a device record proves
its own key), copies the local-only data it can read (this device's keys, the partnership
key, private notes, drafts, settings), replays the operations into a new journal beside the
old one, and reports what it recovered and what it could not.

Before any of that, the copy meets the checks opening a journal makes (health.py,
upgrade.py): a journal a newer comentor made or changed is refused, since rebuilding it as
this version's journal would drop what the newer one added (its columns, its tables, its
mark) and let this version write to it; a sealed backup is refused with the way to restore
it; and a file that is no journal at all is called so when nothing can be rebuilt from it.
Where damage keeps those checks from reading the marks, repair goes on as it always has.

Sync cursors stay behind on purpose: the next sync asks every peer from the start, so what
the damage took and a partner still holds comes back. The new journal starts a new epoch
(a fresh replica id): this device's lost operations may live on at a partner, and a
sequence number must never be issued twice with different contents.
"""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from . import _health as health
from . import _salvage as salvage
from ._epoch import new_epoch
from ._files import building_path, companions, fold_wal, os_error, publish, remove_with_companions
from ._fts import index_drafts, set_document
from ._projection import rebuild
from ._schema import FORMAT, TABLES
from ._store import insert_op
from ._upgrade import bring_up_to_date, migrate_journal
from .errors import (
    JournalError,
    JournalExistsError,
    JournalMissingError,
    NewerJournalError,
    NotAJournalError,
)

__all__ = ["RepairReport", "count_items", "repair_journal"]


@dataclass
class RepairReport:
    """What a repair recovered, and what it could not."""

    source: Path
    target: Path
    verdict: str  # what SQLite's quick check says of the damaged file ("ok": no damage seen)
    operations: int = 0  # operations kept, each one verified
    held: int = 0  # held-back (quarantined) operations kept, each one verified
    rejected: int = 0  # rows shaped like operations that did not verify (garbled or stale)
    missing: int | None = None  # operations the damaged file counted but repair lacks
    items: dict[str, int] = field(default_factory=dict)  # live rows per table, rebuilt
    local: dict[str, int] = field(default_factory=dict)  # local-only rows copied per table
    lost: list[str] = field(default_factory=list)  # local-only tables it could not read


def repair_journal(source: str | Path, target: str | Path | None = None) -> RepairReport:
    """Rebuild the journal at `source` into a new file at `target` (by default beside it,
    named `<name>-repaired<suffix>`), never touching `source`; returns what was recovered."""
    source = Path(source)
    if not source.exists():
        raise JournalMissingError(f"no journal at {source}", hint="init", path=str(source))
    if not source.is_file():  # a folder, a pipe, a device: nothing to copy and read
        raise NotAJournalError(f"{source} is not an ordinary file: give the path of the "
                               "damaged journal file", path=str(source))
    target = Path(target) if target else source.with_name(f"{source.stem}-repaired{source.suffix}")
    _check_target(source, target)
    report: RepairReport | None = None
    try:
        # the copy holds the journal and its keys: removed however the repair ends
        with tempfile.TemporaryDirectory(prefix=".comentor-repair-", dir=target.parent) as tmp:
            try:
                report = _repair_copy(source, target, Path(tmp) / "damaged.db")
            except MemoryError:
                # leaving this handler lets go of all the salvage held: the copy can then
                # be removed, and the error below raised
                report = None
    except OSError as exc:
        raise os_error(exc, target) from None
    if report is None:
        raise JournalError(f"{source} is too large to repair with the memory this machine has: "
                           "nothing was written", path=str(source))
    return report


def _repair_copy(source: Path, target: Path, copy: Path) -> RepairReport:
    """Copy the damaged file (and its -wal) to `copy`, check it, read it, and build the
    repaired journal at `target`."""
    shutil.copyfile(source, copy)
    wal = companions(source)[0]
    if wal.exists():
        shutil.copyfile(wal, companions(copy)[0])
    not_a_journal = _as_opening_sees_it(source, copy)
    found = salvage.read_copy(copy)
    report = RepairReport(source, target, verdict=found.verdict)
    building = building_path(target)
    try:
        _build(found, building, report, not_a_journal)
        publish(building, target)
    finally:
        remove_with_companions(building)
    return report


def _as_opening_sees_it(source: Path, copy: Path) -> NotAJournalError | None:
    """Run the checks opening a journal makes (health.py's on its bytes and its format
    mark, upgrade.py's on its record of schema changes), on a read-only connection to the
    copy, so that repair refuses what opening would refuse as newer, in the same terms.

    Raises NewerJournalError for a journal a newer comentor made or changed, and
    NotAJournalError for a sealed backup (restored, not repaired). Returns the refusal of
    a file that is no journal at all, raised only if nothing can be rebuilt from it (a
    badly damaged journal can look like no journal at its start); None for a journal, or
    for one whose damage keeps the checks from reading its marks (repaired as ever)."""
    try:
        health._check_bytes(source)
        # named as the source, so that what the checks say (and remember) is about it
        conn = health._connect(f"file:{quote(str(copy.absolute()))}?mode=ro", source, uri=True)
        try:
            health._check_format(conn)
            # read-only: a journal that is not up to date fails at the upgrade's first
            # write, and the repaired journal is brought up to date instead
            bring_up_to_date(conn)
            newer = conn.refusal
        finally:
            conn.close()
    except NewerJournalError as exc:
        newer = exc
    except NotAJournalError as exc:
        if _is_sealed_backup(copy):
            raise NotAJournalError(
                f"{source} is a sealed comentor backup, not a damaged journal: restore it "
                "instead (it asks for the backup's passphrase)",
                path=str(source), hint="restore") from None
        return exc.with_traceback(None)
    except (JournalError, sqlite3.Error, UnicodeDecodeError):
        return None  # damage: repair reads whatever it can
    if isinstance(newer, NewerJournalError):
        needs = newer.field("needs")
        by = f"comentor {needs}" if needs else "a newer comentor"
        raise NewerJournalError(
            f"the journal {source} was written by {by}: this version would lose what that one "
            "added, so nothing was repaired; update comentor on this device, then repair it",
            **{**newer.fields, "path": str(source)}) from None
    return None


def _is_sealed_backup(copy: Path) -> bool:
    """Whether the file begins as a sealed backup does (backup.py's mark)."""
    from ._backup import SEALED_MAGIC  # here: backup.py imports this module

    with open(copy, "rb") as handle:
        return handle.read(len(SEALED_MAGIC)) == SEALED_MAGIC


def _check_target(source: Path, target: Path) -> None:
    if target.exists() and target.stat().st_size > 0:
        raise JournalExistsError(f"{target} already exists: give another name for the "
                                 "repaired journal", path=str(target), option="output")
    if target.resolve() in (source.resolve(), *(p.resolve() for p in companions(source))):
        raise JournalExistsError("the repaired journal must go to a new file, not over the "
                                 "damaged one", path=str(target), option="output")
    if not target.parent.is_dir():
        raise JournalMissingError(f"no folder {target.parent} for the repaired journal",
                                  path=str(target.parent), option="output")


# ---------------------------------------------------------------------- building
def _build(found: salvage.Found, building: Path, report: RepairReport,
           not_a_journal: NotAJournalError | None = None) -> None:
    """Replay what verifies into a new journal at `building`, with the local data found;
    without this device's keys nothing is built: a file that is no journal at all is
    called so (`not_a_journal`), anything else is a journal whose keys are lost."""
    meta = salvage.local_meta(found)
    device = meta.get("device_id") if isinstance(meta.get("device_id"), str) else None
    key_rows = salvage.key_rows(found, device if isinstance(device, str) else None)
    device, own, key_row = salvage.own_keys(key_rows, device if isinstance(device, str) else None)
    if device is None or key_row is None:
        if not_a_journal is not None:
            raise not_a_journal
        raise JournalError(f"this device's keys cannot be read from {report.source}, so it "
                           "cannot be rebuilt as this device", path=str(report.source),
                           hint="pair-again")
    candidates = found.ops + [r for r in found.scanned if len(r) == 7]
    held_rows = found.held + [r for r in found.scanned if len(r) == 8 and isinstance(r[5], bytes)]
    keys = salvage.device_keys([*candidates, *held_rows], own)
    rejected: set[salvage.Row] = set()
    ops = salvage.verified(candidates, keys, rejected)
    held = {k: v for k, v in salvage.verified(held_rows, keys, rejected).items() if k not in ops}
    report.rejected = len(rejected)
    report.operations, report.held = len(ops), len(held)
    if found.counted:
        have = {*ops, *held}
        report.missing = sum(
            sum(1 for seq in range(1, top + 1) if (replica, seq) not in have)
            for replica, top in found.counted.items())
    mine = [op for op, _ in (*ops.values(), *held.values()) if op.device == device]
    person = meta.get("person") or next(
        (op.fields["person"] for op in mine if op.table == "devices" and op.row == device
         and isinstance(op.fields.get("person"), str)), None)
    # a fresh random epoch (model/_epoch.py): never one another copy could pick too
    meta.update(format=FORMAT, device_id=device, person=person, epoch=new_epoch())
    meta.pop("needs_version", None)

    conn = health.open_new(building)
    conn.path = report.target
    try:
        migrate_journal(conn)
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany("INSERT OR REPLACE INTO local_meta (key, value) VALUES (?, ?)",
                         [(k, v) for k, v in meta.items() if v is not None])
        locals_ = {table: found.tables.get(table, ([], [])) for table in salvage.LOCAL}
        locals_["local_keys"] = (_KEY_COLUMNS if "local_keys" in found.unreadable
                                 else locals_["local_keys"][0], [key_row])
        if "local_secrets" in found.unreadable:
            locals_["local_secrets"] = (["name", "value"], salvage.secret_rows(found))
        for table, names in salvage.SCANNED.items():
            if table in found.unreadable:
                locals_[table] = (names, salvage.scanned_rows(found, table))
        for table, (names, rows) in locals_.items():
            report.local[table] = _copy_rows(conn, table, names, rows)
        for op, _ in sorted(ops.values(), key=lambda v: (v[0].hlc, v[0].replica, v[0].seq)):
            insert_op(conn, op)
        for op, row in held.values():
            insert_op(conn, op, table="quarantine")
            conn.execute("UPDATE quarantine SET received_at = ? WHERE replica = ? AND seq = ?",
                         (row[7] if isinstance(row[7], str) else None, op.replica, op.seq))
        for note, text in conn.execute(
                "SELECT id, text FROM private_notes WHERE deleted = 0").fetchall():
            set_document(conn, "private_notes", str(note), str(text))
        index_drafts(conn)
        rebuild(conn)
        conn.execute("COMMIT")
        verdict = health.quick_check(conn)
        if verdict != "ok":
            raise JournalError(f"the rebuilt journal did not pass its check ({verdict})",
                               path=str(report.target))
        report.items = count_items(conn)
        fold_wal(conn)
    finally:
        conn.close()
    report.lost = [t for t in salvage.LOCAL
                   if t in found.unreadable and not report.local.get(t)]


def count_items(conn: sqlite3.Connection) -> dict[str, int]:
    """Live rows per synced table, for the tables that have any (what a repaired or
    restored journal holds, or a backup)."""
    return {t: n for t in TABLES if (n := int(conn.execute(
        f'SELECT count(*) FROM "{t}" WHERE deleted = 0').fetchone()[0]))}


_KEY_COLUMNS = ["device_id", "sign_secret", "box_secret", "sealed", "salt", "opslimit",
                "memlimit", "box"]


def _copy_rows(conn: sqlite3.Connection, table: str, names: list[str], rows: list[salvage.Row]) -> int:
    """Copy rows into a local table, by the columns both journals have; returns how many."""
    have = {str(r[1]) for r in conn.execute(f'PRAGMA table_info("{table}")').fetchall()}
    keep = [i for i, name in enumerate(names) if name in have]
    if not keep or not rows:
        return 0
    cols = ", ".join(f'"{names[i]}"' for i in keep)
    marks = ", ".join("?" * len(keep))
    before = conn.total_changes
    conn.executemany(f'INSERT OR IGNORE INTO "{table}" ({cols}) VALUES ({marks})',
                     [tuple(row[i] for i in keep) for row in rows if len(row) == len(names)])
    return conn.total_changes - before
