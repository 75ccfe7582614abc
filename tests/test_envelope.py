"""The envelope format: sealing, strict opening, padding, addressing, and the stream rules."""

from __future__ import annotations

from pathlib import Path

import msgpack
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nacl.bindings import crypto_aead_xchacha20poly1305_ietf_encrypt

from comentor.model import devices
from comentor.model import entities as e
from comentor.model.journal import Journal
from comentor.model.store import ops_since
from comentor.sync.envelope import (
    MAX_ENVELOPE,
    MIN_PADDED,
    Contents,
    device_tag,
    envelope_key,
    folder_tag,
    open_envelope,
    padme,
    seal,
)
from comentor.sync.errors import ProtocolError
from comentor.sync.exchange import Exchange
from comentor.sync.relay_client import derive_mailbox

PK = bytes(range(32))
KEY = envelope_key(PK)
MBX, SECRET = derive_mailbox(PK)
REPLICA = "abcdefghijklmnop.0"


def pair(tmp: Path) -> tuple[Journal, Journal]:
    a = Journal.create(tmp / "a.db", "Ada")
    b = Journal.create(tmp / "b.db", "Ben", joining=True)
    devices.pair_in_process(a, b)
    return a, b


def test_round_trip_and_key_separation() -> None:
    c = Contents(REPLICA, 7, {REPLICA: 3}, {"qrstuvwxyzabcdef": 2}, ("qrstuvwxyzabcdef",), (b"x",))
    data = seal(KEY, MBX, "relay", c)
    assert open_envelope(KEY, MBX, "relay", data) == c
    assert len(data) <= MAX_ENVELOPE
    assert KEY not in (SECRET, bytes.fromhex(MBX))
    assert len(device_tag(PK, "abcdefghijklmnop")) == 16
    assert device_tag(PK, "abcdefghijklmnop") != device_tag(bytes(32), "abcdefghijklmnop")
    assert len(folder_tag(PK, "abcdefghijklmnop")) == 20


def test_readdressed_envelope_is_rejected() -> None:
    data = seal(KEY, MBX, "relay", Contents(REPLICA, 1))
    other_mbx, _ = derive_mailbox(bytes(32))
    with pytest.raises(ProtocolError, match="does not authenticate"):
        open_envelope(KEY, other_mbx, "relay", data)  # moved to another mailbox
    with pytest.raises(ProtocolError, match="does not authenticate"):
        open_envelope(KEY, MBX, "folder", data)  # moved from the relay to a folder
    with pytest.raises(ProtocolError, match="does not authenticate"):
        open_envelope(envelope_key(bytes(32)), MBX, "relay", data)  # a stranger's key


@pytest.mark.parametrize("cut", [0, 1, 4, 28, 100, -1])
def test_truncated_or_tampered_envelopes_raise_protocol_error(cut: int) -> None:
    data = seal(KEY, MBX, "relay", Contents(REPLICA, 1))
    mangled = data[:cut] if cut >= 0 else data[:-1] + bytes([data[-1] ^ 0x80])
    with pytest.raises(ProtocolError):
        open_envelope(KEY, MBX, "relay", mangled)


def test_oversize_is_refused_both_ways() -> None:
    with pytest.raises(ProtocolError, match="exceeds"):
        open_envelope(KEY, MBX, "relay", b"CME1" + bytes(MAX_ENVELOPE))
    with pytest.raises(ProtocolError, match="does not fit|exceeds"):
        seal(KEY, MBX, "relay", Contents(REPLICA, 1, ops=tuple([b"x" * 200_000] * 6)))


def test_padding_hides_length() -> None:
    small = seal(KEY, MBX, "relay", Contents(REPLICA, 1, ops=(b"a",)))
    bigger = seal(KEY, MBX, "relay", Contents(REPLICA, 1, ops=(b"a" * 300,)))
    assert len(small) == len(bigger)  # both pad to the minimum
    sizes = {len(seal(KEY, MBX, "relay", Contents(REPLICA, 1, ops=(b"a" * n,))))
             for n in range(5000, 5400)}
    assert len(sizes) <= 3


@given(st.integers(min_value=2, max_value=2**40))
def test_padme_bounds(n: int) -> None:
    p = padme(n)
    assert n <= p <= n * 1.12 + 1
    assert padme(p) == p


