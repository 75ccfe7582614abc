"""The envelope format: sealing, strict opening, padding, addressing, and the stream rules."""

from __future__ import annotations

import json
from pathlib import Path

import msgpack
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nacl.bindings import crypto_aead_xchacha20poly1305_ietf_encrypt

from comentor.model import _devices as devices
from comentor.model import _entities as e
from comentor.model import testing
from comentor.model._identity import DeviceKeys
from comentor.model._journal import Journal
from comentor.model._store import ops_since
from comentor.model.testing import paired_journals
from comentor.sync.errors import OutdatedPeerError, ProtocolError
from comentor.sync.keys import derive_mailbox, device_tag, envelope_key, folder_tag
from comentor.sync.mailbox.envelope import (
    MAGIC,
    MAX_ENVELOPE,
    MIN_PADDED,
    Contents,
    open_envelope,
    padme,
    seal,
)
from comentor.sync.mailbox.stream import MAX_JUMP, Exchange

PK = bytes(range(32))
KEY = envelope_key(PK)
MBX, SECRET = derive_mailbox(PK)
REPLICA = "abcdefghijklmnop.0"
SIGN = DeviceKeys.generate(bytes(32)).sign


def test_round_trip_and_key_separation() -> None:
    c = Contents(REPLICA, 7, {REPLICA: 3}, {"qrstuvwxyzabcdef": 2}, ("qrstuvwxyzabcdef",), (b"x",))
    data = seal(KEY, MBX, "relay", c, SIGN)
    assert open_envelope(KEY, MBX, "relay", data) == c
    assert len(data) <= MAX_ENVELOPE
    assert KEY not in (SECRET, bytes.fromhex(MBX))
    assert len(device_tag(PK, "abcdefghijklmnop")) == 16
    assert device_tag(PK, "abcdefghijklmnop") != device_tag(bytes(32), "abcdefghijklmnop")
    assert len(folder_tag(PK, "abcdefghijklmnop")) == 20


def test_readdressed_envelope_is_rejected() -> None:
    data = seal(KEY, MBX, "relay", Contents(REPLICA, 1), SIGN)
    other_mbx, _ = derive_mailbox(bytes(32))
    with pytest.raises(ProtocolError, match="does not authenticate"):
        open_envelope(KEY, other_mbx, "relay", data)  # moved to another mailbox
    with pytest.raises(ProtocolError, match="does not authenticate"):
        open_envelope(KEY, MBX, "folder", data)  # moved from the relay to a folder
    with pytest.raises(ProtocolError, match="does not authenticate"):
        open_envelope(envelope_key(bytes(32)), MBX, "relay", data)  # a stranger's key


@pytest.mark.parametrize("cut", [0, 1, 4, 28, 100, -1])
def test_truncated_or_tampered_envelopes_raise_protocol_error(cut: int) -> None:
    data = seal(KEY, MBX, "relay", Contents(REPLICA, 1), SIGN)
    mangled = data[:cut] if cut >= 0 else data[:-1] + bytes([data[-1] ^ 0x80])
    with pytest.raises(ProtocolError):
        open_envelope(KEY, MBX, "relay", mangled)


def test_oversize_is_refused_both_ways() -> None:
    with pytest.raises(ProtocolError, match="exceeds"):
        open_envelope(KEY, MBX, "relay", MAGIC + bytes(MAX_ENVELOPE))
    with pytest.raises(ProtocolError, match="does not fit|exceeds"):
        seal(KEY, MBX, "relay", Contents(REPLICA, 1, ops=tuple([b"x" * 200_000] * 6)), SIGN)


