"""Salvaging what a damaged journal still holds: operations that verify, local data.

Repair reads a copy of the damaged file twice over: through SQLite, row by row, jumping
ahead wherever a page is damaged, and page by page (see pages.py) for what SQLite cannot
reach. Operations are kept only when their author's signature verifies (a device's id is
derived from its key, so a device record proves its own key). Local-only rows found only on
intact pages are recognised by their shape and kept only where they are unambiguous (freed
pages keep old copies: the newest note wins, a secret seen with two values is left out).
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from ._health import quick_check
from ._identity import DeviceKeys, device_id_for, verify_signature
from ._ops import Operation
from ._pages import Cell, scan_rows
from ._schema import TABLES
from ._store import row_to_op
from .errors import InvalidOperationError

__all__ = ["Found", "Row", "LOCAL", "SCANNED", "read_copy", "verified", "device_keys",
           "local_meta", "key_rows", "own_keys", "scanned_rows", "secret_rows"]

Row = tuple[Cell, ...]
# local-only tables copied as they are (local_meta is rebuilt; sync_cursors stay behind)
LOCAL = ("local_keys", "local_secrets", "settings", "private_notes", "talking_point_drafts")
_SECRETS = ("partnership", "partnership_prev")


@dataclass
class Found:
    """Everything read from the damaged copy."""

    ops: list[Row]
    held: list[Row]
    tables: dict[str, tuple[list[str], list[Row]]]  # readable local tables: columns, rows
    unreadable: set[str]
    scanned: list[Row]  # every row of every intact leaf page
    counted: dict[str, int]  # replica -> highest seq, from the damaged file's replica_state
    verdict: str = ""  # what SQLite's quick check says of it ("ok": no damage seen)


# ---------------------------------------------------------------------- reading
def read_copy(copy: Path) -> Found:
    """Everything SQLite and the pages still give of a (copied) damaged journal."""
    conn = sqlite3.connect(copy, isolation_level=None)
    conn.text_factory = lambda raw: raw.decode("utf-8", "replace")
    try:
        try:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
        except (sqlite3.Error, UnicodeDecodeError):
            pass
        found = Found([], [], {}, set(), [], {}, quick_check(conn))
        cols = "replica, seq, hlc, tbl, row_id, body, sig"
        found.ops = _rows(conn, "ops", cols)
        found.held = _rows(conn, "quarantine", cols + ", received_at")
        for table in ("local_meta", *LOCAL):
            names = _columns(conn, table)
            rows = _rows(conn, table, ", ".join(f'"{n}"' for n in names)) if names else []
            if names and (rows or _readable(conn, table)):
                found.tables[table] = (names, rows)
            else:
                found.unreadable.add(table)
        found.counted = {str(r): int(s) for r, s in _rows(conn, "replica_state", "replica, max_seq")
                         if isinstance(r, str) and isinstance(s, int)}
    finally:
        conn.close()
    found.scanned = [tuple(row) for _, row in scan_rows(copy.read_bytes())]
    return found


def _columns(conn: sqlite3.Connection, table: str) -> list[str]:
    try:
        return [str(r[1]) for r in conn.execute(f'PRAGMA table_info("{table}")').fetchall()]
    except (sqlite3.Error, UnicodeDecodeError):
        return []


def _readable(conn: sqlite3.Connection, table: str) -> bool:
    try:
        conn.execute(f'SELECT count(*) FROM "{table}"').fetchone()
        return True
    except (sqlite3.Error, UnicodeDecodeError):
        return False


def _rows(conn: sqlite3.Connection, table: str, cols: str) -> list[Row]:
    """Every row of `table` SQLite can still reach, each once, in the order its pages hold
    them; where a page is damaged, it starts again further on, by growing steps.

    Each read goes through the table to its end with one cursor, not page by page from
    the last rowid seen: a damaged cell can carry a rowid lower than the rows before it,
    and paging from there reads the same rows again and again, without end. A read that
    ends without error has reached the end of the table. One that damage cuts short is
    followed by a read of the one row after the last it gave (the sqlite3 module drops the
    row it holds when the step past it fails; a read of one row never steps past it), then
    starts again after the furthest rowid read when that is further on, else at a point
    that moves ahead further each time: every start is later than the one before, so the
    loop ends."""
    sql = f'SELECT rowid, {cols} FROM "{table}" WHERE rowid > ? ORDER BY rowid'
    kept: dict[Row, None] = {}  # rowid and row: freed or doubly linked pages repeat rows
    base, gap = 0, 0
    while base + gap < _TOP_ROWID:
        start = base + gap
        last, ended = _read_from(conn, sql, start, kept)
        if ended:
            break
        after, _ = _read_from(conn, sql + " LIMIT 1", last, kept)
        furthest = max(last, after)
        if furthest > start:  # read on, then met damage: go on right after the rows read
            base, gap = furthest, 0
        else:  # damage at once (or damaged rowids): jump ahead, further each time
            gap = gap * 2 or 1
    return [row[1:] for row in kept]


_TOP_ROWID = 2**63 - 1


def _read_from(conn: sqlite3.Connection, sql: str, start: int, kept: dict[Row, None],
               ) -> tuple[int, bool]:
    """Read the rows after rowid `start` into `kept` until the query ends or damage stops
    SQLite; returns the rowid of the last row read, in the order the pages gave them (or
    `start`), and whether it ended. The last, not the highest: a damaged cell can show a
    huge rowid, and going on after it would skip every row that follows."""
    last = start
    try:
        for row in conn.execute(sql, (start,)):
            kept[tuple(row)] = None
            last = row[0] if isinstance(row[0], int) else last
    except (sqlite3.Error, UnicodeDecodeError):
        return last, False
    return last, True


# ---------------------------------------------------------------------- verifying
def _as_op(row: Row) -> Operation | None:
    if len(row) < 7:
        return None
    replica, seq, hlc, table, row_id, body, sig = row[:7]
    if not (isinstance(replica, str) and isinstance(seq, int) and isinstance(hlc, int)
            and isinstance(table, str) and isinstance(row_id, str) and isinstance(body, bytes)
            and isinstance(sig, bytes)) or table not in TABLES or len(sig) != 64:
        return None
    try:
        op = row_to_op(row[:7])
    except (InvalidOperationError, TypeError, ValueError):
        return None
    return op if op.body() == body else None


def verified(rows: Iterable[Row], keys: dict[str, bytes], rejected: set[Row],
              ) -> dict[tuple[str, int], tuple[Operation, Row]]:
    """The rows that are operations signed by their author, one per (replica, seq)."""
    kept: dict[tuple[str, int], tuple[Operation, Row]] = {}
    for row in rows:
        op = _as_op(row)
        if op is None or kept.get((op.replica, op.seq), (None, ()))[1][:7] == row[:7]:
            continue  # not an operation, or one already kept (pages repeat what SQL read)
        pk = keys.get(op.device)
        if pk is None or not verify_signature(pk, op.signed_bytes(), op.sig):
            rejected.add(row[:7])
            continue
        kept.setdefault((op.replica, op.seq), (op, row))
    return kept


def device_keys(candidates: Iterable[Row], own: DeviceKeys | None) -> dict[str, bytes]:
    """Every device's signing key that a device record proves (its id derives from it)."""
    keys: dict[str, bytes] = {}
    for row in candidates:
        op = _as_op(row)
        pk = op.fields.get("sign_pk") if op and op.table == "devices" else None
        if op and isinstance(pk, bytes) and device_id_for(pk) == op.row:
            keys[op.row] = pk
    if own is not None:
        keys[own.device_id] = own.sign_public
    return keys


