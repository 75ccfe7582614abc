"""Property: replicas that exchange operations in any order, with duplicates and partitions,
and that are restored from earlier snapshots of their own file (with or without the state
folder beside it), end with identical readable tables, and no text is ever lost.

A restore replaces a replica's journal file by an earlier snapshot of it. Without its state
folder (a new machine) the copy moves to a new epoch at its first write; with the state
folder restored too it cannot tell, writes under sequence numbers the replaced file already
used, and the fork heals through the exchanges (model/_forks.py). Edits the replaced file
never sent anywhere are gone with it, as with any restore; everything any journal holds is
checked.

The profile has no deadline (restores rebuild tables, and the machine is shared) and runs
500 examples unless COMENTOR_CONVERGENCE_EXAMPLES says otherwise; journals run with
`synchronous=OFF` here, since fsync is what this test would otherwise spend its time on
(measured on the shared two-core machine: about 30 s for 500 examples, a seventh of them
with a fork; 64 s for the same count before, without restores, nearly all of it fsync).
"""

from __future__ import annotations

import datetime as dt
import os
import random
import shutil
import sqlite3
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from comentor.model import _epoch as epoch
from comentor.model._journal import Journal
from comentor.model._ops import Operation
from comentor.model._projection import digest
from comentor.model._remote import apply_remote
from comentor.model._store import iter_stored_ops, row_to_op

from .helpers import paired, sync_all

N = 3
ROWS = [f"row{i}" for i in range(4)]

