"""What state a journal file is in: damaged, read-only, on a full disk, or fine.

Every journal connection is a :class:`JournalConnection`. Its cursors turn SQLite's errors
into the journal's own, told apart by `sqlite_errorcode` (never by message text), wherever
they surface (opening, a list, a sync): a corrupt page (SQLITE_CORRUPT, SQLITE_NOTADB, or
text that is not UTF-8) marks the journal damaged for good — `PRAGMA query_only` is set, so
no later write can land in the damaged file, and the damage is remembered in the state
folder for later processes; a full disk, a read-only file and a lock each say so in one
line.

Opening (:func:`open_existing`) reads the file's first bytes before SQLite does: a file that
is not SQLite from byte 0 and holds no journal marker is "not a comentor journal", and
anything else SQLite cannot read is "damaged" (a truncated journal is damaged, not something
else to delete). It runs `PRAGMA quick_check` where that is cheap (measured: about 1.3 ms
per MB, so files up to QUICK_CHECK_MAX_BYTES), and opens read-only (`mode=ro`, or
`immutable=1` where not even the -shm can be made) when the file or its folder cannot be
written or the disk is full, so reading still works there. Once its migrations have run,
upgrade.check_tables makes sure every column the code reads is there (a flipped byte in
the schema text can rename one and still parse), once for each schema text it meets.
"""

from __future__ import annotations

import functools
import os
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

from ._digest import sha256_hex
from ._files import SQLITE_MAGIC, companions, disk_full, read_only, read_ordinary
from ._held import held_here, hold, release
from ._schema import FORMAT
from ._sqlite_errors import _DAMAGE, _code, _disk_is_full, damaged, explain_sqlite_error
from .errors import (
    DamagedJournalError,
    DiskFullError,
    JournalError,
    JournalLockedError,
    NewerJournalError,
    NotAJournalError,
    ReadOnlyJournalError,
)

__all__ = ["JournalConnection", "QUICK_CHECK_MAX_BYTES", "damaged",
           "explain_sqlite_error", "open_existing", "open_new", "quick_check", "remember_damage"]

QUICK_CHECK_MAX_BYTES = 32 * 1024 * 1024  # about 40 ms of checking at most, on every open
_MARKER_SCAN_BYTES = 1024 * 1024  # local_meta is made first: its rows sit near the start


class JournalConnection(sqlite3.Connection):
    """A connection whose errors speak the journal's language, and that knows why (if at
    all) it must not write. Made by :func:`open_existing` and :func:`open_new` only."""

    path: Path
    refusal: JournalError | None = None
    _held: tuple[int, int] | None = None  # see _held.py: let go once, on close or collection

    def close(self) -> None:
        super().close()  # if this fails the connection is still open, and still held
        self._let_go()

    def __del__(self) -> None:  # a connection never closed: SQLite closes it as it goes
        try:
            self._let_go()
        except Exception:  # noqa: BLE001 - at interpreter exit the module may be gone
            pass

    def _let_go(self) -> None:
        held, self._held = self._held, None
        release(held)

    def cursor(self, factory: Any = None) -> Any:
        return super().cursor(factory or _GuardedCursor)

    def execute(self, sql: str, parameters: Any = (), /) -> Any:
        return self.cursor().execute(sql, parameters)

    def executemany(self, sql: str, parameters: Any, /) -> Any:
        return self.cursor().executemany(sql, parameters)

    def executescript(self, script: str, /) -> Any:
        return self.cursor().executescript(script)

    def refuse_writes(self, reason: JournalError) -> None:
        """From now on every write is refused with `reason` (damage outranks the others)."""
        if self.refusal is None or isinstance(reason, DamagedJournalError):
            self.refusal = reason
        try:
            sqlite3.Connection.execute(self, "PRAGMA query_only = ON")
        except sqlite3.Error:
            pass

    def note_damage(self, what: str, *, check: bool = True) -> DamagedJournalError:
        """Mark the journal damaged: refuse writes, remember it, and (always after SQLite
        reported corruption) run the quick check so the error says what it found."""
        if isinstance(self.refusal, DamagedJournalError):
            return damaged(self.path, str(self.refusal.field("detail") or ""))
        detail = f"{what}; quick_check: {quick_check(self)}" if check else what
        err = damaged(self.path, detail)
        self.refuse_writes(err)
        remember_damage(self.path, detail)
        return err

    def translate(self, exc: BaseException) -> BaseException:
        """The journal's error for an error SQLite raised (or `exc` itself)."""
        if isinstance(exc, UnicodeDecodeError):
            return self.note_damage("a text in it is not valid UTF-8")
        code = _code(exc)
        if code in _DAMAGE:
            return self.note_damage(str(getattr(exc, "sqlite_errorname", "SQLITE_CORRUPT")))
        if code == sqlite3.SQLITE_READONLY and self.refusal is not None:
            return type(self.refusal)(str(self.refusal), **self.refusal.fields)
        return explain_sqlite_error(exc, self.path) or exc