def test_padding_hides_length() -> None:
    small = seal(KEY, MBX, "relay", Contents(REPLICA, 1, ops=(b"a",)), SIGN)
    bigger = seal(KEY, MBX, "relay", Contents(REPLICA, 1, ops=(b"a" * 300,)), SIGN)
    assert len(small) == len(bigger)  # both pad to the minimum
    sizes = {len(seal(KEY, MBX, "relay", Contents(REPLICA, 1, ops=(b"a" * n,)), SIGN))
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
    plain = len(packed).to_bytes(4, "big") + packed + bytes(64)  # a (wrong) signature
    plain += bytes(max(pad_to - len(plain), 0))
    ad = MAGIC + bytes([5]) + b"relay" + bytes.fromhex(MBX)
    return MAGIC + nonce + crypto_aead_xchacha20poly1305_ietf_encrypt(plain, ad, nonce, KEY)


GOOD = {"v": 2, "from": REPLICA, "seq": 1, "vec": {}, "dig": {}, "held": {}, "seen": {},
        "resend": [], "ops": []}


@pytest.mark.parametrize("change", [
    {"v": 3}, {"v": "2"}, {"dig": {REPLICA: 2**48}}, {"dig": {"x": 1}}, {"held": {"abc": [1, 2]}},
    {"held": {"a" * 16: [1]}}, {"held": {"a" * 16: [True, 1]}}, {"seq": 0}, {"seq": True}, {"seq": -1}, {"from": "ADA"}, {"vec": {"x": 1}},
    {"vec": {REPLICA: -1}}, {"seen": {"abc": 1}}, {"resend": ["nope"]}, {"ops": [b""]},
    {"ops": ["text"]}, {"extra": 1}, {"ops": [b"x" * 300_000]},
])
def test_strict_decoding_of_authentic_plaintext(change: dict[str, object]) -> None:
    assert open_envelope(KEY, MBX, "relay", _raw(GOOD)).seq == 1
    with pytest.raises(ProtocolError):
        open_envelope(KEY, MBX, "relay", _raw({**GOOD, **change}, pad_to=1 << 19))


def test_an_envelope_of_another_format_says_which_side_must_update() -> None:
    older = {k: v for k, v in GOOD.items() if k not in ("dig", "held")} | {"v": 1}
    with pytest.raises(OutdatedPeerError, match="older comentor.*update comentor on that device"):
        open_envelope(KEY, MBX, "relay", _raw(older))
    with pytest.raises(OutdatedPeerError, match="newer comentor.*update comentor on this device"):
        open_envelope(KEY, MBX, "relay", _raw({**GOOD, "v": 3, "extra": 1}))


def test_bad_padding_is_rejected() -> None:
    with pytest.raises(ProtocolError, match="padding"):
        open_envelope(KEY, MBX, "relay", _raw(GOOD, pad_to=MIN_PADDED + 1))
    packed = msgpack.packb(GOOD, use_bin_type=True)
    plain = len(packed).to_bytes(4, "big") + packed + bytes(64)
    plain += b"\x01" * (MIN_PADDED - len(plain))
    ad = MAGIC + bytes([5]) + b"relay" + bytes.fromhex(MBX)
    data = MAGIC + bytes(24) + crypto_aead_xchacha20poly1305_ietf_encrypt(plain, ad, bytes(24), KEY)
    with pytest.raises(ProtocolError, match="not zero"):
        open_envelope(KEY, MBX, "relay", data)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=2000))
def test_garbage_only_ever_raises_protocol_error(blob: bytes) -> None:
    for data in (blob, MAGIC + blob):
        with pytest.raises(ProtocolError):
            open_envelope(KEY, MBX, "relay", data)


def test_stream_replay_gap_and_forged_ops(tmp_path: Path) -> None:
    a, b = paired_journals(tmp_path, sync=False)
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
    from comentor.model._ops import encode_op

    c = Contents(a.replica, 50, {}, {}, (), (encode_op(forged),))
    assert eb.receive(seal(ea.key, ea.mailbox, "folder", c, a.keys.sign)) == "rejected"
    assert "forged" not in {g["text"] for g in b.rows("goals")}
    # an envelope claiming to come from an unpaired device never applies
    c = Contents("aaaaaaaaaaaaaaaa.0", 1, {}, {}, (), ())
    assert eb.receive(seal(ea.key, ea.mailbox, "folder", c, a.keys.sign)) == "rejected"
    assert any("not a paired device" in r for r in eb.report.rejected)


def test_a_device_paired_later_gets_everything_in_the_next_envelope(tmp_path: Path) -> None:
    """What was shipped before a device joined never reached it: the next envelope carries
    the whole journal at once, not only what is new (it would otherwise have to ask)."""
    a, b = paired_journals(tmp_path, sync=False)
    ea = Exchange(a, "folder")
    e.add_goal(a, "before")
    first = ea.prepare()
    assert first is not None
    ea.confirm(first)
    assert Exchange(b, "folder").receive(first.data) == "applied"
    e.add_goal(a, "between")  # shipped to b alone: optimistic, nothing asked again
    between = ea.prepare()
    assert between is not None and between.ops == 1
    ea.confirm(between)
    laptop = Journal.create(tmp_path / "laptop.db", "Ada", joining=True)
    testing.pair_in_process(a, laptop)
    el = Exchange(laptop, "folder")
    assert el.lacking() == {}  # nothing heard from Ada yet
    # an envelope left before the laptop existed: it says what Ada held, not all of it
    assert el.receive(between.data) == "applied"
    assert el.lacking()[a.device_id] > 0
    e.add_goal(a, "after")
    ea = Exchange(a, "folder")
    out = ea.prepare()
    assert out is not None
    ea.confirm(out)
    assert el.receive(out.data) == "applied"
    assert {g["text"] for g in laptop.rows("goals")} == {"before", "between", "after"}
    assert el.lacking() == {a.device_id: 0}
    e.add_goal(a, "later")  # once it was shipped to every reader, only what is new goes
    nxt = ea.prepare()
    assert nxt is not None and nxt.ops == 1


def _counters(ex: Exchange, other: str) -> tuple[int, int, tuple[dict[str, int], int], str]:
    return ex.out_seq(), ex.last_in(other), ex.peer(other), json.dumps(ex._resend())


