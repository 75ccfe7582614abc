"""Property: replicas that exchange operations in any order, with duplicates and partitions,
end with identical readable tables, and no text is ever lost."""

from __future__ import annotations

import datetime as dt
import os
import random
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from comentor.model._journal import Journal
from comentor.model._projection import digest
from comentor.model._remote import apply_remote
from comentor.model._store import iter_stored_ops

from .helpers import paired, sync_all

N = 3
ROWS = [f"row{i}" for i in range(4)]


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
actions = st.lists(st.one_of(edit, edit, delete, deliver, deliver, tick), min_size=1, max_size=40)


def _open_copies(template: Path, work: Path) -> list[Journal]:
    out = []
    for i in range(N):
        shutil.copy(template / f"j{i}.db", work / f"j{i}.db")
        out.append(Journal.open(work / f"j{i}.db", now=Clock(skew_ms=i * 7)))
    return out


def _written_texts(j: Journal) -> list[tuple[str, str, str]]:
    """Every (row, stamp, value) written to goals.detail that this replica has applied."""
    return [(op.row, op.stamp, str(op.fields["detail"]))
            for op in iter_stored_ops(j.conn) if op.table == "goals" and "detail" in op.fields]


def _superseded(j: Journal) -> set[str]:
    return {str(s) for (s,) in j.conn.execute(
        "SELECT stamp FROM text_bases WHERE tbl = 'goals' AND field = 'detail'")}


@settings(max_examples=int(os.environ.get("COMENTOR_CONVERGENCE_EXAMPLES", "500")), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(script=actions)
def test_replicas_converge_and_keep_every_text(template: Path, script: list[tuple]) -> None:  # type: ignore[type-arg]
    with tempfile.TemporaryDirectory() as tmp:
        js = _open_copies(template, Path(tmp))
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
                else:
                    _, who, ms = step
                    js[who]._now.t += dt.timedelta(milliseconds=ms)  # type: ignore[attr-defined]
            sync_all(js)
            first = digest(js[0].conn)
            for j in js[1:]:
                assert digest(j.conn) == first
            for j in js:
                heads = {str(s): str(v) for s, v in j.conn.execute(
                    "SELECT stamp, value FROM text_heads WHERE tbl = 'goals' AND field = 'detail'")}
                gone = _superseded(j)
                for _row, stamp, value in _written_texts(j):
                    assert stamp in gone or heads.get(stamp) == value, "a text was lost"
        finally:
            for j in js:
                j.close()
