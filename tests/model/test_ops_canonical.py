"""An operation's wire form is canonical, and the decoder keeps what it packed to check so:
the bytes it gives for the log and the signature are those a fresh packing gives."""

from __future__ import annotations

import msgpack
import pytest

from comentor.model._identity import verify_signature
from comentor.model._journal import Journal
from comentor.model._ops import Operation, decode_op, encode_op
from comentor.model.errors import InvalidOperationError
from comentor.model.replication import ops_since


def _pack(obj: object) -> bytes:
    return msgpack.packb(obj, use_bin_type=True)


@pytest.fixture
def ops(journal: Journal) -> list[Operation]:
    journal.write([("goals", "g1", {"text": "Ship it", "detail": "x" * 300, "status": "open"}),
                   ("wins", "w1", {"text": "Gave the talk 🙂", "date": "2026-03-01"}),
                   ("commitments", "c1", {"text": "Send", "due": None})])
    found = ops_since(journal, {}, limit=1000)
    assert len(found) > 3
    return found


def _fresh(op: Operation) -> Operation:
    """The same operation built field by field: nothing kept from a decoder."""
    return Operation(op.replica, op.seq, op.hlc, op.table, op.row, dict(op.fields),
                     {k: list(v) for k, v in op.bases.items()}, op.sig)


def test_the_decoded_bytes_are_those_a_fresh_packing_gives(ops: list[Operation],
                                                           journal: Journal) -> None:
    for op in ops:
        wire = encode_op(op)
        got = decode_op(wire)
        assert got == op
        assert got.body() == _fresh(op).body() == _pack(
            [sorted(op.fields.items()), sorted(op.bases.items())])
        assert got.signed_bytes() == _fresh(op).signed_bytes() == b"comentor-op-v1" + _pack(
            [1, op.replica, op.seq, op.hlc, op.table, op.row]) + got.body()
        assert encode_op(got) == wire
    key = journal.keys.sign_public
    assert all(verify_signature(key, decode_op(encode_op(op)).signed_bytes(), op.sig)
               for op in ops if op.device == journal.device_id)


def test_forms_that_are_not_canonical_are_refused(ops: list[Operation]) -> None:
    op = next(o for o in ops if len(o.fields) > 1)
    pairs = sorted(op.fields.items())
    bases = sorted(op.bases.items())
    wide_seq = (b"\x98" + _pack(op.replica) + b"\xcf" + op.seq.to_bytes(8, "big")
                + b"".join(_pack(x) for x in (op.hlc, op.table, op.row, pairs, bases, op.sig)))
    unsorted = _pack([op.replica, op.seq, op.hlc, op.table, op.row, pairs[::-1], bases, op.sig])
    assert decode_op(_pack([op.replica, op.seq, op.hlc, op.table, op.row, pairs, bases,
                            op.sig])) == op  # the canonical form, built the same way
    assert msgpack.unpackb(wide_seq) == msgpack.unpackb(encode_op(op))  # same values
    for data in (wide_seq, unsorted):
        with pytest.raises(InvalidOperationError, match="not in canonical form"):
            decode_op(data)


def test_an_operation_built_in_place_packs_as_before() -> None:
    op = Operation("abcdefghijklmnop.1", 7, 123456, "goals", "g1", {"text": "x"}, {}, b"s" * 64)
    assert op.signed_bytes() == b"comentor-op-v1" + _pack(
        [1, "abcdefghijklmnop.1", 7, 123456, "goals", "g1"]) + _pack([[("text", "x")], []])
