"""The relay's two stores: a real PostgreSQL started by the tests themselves (initdb + pg_ctl
in a temporary folder, on a loopback port), schema migrations, and running counts that
never need a scan on the write path. The fixtures here (``postgres``, ``pg_url``) serve
the other relay test modules too, which run against both stores."""

from __future__ import annotations

import asyncio
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from comentor.sync.errors import RelayError
from comentor.sync.relay.store import RelayStore

__all__ = ["postgres", "pg_url", "pg_binaries", "parametrize_stores", "relay_store"]


def pg_binaries() -> Path | None:
    """The folder of PostgreSQL's server programs, or None when it is not installed."""
    for found in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if os.path.exists(os.path.join(found, "initdb")):
            return Path(found)
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _as_postgres() -> list[str]:
    """initdb refuses to run as root: run the server programs as the postgres user."""
    return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def postgres() -> Iterator[str]:
    """A PostgreSQL server of this test process: ``postgresql://postgres@127.0.0.1:PORT``."""
    bin_dir = pg_binaries()
    if bin_dir is None:
        pytest.skip("PostgreSQL is not installed (.ci/run installs it)")
    psycopg = pytest.importorskip("psycopg")
    root = Path(tempfile.mkdtemp(prefix="comentor-pg-"))
    data = root / "data"
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    prefix = _as_postgres()
    subprocess.run([*prefix, str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres",
                    "--auth=trust", "-E", "UTF8", "--no-sync"],
                   check=True, capture_output=True)
    port = _free_port()
    options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c max_connections=200"
    subprocess.run([*prefix, str(bin_dir / "pg_ctl"), "-D", str(data), "-l",
                    str(root / "log"), "-o", options, "-w", "start"],
                   check=True, capture_output=True)
    url = f"postgresql://postgres@127.0.0.1:{port}"
    try:
        with psycopg.connect(url + "/postgres", autocommit=True) as conn:
            conn.execute("SELECT 1")
        yield url
    finally:
        subprocess.run([*prefix, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate",
                        "stop"], capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def pg_url(postgres: str) -> Iterator[str]:
    """A fresh, empty database for one test."""
    import psycopg

    name = "relay_" + uuid.uuid4().hex[:12]
    with psycopg.connect(postgres + "/postgres", autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    yield f"{postgres}/{name}"
    with psycopg.connect(postgres + "/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


async def test_postgres_migrations_apply_once_even_when_processes_start_together(
        pg_url: str) -> None:
    import psycopg

    from comentor.sync.relay.pgstore import MIGRATIONS, PostgresBackend

    opened = await asyncio.gather(*(PostgresBackend.open(pg_url, size=1) for _ in range(3)))
    for backend in opened:
        await backend.close()
    async with await psycopg.AsyncConnection.connect(pg_url) as conn:
        rows = await (await conn.execute("SELECT version FROM schema_version ORDER BY 1")
                      ).fetchall()
    assert [r[0] for r in rows] == list(range(1, len(MIGRATIONS) + 1))


def _counts_match(store: RelayStore) -> None:
    db = store._db
    per = db.execute("SELECT m.env_count, m.env_bytes, (SELECT COUNT(*) FROM envelopes e WHERE "
                     "e.mailbox = m.id), (SELECT COALESCE(SUM(LENGTH(data)), 0) FROM envelopes "
                     "e WHERE e.mailbox = m.id) FROM mailboxes m").fetchall()
    assert all(a == c and b == d for a, b, c, d in per)
    envelopes, size = db.execute(
        "SELECT COUNT(*), COALESCE(SUM(LENGTH(data)), 0) FROM envelopes").fetchone()
    mailboxes = db.execute("SELECT COUNT(*) FROM mailboxes").fetchone()[0]
    assert store.stats() == {"mailboxes": mailboxes, "envelopes": envelopes, "bytes": size}


def test_sqlite_running_counts_stay_exact_and_puts_scan_nothing(tmp_path: Path) -> None:
    now = [1_700_000_000.0]
    store = RelayStore(tmp_path, clock=lambda: now[0])
    boxes = [f"{i:064x}" for i in range(3)]
    for box in boxes:
        store.claim(box, b"k" * 32, 2)

    def steps_of_one_put() -> int:
        steps = [0]

        def count() -> int:
            steps[0] += 1
            return 0

        store._db.set_progress_handler(count, 10)
        store.put_many([(boxes[0], b"x" * 100)], 100_000, 1 << 40, 1 << 40)
        store._db.set_progress_handler(None, 10)
        return steps[0]

    small = steps_of_one_put()
    for _ in range(30):  # thousands of envelopes later...
        store.put_many([(boxes[1], os.urandom(50))] * 100, 100_000, 1 << 40, 1 << 40)
    large = steps_of_one_put()
    assert large <= small * 1.5 + 5, (small, large)  # ...a put costs what it did
    store.ack(boxes[1], b"A" * 16, 1500)
    store.ack(boxes[1], b"B" * 16, 1000)
    now[0] += 10_000
    store.put_many([(boxes[2], b"y" * 10)], 100, 1 << 20, None)
    assert store.purge_expired(5_000) > 0
    _counts_match(store)
    assert store.purge_idle_mailboxes(1) >= 1
    _counts_match(store)
    store.close()


def test_an_old_sqlite_relay_database_is_migrated_with_its_counts(tmp_path: Path) -> None:
    import sqlite3

    db = sqlite3.connect(tmp_path / "relay.sqlite3")
    db.executescript("""
        CREATE TABLE mailboxes (id TEXT PRIMARY KEY, verifier BLOB NOT NULL,
            devices INTEGER NOT NULL, created REAL NOT NULL, last_seq INTEGER NOT NULL DEFAULT 0);
        CREATE TABLE envelopes (mailbox TEXT NOT NULL, seq INTEGER NOT NULL, data BLOB NOT NULL,
            created REAL NOT NULL, PRIMARY KEY (mailbox, seq)) WITHOUT ROWID;
        CREATE TABLE acks (mailbox TEXT NOT NULL, device BLOB NOT NULL, seq INTEGER NOT NULL,
            PRIMARY KEY (mailbox, device)) WITHOUT ROWID;
        INSERT INTO mailboxes VALUES ('m', x'00', 2, 1.0, 2);
        INSERT INTO envelopes VALUES ('m', 1, x'0102', 1.0), ('m', 2, x'030405', 1.0);
    """)
    db.commit()
    db.close()
    store = RelayStore(tmp_path)
    assert store.stats() == {"mailboxes": 1, "envelopes": 2, "bytes": 5}
    assert store.usage("m") == (2, 5)
    assert store.put("m", b"z", 10, 100) == 3
    _counts_match(store)
    # version 3: the envelopes moved into a rowid table, every one kept, in order
    assert store.fetch("m", 0, 10, 1 << 20) == ([(1, b"\x01\x02"), (2, b"\x03\x04\x05"),
                                                 (3, b"z")], False)
    table = store._db.execute(
        "SELECT sql FROM sqlite_master WHERE name = 'envelopes'").fetchone()[0]
    assert "WITHOUT ROWID" not in table
    assert store._db.execute("PRAGMA user_version").fetchone()[0] == 3
    assert store._db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    store.close()


def test_a_version_2_relay_database_moves_its_envelopes_and_gives_the_log_back(
        tmp_path: Path) -> None:
    """Version 2 → 3 as an upgraded relay meets it: envelopes of several mailboxes, acks,
    counts; every envelope kept in order, the counts unchanged, the log emptied after."""
    import sqlite3

    from comentor.sync.relay import store_schema

    db = sqlite3.connect(tmp_path / "relay.sqlite3", isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    for script in (store_schema._SCHEMA_V1, store_schema._SCHEMA_V2):
        db.executescript(script)
    held = {f"{m:043x}": [os.urandom(1000 + m) for _ in range(30)] for m in range(4)}
    for mailbox, items in held.items():
        db.execute("INSERT INTO mailboxes (id, verifier, devices, created, last_seq, "
                   "env_count, env_bytes) VALUES (?, x'00', 2, 1.0, ?, ?, ?)",
                   (mailbox, len(items), len(items), sum(map(len, items))))
        db.executemany("INSERT INTO envelopes VALUES (?, ?, ?, 1.0)",
                       [(mailbox, seq, data) for seq, data in enumerate(items, 1)])
        db.execute("INSERT INTO acks VALUES (?, ?, 3)", (mailbox, b"A" * 16))
    db.execute("UPDATE totals SET mailboxes = 4, envelopes = 120, bytes = ?",
               (sum(len(d) for items in held.values() for d in items),))
    db.execute("PRAGMA user_version = 2")
    before = RelayStore.read_stats(db)
    db.close()

    store = RelayStore(tmp_path)
    wal = tmp_path / "relay.sqlite3-wal"
    assert wal.stat().st_size == 0  # the copy's log is given back before the relay serves
    assert store.stats() == before
    for mailbox, items in held.items():
        assert store.fetch(mailbox, 0, 100, 1 << 20) == (list(enumerate(items, 1)), False)
        assert store.ack(mailbox, b"B" * 16, 5) == 3  # A acked 3 before: 1-3 go
    _counts_match(store)
    assert store._db.execute("PRAGMA user_version").fetchone()[0] == 3
    store.close()
    reopened = RelayStore(tmp_path)  # nothing left to migrate
    assert reopened.stats()["envelopes"] == 120 - 12
    reopened.close()


def test_a_relay_that_waited_for_another_ones_migration_finds_it_done(tmp_path: Path) -> None:
    """Two relays opening one version-1 database at once: the second reads the version,
    waits for the first one's write lock, and must then find the steps done rather than
    run them again (version 2 adds columns, which fails the second time)."""
    import sqlite3
    import threading

    from comentor.sync.relay import store_schema

    path = tmp_path / "relay.sqlite3"
    first = sqlite3.connect(path, isolation_level=None)
    first.execute("PRAGMA journal_mode=WAL")
    first.executescript(store_schema._SCHEMA_V1)
    first.execute("PRAGMA user_version = 1")
    first.execute("BEGIN IMMEDIATE")  # the first relay's migration holds the write lock

    second = sqlite3.connect(path, isolation_level=None, timeout=30,
                             check_same_thread=False)
    waiting = threading.Event()
    second.set_trace_callback(lambda sql: waiting.set() if "BEGIN" in sql else None)
    failure: list[BaseException] = []

    def open_second() -> None:
        try:
            store_schema.migrate(second)
        except BaseException as exc:  # noqa: BLE001 - reported by the test below
            failure.append(exc)

    thread = threading.Thread(target=open_second)
    thread.start()
    assert waiting.wait(30)  # it read version 1 and asks for the lock the first one holds
    for script in (store_schema._SCHEMA_V2, store_schema._SCHEMA_V3):
        for statement in script.split(";\n"):
            if statement.strip():
                first.execute(statement)
    first.execute(f"PRAGMA user_version = {store_schema.SCHEMA_VERSION}")
    first.execute("COMMIT")
    thread.join(30)
    assert not thread.is_alive()
    assert failure == []
    assert second.execute("PRAGMA user_version").fetchone()[0] == store_schema.SCHEMA_VERSION
    second.close()
    first.close()
    store = RelayStore(tmp_path)  # and the relay opens it as it stands
    assert store.stats()["envelopes"] == 0
    store.close()


async def test_an_expiry_sweep_runs_in_short_transactions_and_lets_the_loop_answer(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The SQLite relay's calls run on its event loop: a sweep of many expired envelopes
    (or idle mailboxes) must come in batches with the loop free between them, and still
    delete every one, oldest first, keeping the counts."""
    from comentor.sync.relay import backend

    monkeypatch.setattr(backend, "PURGE_BATCH", 4)
    now = [1_700_000_000.0]
    sqlite = backend.SqliteBackend(RelayStore(tmp_path, clock=lambda: now[0]))
    boxes = [f"{i:064x}" for i in range(3)]
    for box in boxes:
        await sqlite.claim(box, b"k" * 32, 2)
    for n in range(10):
        await sqlite.put_many([(box, bytes([n]) * 50) for box in boxes], 100, 1 << 20, None)
        now[0] += 1
    now[0] += 1000
    await sqlite.put_many([(boxes[0], b"late")], 100, 1 << 20, None)
    turns = 0

    async def other_work() -> None:
        nonlocal turns
        while True:
            turns += 1
            await asyncio.sleep(0)

    other = asyncio.ensure_future(other_work())
    await asyncio.sleep(0)
    started = turns
    assert await sqlite.purge_expired(500) == 30  # 8 batches of 4, the last one short
    assert turns - started >= 7  # the loop ran between the batches
    assert await sqlite.fetch(boxes[0], 0, 100, 1 << 20) == ([(11, b"late")], False)
    _counts_match(sqlite.store)
    assert (await sqlite.stats())["envelopes"] == 1

    now[0] += 10_000
    for n in range(6):
        await sqlite.claim(f"{n + 10:064x}", b"k" * 32, 2)
    await sqlite.purge_expired(1)  # the late envelope goes too: every mailbox is empty
    assert await sqlite.purge_idle_mailboxes(500) == 3  # idle for long enough, in one batch
    now[0] += 1000
    started = turns
    assert await sqlite.purge_idle_mailboxes(500) == 6  # two batches
    assert turns - started >= 1
    assert (await sqlite.stats())["mailboxes"] == 0
    other.cancel()
    await sqlite.close()


def test_a_limited_expiry_sweep_takes_the_oldest_envelopes_first(tmp_path: Path) -> None:
    now = [1_700_000_000.0]
    store = RelayStore(tmp_path, clock=lambda: now[0])
    box = "ab" * 32
    store.claim(box, b"k" * 32, 2)
    for n in range(10):  # stored in arrival order, each a second older than the next
        store.put_many([(box, bytes([n]) * 10)], 100, 1 << 20, None)
        now[0] += 1
    store._db.execute("UPDATE envelopes SET created = created - 2 * seq")  # now newest first
    now[0] += 1000
    assert store.purge_expired(500, limit=4) == 4
    left = [seq for seq, _ in store.fetch(box, 0, 100, 1 << 20)[0]]
    assert left == [1, 2, 3, 4, 5, 6]  # the four with the oldest stamps (7-10) went
    _counts_match(store)
    store.close()


# ------------------------------------------------ both stores for the other relay tests

STORES = ("sqlite", "postgresql")


def parametrize_stores(metafunc: pytest.Metafunc) -> None:
    """For a module's ``pytest_generate_tests``: each test that starts a relay (it uses the
    ``relay_store`` fixture and a relay or a temporary folder) runs against both stores."""
    names = metafunc.fixturenames
    if "relay_store" in names and ({"tmp_path", "relay", "relay_process"} & set(names)):
        metafunc.parametrize("relay_store", STORES, indirect=True)


@pytest.fixture
def relay_store(request: pytest.FixtureRequest) -> str | None:
    """None for SQLite, or the URL of a fresh PostgreSQL database."""
    if getattr(request, "param", "sqlite") == "postgresql":
        return str(request.getfixturevalue("pg_url"))
    return None


async def test_postgres_running_counts_stay_exact(pg_url: str) -> None:
    import psycopg

    from comentor.sync.relay.pgstore import PostgresBackend
    from comentor.sync.relay.store import BadSeq, QuotaExceeded

    now = [1_700_000_000.0]
    store = await PostgresBackend.open(pg_url, clock=lambda: now[0])
    try:
        boxes = [f"{i:064x}" for i in range(3)]
        for box in boxes:
            await store.claim(box, b"k" * 32, 2)
        items = [(boxes[i % 3], os.urandom(10 + i)) for i in range(60)]
        results = await store.put_many(items, 15, 1 << 20, None)
        assert sum(isinstance(r, QuotaExceeded) for r in results) == 15  # 20 each, 15 fit
        assert [r for r in results[:3]] == [1, 1, 1]  # numbering per mailbox, in order
        acked = await store.ack_many([(boxes[0], b"A" * 16, 10), (boxes[0], b"B" * 16, 5),
                                      (boxes[1], b"A" * 16, 99)])
        assert acked[:2] == [0, 5] and isinstance(acked[2], BadSeq)
        now[0] += 1000
        await store.put_many([(boxes[2], b"late")], 100, 1 << 20, None)
        assert await store.purge_expired(500) == 15 + 15 + 15 - 5  # all but the late one
        async with await psycopg.AsyncConnection.connect(pg_url) as conn:
            per = await (await conn.execute(
                "SELECT m.env_count, m.env_bytes, (SELECT count(*) FROM envelopes e WHERE "
                "e.mailbox = m.id), (SELECT COALESCE(sum(length(data)), 0) FROM envelopes e "
                "WHERE e.mailbox = m.id) FROM mailboxes m")).fetchall()
            real = await (await conn.execute(
                "SELECT (SELECT count(*) FROM mailboxes), count(*), "
                "COALESCE(sum(length(data)), 0) FROM envelopes")).fetchone()
        assert all(a == c and b == d for a, b, c, d in per)
        assert real is not None
        assert await store.stats() == {"mailboxes": real[0], "envelopes": real[1],
                                       "bytes": real[2]}
    finally:
        await store.close()


def test_a_relay_opening_waits_out_a_long_migration_then_keeps_its_short_wait(
        tmp_path: Path) -> None:
    """A second relay started while the first copies every envelope (version 3) waits for
    it, well past the 0.25 s an event-loop call waits, and opens the result; once open,
    a call on its loop waits only the short time for another writer. One that never gets
    the lock gives up with one line saying why."""
    import sqlite3
    import threading
    import time

    from comentor.sync.relay import store as relay_store
    from comentor.sync.relay import store_schema

    path = tmp_path / "relay.sqlite3"
    first = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    first.execute("PRAGMA journal_mode=WAL")
    for script in (store_schema._SCHEMA_V1, store_schema._SCHEMA_V2):
        first.executescript(script)
    first.execute("PRAGMA user_version = 2")
    first.execute("BEGIN IMMEDIATE")  # the first relay's long step holds the write lock
    release = threading.Timer(1.0, lambda: first.execute("COMMIT"))
    release.start()
    t = time.monotonic()
    store = RelayStore(tmp_path)  # version 2 → 3 after the lock is free
    waited = time.monotonic() - t
    release.join()
    assert waited >= 0.9 > relay_store.BUSY_WAIT
    assert store._db.execute("PRAGMA user_version").fetchone()[0] == store_schema.SCHEMA_VERSION
    assert store._db.execute("PRAGMA busy_timeout").fetchone()[0] == 250
    first.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            store._db.execute("BEGIN IMMEDIATE")
    finally:
        first.execute("ROLLBACK")
    store.close()
    first.execute("PRAGMA user_version = 2")  # as if a newer relay were yet to move it
    first.execute("BEGIN IMMEDIATE")
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(relay_store, "OPEN_WAIT", 0.5)
            with pytest.raises(RelayError, match="another process has held its database"):
                RelayStore(tmp_path)
    finally:
        first.execute("ROLLBACK")
    first.close()