_CAUGHT = (sqlite3.DatabaseError, UnicodeDecodeError)


def _guard(method: Callable[..., Any]) -> Any:
    @functools.wraps(method)
    def guarded(self: sqlite3.Cursor, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except _CAUGHT as exc:
            conn = self.connection
            mapped = conn.translate(exc) if isinstance(conn, JournalConnection) else exc
            if mapped is exc:
                raise
            try:
                raise mapped from exc
            finally:  # this frame is in its traceback: no cycle (holding this cursor, and
                del mapped  # so its connection, open) that only the collector would break

    return guarded


class _GuardedCursor(sqlite3.Cursor):
    """A cursor whose every step goes through :meth:`JournalConnection.translate`."""

    execute = _guard(sqlite3.Cursor.execute)
    executemany = _guard(sqlite3.Cursor.executemany)
    executescript = _guard(sqlite3.Cursor.executescript)
    fetchone = _guard(sqlite3.Cursor.fetchone)
    fetchmany = _guard(sqlite3.Cursor.fetchmany)
    fetchall = _guard(sqlite3.Cursor.fetchall)
    __next__ = _guard(sqlite3.Cursor.__next__)


def quick_check(conn: sqlite3.Connection, limit: int = 5) -> str:
    """`PRAGMA quick_check`'s verdict in one line ("ok" when it finds nothing)."""
    before = conn.text_factory
    conn.text_factory = lambda raw: raw.decode("utf-8", "replace")
    try:
        rows = sqlite3.Connection.execute(conn, f"PRAGMA quick_check({limit})").fetchall()
    except (sqlite3.Error, UnicodeDecodeError) as exc:
        return str(getattr(exc, "sqlite_errorname", type(exc).__name__))
    finally:
        conn.text_factory = before
    lines = [" ".join(str(r[0]).split()) for r in rows]
    return "ok" if lines == ["ok"] else "; ".join(lines)[:300]


# ---------------------------------------------------------------------- remembered damage
def _note_path(path: Path) -> Path:
    from ._epoch import state_dir

    key = sha256_hex(str(path.resolve()).encode("utf-8", "surrogateescape"))
    return state_dir() / "damaged" / f"{key[:32]}.json"


def _identity(path: Path) -> list[int]:
    """What changes when the file is replaced or written (so an old note stops applying)."""
    st = path.stat()
    return [st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns]


def remember_damage(path: Path, detail: str) -> None:
    """Note (best effort) that this very file is damaged, for later processes."""
    import json  # here: only damage is noted (json is 1 ms of every command's start)

    try:
        note = _note_path(path)
        note.parent.mkdir(parents=True, exist_ok=True)
        tmp = note.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"path": str(path), "file": _identity(path),
                                   "detail": detail}), encoding="utf-8")
        os.replace(tmp, note)
    except OSError:
        pass


def _remembered_damage(path: Path) -> str | None:
    from ._epoch import state_dir

    try:
        if not (state_dir() / "damaged").is_dir():  # the usual case: no note, no hashing
            return None
        text = _note_path(path).read_text(encoding="utf-8")
    except OSError:
        return None  # the usual case: no note, and json is not even loaded
    import json

    try:
        data = json.loads(text)
        if data["file"] == _identity(path):
            return str(data["detail"])
    except (OSError, ValueError, KeyError, TypeError):
        pass
    return None


# ---------------------------------------------------------------------- opening
def _busy_timeout() -> float:
    try:
        return float(os.environ.get("COMENTOR_BUSY_TIMEOUT", "5"))
    except ValueError:
        return 5.0


def _connect(target: str, path: Path, *, uri: bool = False) -> JournalConnection:
    conn = sqlite3.connect(target, isolation_level=None, timeout=_busy_timeout(),
                           factory=JournalConnection, uri=uri)
    assert isinstance(conn, JournalConnection)
    conn.path = path
    conn._held = hold(path)
    conn.text_factory = bytes.decode  # strict UTF-8, as fast as the default: bad text raises
    return conn


def _settled(conn: JournalConnection, *checks: Callable[[JournalConnection], None],
             ) -> JournalConnection:
    """Run the checks, then (on a connection that may write) make sure of WAL mode and
    synchronous=FULL; the connection is closed if anything fails."""
    try:
        for check in checks:
            check(conn)
        if conn.refusal is None:
            if str(conn.execute("PRAGMA journal_mode").fetchone()[0]).lower() != "wal":
                conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
    except BaseException:
        conn.close()
        raise
    return conn


def open_new(path: Path) -> JournalConnection:
    """A connection to a new, empty journal file (WAL, synchronous=FULL)."""
    return _settled(_connect(str(path), path))


def _holds_marker(path: Path) -> bool:
    try:
        with open(path, "rb") as f:
            return FORMAT.encode("ascii") in f.read(_MARKER_SCAN_BYTES)
    except OSError:
        return False