def _raw(body: object, pad_to: int = MIN_PADDED, nonce: bytes = bytes(24)) -> bytes:
    """An envelope sealed with the right key around arbitrary plaintext."""
    packed = msgpack.packb(body, use_bin_type=True)
    plain = len(packed).to_bytes(4, "big") + packed
    plain += bytes(max(pad_to - len(plain), 0))
    ad = b"CME1" + bytes([5]) + b"relay" + bytes.fromhex(MBX)
    return b"CME1" + nonce + crypto_aead_xchacha20poly1305_ietf_encrypt(plain, ad, nonce, KEY)


GOOD = {"v": 1, "from": REPLICA, "seq": 1, "vec": {}, "seen": {}, "resend": [], "ops": []}


@pytest.mark.parametrize("change", [
    {"v": 2}, {"seq": 0}, {"seq": True}, {"seq": -1}, {"from": "ADA"}, {"vec": {"x": 1}},
    {"vec": {REPLICA: -1}}, {"seen": {"abc": 1}}, {"resend": ["nope"]}, {"ops": [b""]},
    {"ops": ["text"]}, {"extra": 1}, {"ops": [b"x" * 300_000]},
])
def test_strict_decoding_of_authentic_plaintext(change: dict[str, object]) -> None:
    assert open_envelope(KEY, MBX, "relay", _raw(GOOD)).seq == 1
    with pytest.raises(ProtocolError):
        open_envelope(KEY, MBX, "relay", _raw({**GOOD, **change}, pad_to=1 << 19))


def test_bad_padding_is_rejected() -> None:
    with pytest.raises(ProtocolError, match="padding"):
        open_envelope(KEY, MBX, "relay", _raw(GOOD, pad_to=MIN_PADDED + 1))
    packed = msgpack.packb(GOOD, use_bin_type=True)
    plain = len(packed).to_bytes(4, "big") + packed
    plain += b"\x01" * (MIN_PADDED - len(plain))
    ad = b"CME1" + bytes([5]) + b"relay" + bytes.fromhex(MBX)
    data = b"CME1" + bytes(24) + crypto_aead_xchacha20poly1305_ietf_encrypt(plain, ad, bytes(24), KEY)
    with pytest.raises(ProtocolError, match="not zero"):
        open_envelope(KEY, MBX, "relay", data)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=2000))
def test_garbage_only_ever_raises_protocol_error(blob: bytes) -> None:
    for data in (blob, b"CME1" + blob):
        with pytest.raises(ProtocolError):
            open_envelope(KEY, MBX, "relay", data)


def test_stream_replay_gap_and_forged_ops(tmp_path: Path) -> None:
    a, b = pair(tmp_path)
    ea, eb = Exchange(a, "folder"), Exchange(b, "folder")
    sent = []
    for i in range(3):
        e.add_goal(a, f"g{i}")
        out = ea.prepare()
        assert out is not None
        ea.confirm(out)
        sent.append(out)
    assert [o.seq for o in sent] == [1, 2, 3]
    assert eb.receive(sent[0].data) == "applied"
    assert eb.receive(sent[0].data) == "replay"
    assert eb.receive(sent[2].data) == "applied"  # 2 was lost
    assert eb.report.gaps == [f"sync incomplete: 1 envelope(s) from Ada's "
                              f"{a.get('devices', a.device_id)['name']} missing, asking again"]
    assert eb.receive(sent[1].data) == "replay"  # too late: it will be sent again
    reply = eb.prepare()
    assert reply is not None and a.device_id in open_envelope(
        eb.key, eb.mailbox, "folder", reply.data).resend
    eb.confirm(reply)
    assert ea.receive(reply.data) == "applied"
    again = ea.prepare()
    assert again is not None and again.ops >= 1
    ea.confirm(again)
    assert eb.receive(again.data) == "applied"
    assert {g["text"] for g in b.rows("goals")} == {"g0", "g1", "g2"}
    # an authentic envelope whose operation is forged applies nothing at all
    op = ops_since(a.conn, {}, limit=1)[0]
    forged = op.__class__(op.replica, 999, op.hlc, "goals", "zzzzzzzzzzzzzzzz",
                          {"text": "forged"}, {}, op.sig)
    from comentor.model.ops import encode_op

    c = Contents(a.replica, 50, {}, {}, (), (encode_op(forged),))
    assert eb.receive(seal(ea.key, ea.mailbox, "folder", c)) == "rejected"
    assert "forged" not in {g["text"] for g in b.rows("goals")}
    # an envelope claiming to come from an unpaired device never applies
    c = Contents("aaaaaaaaaaaaaaaa.0", 1, {}, {}, (), ())
    assert eb.receive(seal(ea.key, ea.mailbox, "folder", c)) == "rejected"
    assert any("not a paired device" in r for r in eb.report.rejected)