settings.register_profile(
    "convergence", deadline=None,
    max_examples=int(os.environ.get("COMENTOR_CONVERGENCE_EXAMPLES", "500")),
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


class Clock:
    def __init__(self, skew_ms: int) -> None:
        self.t = dt.datetime(2026, 1, 1, tzinfo=dt.UTC) + dt.timedelta(milliseconds=skew_ms)

    def __call__(self) -> dt.datetime:
        return self.t


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("conv")
    os.environ.setdefault("COMENTOR_STATE_DIR", str(base / "state"))
    js = paired(base, ("Ada", "Ben", "Ada2"), now=Clock(0))
    for j in js:
        j.close()
    return base


edit = st.tuples(
    st.just("edit"), st.integers(0, N - 1), st.sampled_from(ROWS),
    st.sampled_from(["text", "detail", "status"]), st.text(min_size=1, max_size=6),
)
delete = st.tuples(st.sampled_from(["delete", "undelete"]), st.integers(0, N - 1), st.sampled_from(ROWS))
deliver = st.tuples(st.just("deliver"), st.integers(0, N - 1), st.integers(0, N - 1),
                    st.integers(0, 2**32 - 1))
tick = st.tuples(st.just("tick"), st.integers(0, N - 1), st.integers(0, 3))
snapshot = st.tuples(st.just("snapshot"), st.integers(0, N - 1))
# a restore: which replica, which of its snapshots, with its state folder or not, how many
# edits the file it replaces made last and whether it sent everything to the next replica
# first (a machine that wrote, synced and died), and the edit made on the restored journal
restore = st.tuples(st.just("restore"), st.integers(0, N - 1), st.integers(0, 3), st.booleans(),
                    st.integers(0, 2), st.booleans(), st.sampled_from(ROWS),
                    st.text(min_size=1, max_size=6))
actions = st.lists(st.one_of(edit, edit, delete, deliver, deliver, tick, snapshot, restore),
                   min_size=1, max_size=40)


def _open(path: Path, clock: Clock) -> Journal:
    j = Journal.open(path, now=clock)
    j.conn.execute("PRAGMA synchronous=OFF")
    return j


def _open_copies(template: Path, work: Path) -> list[Journal]:
    """Fresh copies of the template, each with a state folder that matches its file (as on
    the machine that made it), so that a restore with its state folder cannot tell."""
    out = []
    for i in range(N):
        shutil.copy(template / f"j{i}.db", work / f"j{i}.db")
        j = _open(work / f"j{i}.db", Clock(skew_ms=i * 7))
        epoch._path(j.device_id).unlink(missing_ok=True)
        j.raise_mark()
        out.append(j)
    return out


class Snapshots:
    """Earlier copies of each replica's file, with its state folder (the epoch mark) then."""

    def __init__(self, work: Path) -> None:
        self.work = work
        self.taken: dict[int, list[tuple[Path, str | None]]] = {}

    def take(self, who: int, j: Journal) -> None:
        path = self.work / f"snap{who}-{len(self.taken.get(who, []))}.db"
        target = sqlite3.connect(path)
        j.conn.backup(target)  # a consistent copy, as a backup tool would take
        target.close()
        mark = epoch._path(j.device_id)
        state = mark.read_text(encoding="utf-8") if mark.exists() else None
        self.taken.setdefault(who, []).append((path, state))

    def restore(self, js: list[Journal], who: int, pick: int, with_state: bool) -> None:
        found = self.taken.get(who)
        if not found:
            return
        snap, state = found[pick % len(found)]
        j = js[who]
        path, clock, device = j.path, j._now, j.device_id
        j.close()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        shutil.copy(snap, path)
        mark = epoch._path(device)
        if with_state and state is not None:
            mark.write_text(state, encoding="utf-8")  # the state folder came back with it
        else:
            mark.unlink(missing_ok=True)  # a new machine: no state folder at all
        js[who] = _open(path, clock)  # type: ignore[arg-type]


def _versions(j: Journal) -> list[Operation]:
    """Every version of every operation this replica holds: applied, and kept forks."""
    forks = [row_to_op(r) for r in j.conn.execute(
        "SELECT replica, seq, hlc, tbl, row_id, body, sig FROM forks")]
    return [*iter_stored_ops(j.conn), *forks]


def _assert_no_text_lost(j: Journal) -> None:
    """Every goals.detail any version wrote is shown, or was seen by a later edit: through
    the operation itself, or through its re-issue (a version that lost a fork)."""
    heads = {str(s): str(v) for s, v in j.conn.execute(
        "SELECT stamp, value FROM text_heads WHERE tbl = 'goals' AND field = 'detail'")}
    gone = {str(s) for (s,) in j.conn.execute(
        "SELECT stamp FROM text_bases WHERE tbl = 'goals' AND field = 'detail'")}
    applied: dict[tuple[str, str], list[Operation]] = {}
    for op in iter_stored_ops(j.conn):
        if op.table == "goals" and "detail" in op.fields:
            applied.setdefault((op.row, str(op.fields["detail"])), []).append(op)
    for v in _versions(j):
        if v.table != "goals" or "detail" not in v.fields:
            continue
        value = str(v.fields["detail"])
        # the version itself, or its re-issue (same stamp, or a tick later: model/_forks.py)
        carriers = [o for o in applied.get((v.row, value), []) if o.hlc >= v.hlc]
        assert carriers, f"a text was lost: {value!r} is applied nowhere"
        assert any(o.stamp in gone or heads.get(o.stamp) == value for o in carriers), \
            f"a text was lost: {value!r}"


@settings(settings.get_profile("convergence"))
@given(script=actions)
def test_replicas_converge_and_keep_every_text(template: Path, script: list[tuple]) -> None:  # type: ignore[type-arg]
    with tempfile.TemporaryDirectory() as tmp:
        js = _open_copies(template, Path(tmp))
        snaps = Snapshots(Path(tmp))
        for who, j in enumerate(js):
            snaps.take(who, j)  # the file as it was first: always something to restore
        try:
            for step in script:
                kind = step[0]
                if kind == "edit":
                    _, who, row, field, value = step
                    if field == "status":
                        value = ["open", "met", "dropped"][len(value) % 3]
                    js[who].put("goals", row, **{field: value})
                elif kind in ("delete", "undelete"):
                    _, who, row = step
                    if js[who].get("goals", row, include_deleted=True) is not None:
                        getattr(js[who], kind)("goals", row)
                elif kind == "deliver":
                    _, src, dst, seed = step
                    if src == dst:
                        continue
                    ops = list(iter_stored_ops(js[src].conn))
                    rng = random.Random(seed)
                    # a random subset, shuffled, with duplicates: a lossy, reordering network
                    picked = [op for op in ops if rng.random() < 0.6]
                    picked += rng.sample(picked, k=len(picked) // 3) if picked else []
                    rng.shuffle(picked)
                    for i in range(0, len(picked), 5):
                        apply_remote(js[dst], picked[i:i + 5], allow_mass_delete=True)
                elif kind == "snapshot":
                    snaps.take(step[1], js[step[1]])
                elif kind == "restore":
                    _, who, pick, with_state, last, synced, row, value = step
                    event(f"restored {'with' if with_state else 'without'} its state folder")
                    for n in range(last):
                        js[who].put("goals", row, detail=f"last {n} {value}")
                    if synced:
                        apply_remote(js[(who + 1) % N], list(iter_stored_ops(js[who].conn)),
                                     allow_mass_delete=True)
                    snaps.restore(js, who, pick, with_state)
                    js[who].put("goals", row, detail=value)
                else:
                    _, who, ms = step
                    js[who]._now.t += dt.timedelta(milliseconds=ms)  # type: ignore[attr-defined]
            sync_all(js)
            forks = sum(j.conn.execute("SELECT count(*) FROM forks").fetchone()[0] for j in js)
            event("forks healed" if forks else "no fork")
            first = digest(js[0].conn)
            for j in js[1:]:
                assert digest(j.conn) == first
            for j in js:
                _assert_no_text_lost(j)
        finally:
            for j in js:
                j.close()