def test_revoked_device_cannot_speak_for_another_or_move_counters(tmp_path: Path) -> None:
    """A revoked (stolen) device still holds the partnership key: it can seal envelopes
    that open, but not sign one as another device, and nothing it sends moves a counter."""
    a, b = paired_journals(tmp_path, sync=False)
    t = Journal.create(tmp_path / "t.db", "Tom", joining=True)
    testing.pair_in_process(a, t)
    old = a.partnership_key()
    devices.revoke_device(a, t.device_id)  # rotates a's key; b and t still hold the old one
    # what a sends under the old key during the transition: devices and key grants only
    ea = Exchange(a, "folder", key=old, tables=("devices", "key_grants"))
    eb, et = Exchange(b, "folder"), Exchange(t, "folder")
    out = ea.prepare()
    assert out is not None
    ea.confirm(out)
    assert eb.receive(out.data) == "applied"  # b learns of t and its revocation
    before = _counters(eb, a.device_id)
    top = 2**63 - 1
    forged = Contents(a.replica, top, {}, {b.device_id: top}, (), ())
    assert eb.receive(seal(et.key, et.mailbox, "folder", forged, t.keys.sign)) == "rejected"
    assert "not signed by that device" in eb.report.rejected[-1]
    own = Contents(t.replica, 5, {}, {b.device_id: top}, (), ())
    assert eb.receive(seal(et.key, et.mailbox, "folder", own, t.keys.sign)) == "rejected"
    assert "revoked" in eb.report.rejected[-1]
    assert _counters(eb, a.device_id) == before
    # b switched to the new key with its grant; the genuine stream carries on under it, out
    # of t's reach, and b's own numbers were not pushed anywhere
    assert b.partnership_key() == a.partnership_key() != old
    assert eb.prepare(force=True) is None  # nothing new is sealed under the old key
    ea, eb = Exchange(a, "folder"), Exchange(b, "folder")
    e.add_goal(a, "secret plan")
    out = ea.prepare()
    assert out is not None
    ea.confirm(out)
    with pytest.raises(ProtocolError):
        open_envelope(et.key, ea.mailbox, "folder", out.data)
    assert eb.receive(out.data) == "applied"
    assert "secret plan" in {g["text"] for g in b.rows("goals")}
    reply = eb.prepare(force=True)
    assert reply is not None and reply.seq == 1
    assert ea.receive(reply.data) == "applied"


def test_even_a_genuine_device_cannot_jump_counters_without_bound(tmp_path: Path) -> None:
    a, b = paired_journals(tmp_path, sync=False)
    ea, eb = Exchange(a, "folder"), Exchange(b, "folder")
    first = ea.prepare(force=True)
    assert first is not None
    ea.confirm(first)
    assert eb.receive(first.data) == "applied"
    before = _counters(eb, a.device_id)
    far = Contents(a.replica, 2 + MAX_JUMP, {}, {}, (), ())
    assert eb.receive(seal(ea.key, ea.mailbox, "folder", far, a.keys.sign)) == "rejected"
    assert "jumps more than" in eb.report.rejected[-1]
    assert _counters(eb, a.device_id) == before
    # a `seen` for b far beyond anything b ever sent is ignored; a small one (a journal
    # restored from a backup) moves b's counter past it
    wild = Contents(a.replica, 2, {}, {b.device_id: 2**63 - 1}, (), ())
    assert eb.receive(seal(ea.key, ea.mailbox, "folder", wild, a.keys.sign)) == "applied"
    assert eb.out_seq() == 0 and eb.peer(a.device_id)[1] == 0
    restored = Contents(a.replica, 3, {}, {b.device_id: 40}, (), ())
    assert eb.receive(seal(ea.key, ea.mailbox, "folder", restored, a.keys.sign)) == "applied"
    assert eb.out_seq() == 40


def test_rejected_envelope_moves_no_stream_counter(tmp_path: Path) -> None:
    a, b = paired_journals(tmp_path, sync=False)
    ea, eb = Exchange(a, "folder"), Exchange(b, "folder")
    e.add_goal(a, "g")
    op = ops_since(a.conn, {}, limit=1)[0]
    forged = op.__class__(op.replica, 999, op.hlc, "goals", "zzzzzzzzzzzzzzzz",
                          {"text": "forged"}, {}, op.sig)
    from comentor.model._ops import encode_op

    bad = Contents(a.replica, 7, {}, {b.device_id: 3}, (), (encode_op(forged),))
    assert eb.receive(seal(ea.key, ea.mailbox, "folder", bad, a.keys.sign)) == "rejected"
    assert _counters(eb, a.device_id) == (0, 0, ({}, 0), "[]")
    out = ea.prepare()
    assert out is not None and out.seq == 1
    assert eb.receive(out.data) == "applied"  # not taken for a replay of number 7
