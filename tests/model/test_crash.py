"""Kill a process that is applying a large batch at 50 random moments: after each, the
database is intact, the projection equals a rebuild from the ops, and no cursor is ahead
of the data."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from comentor.model import _devices as devices
from comentor.model._journal import Journal
from comentor.model._projection import digest, rebuild
from comentor.model._store import version_vector

CHILD = Path(__file__).with_name("crash_child.py")
KILLS = int(os.environ.get("COMENTOR_CRASH_KILLS", "50"))


def _make_source(path: Path) -> Journal:
    src = Journal.create(path, "Ben")
    rng = random.Random(1)
    goals = [f"g{i:05d}" for i in range(300)]
    changes = []
    for i in range(6000):
        row = rng.choice(goals)
        if i % 10 == 9:
            changes.append(("goals", row, {"deleted": rng.random() < 0.5}))
        else:
            changes.append(("goals", row, {"text": f"goal {i}", "detail": f"detail {i} " * 5,
                                           "status": rng.choice(["open", "met"])}))
        if len(changes) == 500:
            src.write(changes)  # type: ignore[arg-type]
            changes = []
    if changes:
        src.write(changes)  # type: ignore[arg-type]
    return src


def _check(target: Path) -> None:
    conn = sqlite3.connect(target)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        live = digest(conn)
        mem = sqlite3.connect(":memory:", isolation_level=None)
        conn.backup(mem)
        mem.execute("BEGIN")
        rebuild(mem)
        mem.execute("COMMIT")
        assert digest(mem) == live, "projection differs from a rebuild from the ops table"
        have = version_vector(conn)
        row = conn.execute(
            "SELECT value FROM sync_cursors WHERE peer = 'source' AND channel = 'vector'"
        ).fetchone()
        if row is not None:
            for replica, seq in json.loads(row[0]).items():
                assert have.get(replica, 0) >= seq, "a cursor is ahead of the data"
    finally:
        conn.close()


@pytest.mark.slow
def test_sigkill_during_apply_leaves_a_consistent_journal(tmp_path: Path) -> None:
    src = _make_source(tmp_path / "source.db")
    tgt = Journal.create(tmp_path / "pristine.db", "Ada", joining=True)
    devices.trust_device(tgt, devices.my_device_info(src))
    assert tgt.conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    src.close()
    tgt.close()
    target = tmp_path / "target.db"
    shutil.copy(tmp_path / "pristine.db", target)
    env = dict(os.environ)
    cmd = [sys.executable, str(CHILD), str(tmp_path / "source.db"), str(target)]
    started = time.perf_counter()
    subprocess.run(cmd, check=True, env=env)
    full = time.perf_counter() - started
    rng = random.Random(42)
    kills = 0
    for _ in range(KILLS * 2):
        if kills >= KILLS:
            break
        for suffix in ("", "-wal", "-shm"):
            Path(str(target) + suffix).unlink(missing_ok=True)
        shutil.copy(tmp_path / "pristine.db", target)
        proc = subprocess.Popen(cmd, env=env)
        time.sleep(rng.uniform(0.15, full * 0.95))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        proc.wait()
        _check(target)
        # the next sync resumes and completes from whatever was committed
        if kills % 10 == 0:
            subprocess.run(cmd, check=True, env=env)
            _check(target)
    assert kills >= KILLS