# ---------------------------------------------------------------------- local data
def _unique(values: Iterable[Cell]) -> Cell:
    seen = set(values)
    return seen.pop() if len(seen) == 1 else None


def local_meta(found: Found) -> dict[str, Cell]:
    names, rows = found.tables.get("local_meta", ([], []))
    meta = {str(r[0]): r[1] for r in rows if len(r) == 2 and isinstance(r[0], str)}
    if "local_meta" in found.unreadable:  # from intact pages, where a value is unambiguous
        for key in ("device_id", "person", "demo"):
            value = _unique(r[1] for r in found.scanned if len(r) == 2 and r[0] == key)
            if value is not None:
                meta.setdefault(key, value)
    return meta


def key_rows(found: Found, device: str | None) -> list[Row]:
    if "local_keys" not in found.unreadable:
        return found.tables["local_keys"][1]
    rows = []  # from intact pages: the 8 columns of local_keys, for this device
    for r in found.scanned:
        if len(r) == 8 and isinstance(r[0], str) and len(r[0]) == 16 and r[3] in (0, 1):
            if r[3] == 0 and isinstance(r[1], bytes) and isinstance(r[2], bytes):
                if len(r[1]) == 32 and DeviceKeys(r[1], r[2]).device_id == r[0]:
                    rows.append(r)
            elif r[0] == device and isinstance(r[7], bytes):
                rows.append(r)
    return list(dict.fromkeys(rows))


def own_keys(rows: list[Row], device: str | None) -> tuple[str | None, DeviceKeys | None, Row | None]:
    """This device's id, its keys (when not sealed), and its local_keys row."""
    for r in rows:
        if device is None and len(rows) == 1 or r[0] == device:
            if r[3]:  # sealed: unlocked later with its passphrase
                return str(r[0]), None, r
            keys = DeviceKeys.stored(r[1], r[2])
            if keys is None:  # damaged: this device cannot sign again
                return str(r[0]), None, None
            return str(r[0]), keys, r
    return device, None, None


_ID = re.compile(r"^[a-z0-9_-]{1,64}$")
SCANNED = {  # local tables found on intact pages by the shape of their rows
    "private_notes": ["id", "text", "about_table", "about_id", "session", "created_at",
                      "updated_at", "deleted"],
    "talking_point_drafts": ["id", "text", "created_at", "deleted"],
}


def scanned_rows(found: Found, table: str) -> list[Row]:
    """Rows of a local table SQLite cannot read, by their shape on intact pages; where
    pages hold several versions of one row (freed pages keep old copies), the newest."""
    width = len(SCANNED[table])
    newest: dict[str, Row] = {}
    for r in found.scanned:
        if (len(r) != width or not isinstance(r[0], str) or not _ID.match(r[0])
                or not isinstance(r[1], str) or r[-1] not in (0, 1)
                or not all(isinstance(v, str | None) for v in r[2:-1])):
            continue
        stamp = str(r[-2] or "")
        if r[0] not in newest or stamp > str(newest[r[0]][-2] or ""):
            newest[r[0]] = r
    return list(newest.values())


def secret_rows(found: Found) -> list[Row]:
    if "local_secrets" not in found.unreadable:
        return found.tables["local_secrets"][1]
    rows: list[Row] = []
    for name in _SECRETS:
        value = _unique(r[1] for r in found.scanned
                        if len(r) == 2 and r[0] == name and isinstance(r[1], bytes) and len(r[1]) == 32)
        if value is not None:
            rows.append((name, value))
    return rows
