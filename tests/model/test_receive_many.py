"""Several received batches in one transaction (model/_receive_many.py): the same journal as
one transaction per batch, and a batch that fails changes nothing while the ones before it
land, cursors included."""

from __future__ import annotations

from pathlib import Path

import pytest

from comentor.model._ops import Operation
from comentor.model._projection import digest
from comentor.model._receive_many import ReceivedBatch, apply_remote_many
from comentor.model._remote import apply_remote
from comentor.model._store import iter_stored_ops
from comentor.model.errors import UntrustedOperationError

from .helpers import paired


@pytest.fixture
def journals(tmp_path: Path):  # type: ignore[no-untyped-def]
    js = paired(tmp_path, ("Ada", "Ben", "Cy"))
    ada = js[0]
    for i in range(30):
        row = ada.put("goals", None, text=f"goal {i}", detail=f"why {i}")
        if i % 3 == 0:
            ada.put("goals", row, detail=f"why {i}, said again")
        if i % 5 == 0:
            ada.delete("goals", row)
    yield js
    for j in js:
        j.close()


def _ada_ops(journals):  # type: ignore[no-untyped-def]
    ada = journals[0]
    return [op for op in iter_stored_ops(ada.conn) if op.replica == ada.replica]


def _goals(j):  # type: ignore[no-untyped-def]
    """What Ada's operations made on a journal (each journal also holds its own records)."""
    d = digest(j.conn)
    return d["goals"], [h for h in d["text_heads"] if h[0] == "goals"]


def test_batches_in_one_transaction_give_the_same_journal(journals) -> None:  # type: ignore[no-untyped-def]
    _, ben, cy = journals
    ops = _ada_ops(journals)
    parts = [ops[i:i + 7] for i in range(0, len(ops), 7)]
    for n, part in enumerate(parts):
        apply_remote(ben, part, cursors=[("ada", "lan", f"c{n}")])
    results, error = apply_remote_many(
        cy, [ReceivedBatch(part, [("ada", "lan", f"c{n}")]) for n, part in enumerate(parts)])
    assert error is None
    assert [r.applied for r in results] == [len(p) for p in parts]
    assert _goals(ben) == _goals(cy)
    assert ben.cursor("ada", "lan") == cy.cursor("ada", "lan") == f"c{len(parts) - 1}"


def test_a_failing_batch_lands_nothing_and_the_ones_before_it_land(journals) -> None:  # type: ignore[no-untyped-def]
    _, ben, _ = journals
    ops = _ada_ops(journals)
    o = ops[10]
    forged = Operation(o.replica, o.seq, o.hlc, o.table, o.row, o.fields, o.bases,
                       bytes(64))  # not Ada's signature
    first, bad, after = ops[:10], [forged, *ops[11:15]], ops[15:]
    results, error = apply_remote_many(ben, [
        ReceivedBatch(first, [("ada", "lan", "first")]),
        ReceivedBatch(bad, [("ada", "lan", "bad")]),
        ReceivedBatch(after, [("ada", "lan", "after")]),
    ])
    assert isinstance(error, UntrustedOperationError)
    assert [r.applied for r in results] == [10]
    held = {(op.replica, op.seq) for op in iter_stored_ops(ben.conn)}
    assert all((op.replica, op.seq) in held for op in first)
    assert not any((op.replica, op.seq) in held for op in bad + after)
    assert ben.cursor("ada", "lan") == "first"
    assert not ben.conn.in_transaction
    # and what was refused applies later, as a peer sends it again
    results, error = apply_remote_many(ben, [ReceivedBatch(ops[10:15]), ReceivedBatch(ops[10:])])
    assert error is None and results[0].applied == 5
    assert results[1].duplicates == 5 and results[1].applied == len(ops) - 15