def _check_bytes(path: Path) -> None:
    """Before SQLite reads it: something else, or a damaged journal? Not when this process
    already holds a connection to the file: closing the descriptor we would read it with
    drops that connection's locks (see _held.py), and the file passed this check then."""
    if held_here(path):
        return
    try:
        head = read_ordinary(path, 100)
    except OSError as exc:
        raise JournalError(f"cannot read {path}: {exc.strerror}", path=str(path)) from None
    if head is None:  # a pipe would hang the command, a device feed it forever
        raise NotAJournalError(f"{path} is not an ordinary file: give the path of a journal "
                               "file", path=str(path))
    if not head:
        raise NotAJournalError(f"{path} is an empty file, not a comentor journal",
                               path=str(path))
    if head.startswith(SQLITE_MAGIC) and len(head) == 100:
        return
    # the fixed payload fractions (64, 32, 32) of a SQLite header whose start was overwritten
    if head.startswith(SQLITE_MAGIC) or head[21:24] == b"\x40\x20\x20" or _holds_marker(path):
        raise damaged(path, "its first page is cut short or overwritten")
    raise NotAJournalError(f"{path} is not a comentor journal", path=str(path))


def _probe(conn: JournalConnection) -> None:
    """Make SQLite actually open the file (and its -wal/-shm)."""
    conn.execute("SELECT count(*) FROM sqlite_master").fetchone()


def _open_read_only(path: Path, reason: JournalError) -> JournalConnection:
    """Open without writing anything: `mode=ro`, or `immutable=1` when the -shm a WAL
    reader needs cannot be made (a read-only filesystem, a full disk)."""
    wal = companions(path)[0]
    target = "file:" + quote(str(path.absolute()))
    # on a full disk not even the -shm a `mode=ro` reader needs can be made: go straight on
    tries = ("&immutable=1",) if isinstance(reason, DiskFullError) else ("", "&immutable=1")
    for extra in tries:
        if extra and wal.exists() and wal.stat().st_size > 0:
            raise ReadOnlyJournalError(
                f"the journal {path} cannot be written and holds changes not yet merged into "
                f"it ({wal.name}): open it once where it can be written", path=str(path))
        conn = _connect(f"{target}?mode=ro{extra}", path, uri=True)
        try:
            _probe(conn)
        except (ReadOnlyJournalError, DiskFullError, JournalLockedError, sqlite3.OperationalError):
            conn.close()
            if extra:
                raise
            continue
        except BaseException:
            conn.close()
            raise
        conn.refuse_writes(reason)
        return conn
    raise reason  # pragma: no cover - the loop returns or raises


def _check_format(conn: JournalConnection) -> None:
    path = conn.path
    if conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'local_meta'"
                    ).fetchone() is None:
        if _holds_marker(path):
            raise conn.note_damage("its list of tables is damaged")
        raise NotAJournalError(f"{path} is not a comentor journal", path=str(path))
    row = conn.execute("SELECT value FROM local_meta WHERE key = 'format'").fetchone()
    if row is None:
        raise conn.note_damage("its format mark is missing")
    if row[0] != FORMAT:
        if isinstance(row[0], str) and row[0].startswith("comentor-journal-"):
            raise NewerJournalError(
                f"the journal {path} was made by a newer comentor ({row[0]}): "
                "this version cannot read it", path=str(path))
        raise NotAJournalError(f"{path} is not a comentor journal", path=str(path))


def _check_health(conn: JournalConnection) -> None:
    path = conn.path
    remembered = _remembered_damage(path)
    if remembered is not None:
        raise conn.note_damage(remembered, check=False)
    size = sum(p.stat().st_size for p in (path, companions(path)[0]) if p.exists())
    if size <= QUICK_CHECK_MAX_BYTES:
        verdict = quick_check(conn)
        if verdict != "ok":
            raise conn.note_damage(f"quick_check: {verdict}", check=False)


def open_existing(path: Path) -> JournalConnection:
    """Connect to an existing journal file, after checking what it is and what state it is
    in. Raises NotAJournalError, DamagedJournalError or NewerJournalError; a journal that
    cannot be written (read-only, full disk) opens read-only with writes refused."""
    _check_bytes(path)
    reason: JournalError | None = None
    if not (os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)):
        reason = read_only(path)
    elif _disk_is_full(path):
        reason = disk_full(path)
    conn: JournalConnection | None = None
    if reason is None:
        conn = _connect(str(path), path)
        try:
            _probe(conn)
        except (ReadOnlyJournalError, DiskFullError, sqlite3.OperationalError) as exc:
            conn.close()
            conn = None
            if isinstance(exc, sqlite3.OperationalError) and _code(exc) != sqlite3.SQLITE_CANTOPEN:
                raise
            reason = exc if isinstance(exc, DiskFullError) else read_only(path)
        except BaseException:
            conn.close()
            raise
    if conn is None:
        assert reason is not None
        conn = _open_read_only(path, reason)
    return _settled(conn, _check_format, _check_health)
