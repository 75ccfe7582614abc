"""Pairing protocol: codes, SPAKE2 + key confirmation over in-memory channels, strict decoding,
and the journal rules of the flow (in process, over 127.0.0.1 and a real relay)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgpack
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from comentor.model._journal import Journal
from comentor.model.errors import DemoJournalError
from comentor.model.replication import PeerDevice
from comentor.sync import parse_peer
from comentor.sync.errors import OptionError, PairingError, ProtocolError
from comentor.sync.keys import nameplate_tag
from comentor.sync.pairing import flow as pairing_flow
from comentor.sync.pairing.codes import WORDS, PairingCode, make_code, parse_code
from comentor.sync.pairing.messages import (
    MAX_PAIR_MESSAGE,
    PairingInfo,
    decode_info,
    decode_pair_message,
)
from comentor.sync.pairing.protocol import WRONG_CODE, run_inviter, run_joiner


@pytest.fixture(autouse=True)
def _loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Zeroconf, if anything starts it, stays on loopback."""
    monkeypatch.setenv("COMENTOR_LAN_INTERFACES", "127.0.0.1")


# ---------------------------------------------------------------- codes
def test_wordlist_is_large_distinct_and_sayable() -> None:
    assert len(WORDS) >= 256
    assert len(set(WORDS)) == len(WORDS)
    assert all(w.isascii() and w.isalpha() and w.islower() and 3 <= len(w) <= 8 for w in WORDS)


def test_make_and_parse_round_trip() -> None:
    for _ in range(50):
        code = make_code()
        assert 1 <= code.nameplate <= 999 and len(code.words) == 3
        assert parse_code(str(code)) == code
    assert str(parse_code("  7 Orbit-CANDLE  harbor ")) == "7-orbit-candle-harbor"
    assert parse_code("007-orbit-candle-harbor").password == b"7-orbit-candle-harbor"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "a number and 3 words"),
        ("7-orbit-candle", "a number and 3 words"),
        ("7-orbit-candle-harbor-river", "a number and 3 words"),
        ("0-orbit-candle-harbor", "from 1 to 999999"),
        ("1000000-orbit-candle-harbor", "from 1 to 999999"),
        ("x-orbit-candle-harbor", "from 1 to 999999"),
        ("7-orbit-candle-harbr", "'harbr' is not a word"),
        ("7-orbit-cändle-harbor", "not a word"),
        ("7-" + "a" * 200, "not a pairing code"),
    ],
)
def test_bad_codes_are_rejected_clearly(text: str, message: str) -> None:
    with pytest.raises(PairingError, match=message):
        parse_code(text)


def test_nameplate_tags_name_nothing_and_differ_by_purpose() -> None:
    lan, relay = nameplate_tag(7, "lan"), nameplate_tag(7, "relay")
    assert lan != relay and lan != nameplate_tag(8, "lan")
    assert re.fullmatch(r"[0-9a-f]{24}", lan) and lan == nameplate_tag(7, "lan")


# ---------------------------------------------------------------- the protocol in memory
class Pipe:
    """One end of an in-memory duplex channel; ``tamper`` may rewrite outgoing messages."""

    def __init__(self, inbox: asyncio.Queue[bytes], outbox: asyncio.Queue[bytes]) -> None:
        self.inbox, self.outbox = inbox, outbox
        self.tamper: Callable[[bytes], bytes] = lambda b: b
        self.sent: list[bytes] = []

    async def send(self, data: bytes) -> None:
        self.sent.append(data)
        await self.outbox.put(self.tamper(data))

    async def recv(self) -> bytes:
        return await self.inbox.get()


def pipes() -> tuple[Pipe, Pipe]:
    a: asyncio.Queue[bytes] = asyncio.Queue()
    b: asyncio.Queue[bytes] = asyncio.Queue()
    return Pipe(a, b), Pipe(b, a)


def info(name: str, person: str, device: str, key: bytes | None = None,
         mode: str = "partner") -> PairingInfo:
    return PairingInfo(mode, PeerDevice(device, bytes([1]) * 32, bytes([2]) * 32, person, name,
                                        "laptop"), key)


INV = info("Ada", "a" * 16, "b" * 16, key=bytes(range(32)))
JOI = info("Bo", "c" * 16, "d" * 16)


async def run_pair(
    code_i: PairingCode, code_j: PairingCode, tamper_i: Callable[[bytes], bytes] | None = None,
    accept_raises: Exception | None = None,
) -> tuple[Any, Any, list[str]]:
    pi, pj = pipes()
    if tamper_i:
        pi.tamper = tamper_i
    calls: list[str] = []

    def accept(peer: PairingInfo) -> None:
        calls.append("accept")
        if accept_raises:
            raise accept_raises

    def prepare(peer: PairingInfo) -> PairingInfo:
        calls.append("prepare")
        return JOI

    def commit(peer: PairingInfo) -> None:
        calls.append("commit")

    results = await asyncio.gather(
        run_inviter(pi, code_i, INV, accept, timeout=1),
        run_joiner(pj, code_j, prepare, commit, timeout=1),
        return_exceptions=True,
    )
    return results[0], results[1], calls


async def test_same_code_pairs_and_exchanges_records() -> None:
    code = make_code()
    got_joiner, got_inviter, calls = await run_pair(code, parse_code(str(code)))
    assert got_joiner == JOI
    assert got_inviter == INV  # with the partnership key
    assert calls == ["prepare", "accept", "commit"]


async def test_wrong_code_fails_on_both_sides_before_anything_secret() -> None:
    code = parse_code("5-orbit-candle-harbor")
    sent: list[bytes] = []

    def spy(b: bytes) -> bytes:
        sent.append(b)
        return b

    a, b, calls = await run_pair(code, parse_code("5-orbit-candle-hammer"), tamper_i=spy)
    for res in (a, b):
        assert isinstance(res, PairingError) and str(res) == WRONG_CODE
    assert calls == []  # nothing prepared, accepted or committed
    kinds = [msgpack.unpackb(m)["t"] for m in sent]
    assert kinds == ["pake", "confirm"]  # the inviter sent no sealed box, no key


async def test_wrong_nameplate_is_a_wrong_code_too() -> None:
    a, b, calls = await run_pair(parse_code("5-orbit-candle-harbor"),
                                 parse_code("6-orbit-candle-harbor"))
    assert isinstance(a, PairingError) and isinstance(b, PairingError) and calls == []


def _rewrite(kind: str, field: str, flip: Callable[[bytes], bytes]) -> Callable[[bytes], bytes]:
    def tamper(data: bytes) -> bytes:
        obj = msgpack.unpackb(data)
        if obj["t"] == kind:
            obj[field] = flip(obj[field])
        return bytes(msgpack.packb(obj, use_bin_type=True))
    return tamper


def _flip_last(b: bytes) -> bytes:
    return b[:-1] + bytes([b[-1] ^ 1])


async def test_tampered_key_confirmation_is_rejected() -> None:
    code = make_code()
    a, b, calls = await run_pair(code, code, tamper_i=_rewrite("confirm", "mac", _flip_last))
    assert isinstance(b, PairingError) and str(b) == WRONG_CODE
    assert isinstance(a, PairingError)  # the joiner stopped: the inviter learns nothing more
    assert "commit" not in calls and "accept" not in calls


async def test_tampered_spake_message_is_rejected() -> None:
    code = make_code()
    a, b, calls = await run_pair(code, code, tamper_i=_rewrite("pake", "m", _flip_last))
    assert isinstance(a, PairingError) and isinstance(b, PairingError)
    assert calls == []


async def test_tampered_sealed_box_is_rejected() -> None:
    code = make_code()
    a, b, calls = await run_pair(code, code, tamper_i=_rewrite("box", "c", _flip_last))
    assert isinstance(b, ProtocolError) and "tampered" in str(b)
    assert calls == []


async def test_refusal_reaches_the_joiner_and_nothing_is_committed() -> None:
    code = make_code()
    a, b, calls = await run_pair(code, code, accept_raises=PairingError("not today",
                                                                         told="not today"))
    assert isinstance(a, PairingError)
    assert isinstance(b, PairingError) and "refused to pair: not today" in str(b)
    assert calls == ["prepare", "accept"]


async def test_a_refusal_says_nothing_of_this_side_but_what_it_words_for_the_other() -> None:
    """A refusal's own message may name this journal's people or files: the other side
    hears only the sentence made for it, or a general one."""
    code = make_code()
    _a, b, calls = await run_pair(code, code, accept_raises=PairingError(
        "journal /home/ada/journal.db is busy: Ada's partner Bo is syncing"))
    assert isinstance(b, PairingError) and "could not accept this pairing" in str(b)
    assert "Bo" not in str(b) and "/home" not in str(b)
    assert calls == ["prepare", "accept"]  # refused there: nothing committed


async def test_silent_peer_times_out_clearly() -> None:
    pi, _ = pipes()
    with pytest.raises(PairingError, match="did not answer within 0.2 s"):
        await run_inviter(pi, make_code(), INV, lambda p: None, timeout=0.2)


# ---------------------------------------------------------------- strict decoding
def test_decoder_accepts_only_the_protocol() -> None:
    good = msgpack.packb({"v": 1, "t": "pake", "m": b"x" * 33}, use_bin_type=True)
    assert decode_pair_message(good) == ("pake", b"x" * 33)
    for bad in [
        {"v": 1, "t": "pake", "m": b"x" * 32},
        {"v": 1, "t": "pake", "m": "x" * 33},
        {"v": 1, "t": "pake", "m": b"x" * 33, "extra": 1},
        {"v": 1, "t": "nope"},
        [1, 2],
    ]:
        with pytest.raises(ProtocolError):
            decode_pair_message(msgpack.packb(bad, use_bin_type=True))
    with pytest.raises(PairingError, match="another pairing protocol version"):
        decode_pair_message(msgpack.packb({"v": 2, "t": "pake"}))
    with pytest.raises(ProtocolError):
        decode_pair_message(b"\x00" * (MAX_PAIR_MESSAGE + 1))
    ok = INV.to_wire()
    assert decode_info(ok) == INV
    for key, value in [("person_name", ""), ("person_name", "a\nb"), ("device", "B" * 16),
                       ("sign_pk", b"1" * 31), ("mode", "x"), ("pk", b"1" * 33)]:
        with pytest.raises(ProtocolError):
            decode_info({**ok, key: value})


values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1) | st.text(max_size=40) | st.binary(max_size=80),
    lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=8), c, max_size=8),
    max_leaves=20,
)


near_valid = st.fixed_dictionaries(
    {"v": st.sampled_from([1, 1, 2, "1"]), "t": st.sampled_from(["pake", "confirm", "box", "x"])},
    optional={"m": st.binary(min_size=30, max_size=36) | values, "mac": st.binary(max_size=40),
              "c": st.binary(max_size=60) | values, "zz": values},
)
packed = (values | near_valid).map(lambda v: bytes(msgpack.packb(v, use_bin_type=True)))


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200) | packed)
def test_fuzz_message_decoder_raises_only_protocol_errors(data: bytes) -> None:
    try:
        decode_pair_message(data)
    except (PairingError, ProtocolError):
        pass


@settings(max_examples=150, deadline=None)
@given(st.fixed_dictionaries(
    {k: values for k in ("t", "mode", "device", "sign_pk", "box_pk", "person")},
    optional={"person_name": values, "device_name": values, "pk": values, "zz": values},
))
def test_fuzz_info_decoder_raises_only_protocol_errors(obj: dict[str, Any]) -> None:
    try:
        decode_info(obj)
    except (PairingError, ProtocolError):
        pass


# ---------------------------------------------------------------- the flow with journals
async def _pair(
    inviter: Journal, joiner_path: Path, existing: Journal | None, *, name: str | None = "Bo",
    device: bool = False, code_for_joiner: Callable[[PairingCode], PairingCode] = lambda c: c,
) -> tuple[Any, Any]:
    """Run invite and join in one loop over 127.0.0.1."""
    code = make_code()
    ready: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    def on_code(c: PairingCode, where: str) -> None:
        ready.set_result(int(where.split()[2]))

    opts = pairing_flow.InviteOptions(timeout=5, device=device, host="127.0.0.1",
                                      interfaces=["127.0.0.1"], step_timeout=3)
    inv = asyncio.create_task(pairing_flow.invite(inviter, opts, on_code, code=code))
    port = await asyncio.wait_for(asyncio.shield(ready), 10)
    jopts = pairing_flow.JoinOptions(device=device, peer=("127.0.0.1", port), timeout=3)
    res = await asyncio.gather(
        pairing_flow.join(joiner_path, existing, code_for_joiner(code), name, jopts),
        inv, return_exceptions=True,
    )
    return res[1], res[0]


def _device_ids(j: Journal) -> set[str]:
    return {d["id"] for d in j.rows("devices")}


async def test_flow_pairs_two_journals(tmp_path: Path, journal: Journal) -> None:
    inv, joined = await _pair(journal, tmp_path / "b.db", None)
    j2, result = joined
    try:
        assert inv.safety_number == result.safety_number
        assert _device_ids(journal) == _device_ids(j2) == {journal.device_id, j2.device_id}
        assert j2.partnership_key() == journal.partnership_key()
        assert journal.partner() == j2.me and j2.partner() == journal.me
    finally:
        j2.close()


async def test_flow_wrong_code_writes_nothing(tmp_path: Path, journal: Journal) -> None:
    other = lambda c: parse_code(f"{c.nameplate}-" + "-".join(  # noqa: E731
        WORDS[(WORDS.index(w) + 1) % len(WORDS)] for w in c.words))
    before = journal.conn.execute("SELECT count(*) FROM ops").fetchone()[0]
    inv, joined = await _pair(journal, tmp_path / "b.db", None, code_for_joiner=other)
    assert str(inv) == WRONG_CODE and str(joined) == WRONG_CODE
    assert not (tmp_path / "b.db").exists()
    assert journal.conn.execute("SELECT count(*) FROM ops").fetchone()[0] == before


async def test_flow_refuses_a_third_person(tmp_path: Path, journal: Journal) -> None:
    _, (j2, _) = await _pair(journal, tmp_path / "b.db", None)
    j2.close()
    inv, joined = await _pair(journal, tmp_path / "c.db", None, name="Cy")
    assert isinstance(inv, PairingError) and "already has a partner (Bo)" in str(inv)
    # the stranger is told, from its side, that much and never whose partnership it is
    assert isinstance(joined, PairingError)
    assert "the other journal already has a partner" in str(joined) and "Bo" not in str(joined)
    assert not (tmp_path / "c.db").exists()
    assert len(_device_ids(journal)) == 2


async def test_flow_mode_mismatch_is_refused(tmp_path: Path, journal: Journal) -> None:
    code = make_code()
    ready: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    opts = pairing_flow.InviteOptions(timeout=5, device=True, host="127.0.0.1",
                                      interfaces=["127.0.0.1"], step_timeout=3)
    inv = asyncio.create_task(pairing_flow.invite(
        journal, opts, lambda c, w: ready.set_result(int(w.split()[2])), code=code))
    port = await ready
    jopts = pairing_flow.JoinOptions(peer=("127.0.0.1", port), timeout=3)
    res = await asyncio.gather(pairing_flow.join(tmp_path / "b.db", None, code, "Bo", jopts),
                               inv, return_exceptions=True)
    joined, invited = res
    assert isinstance(joined, PairingError) and joined.field("option") == "device"
    # the inviter hears the joiner's refusal, worded from the inviter's side: it invited to
    # add a device, and the joiner pairs a partner
    assert isinstance(invited, PairingError) and "choose the same" in str(invited)
    assert "the other side is pairing a partner" in str(invited)
    assert not (tmp_path / "b.db").exists()


async def test_flow_refuses_demo_journals(demo_path: Path, tmp_path: Path) -> None:
    demo = Journal.open(demo_path)
    try:
        with pytest.raises(DemoJournalError, match="demo journal"):
            await pairing_flow.invite(demo, pairing_flow.InviteOptions(), lambda c, w: None)
        with pytest.raises(DemoJournalError, match="demo journal"):
            await pairing_flow.join(demo_path, demo, make_code(), "X",
                                    pairing_flow.JoinOptions(peer=("127.0.0.1", 9)))
    finally:
        demo.close()


async def test_flow_through_a_real_relay(tmp_path: Path, journal: Journal) -> None:
    from comentor.sync.relay.server import RelayServer

    server = RelayServer(tmp_path / "relay")
    port = await server.start("127.0.0.1", 0)
    url = f"ws://127.0.0.1:{port}"
    try:
        code = make_code()
        opened = asyncio.Event()
        inv = asyncio.create_task(pairing_flow.invite(
            journal, pairing_flow.InviteOptions(timeout=5, relay=url, step_timeout=3),
            lambda c, w: opened.set(), code=code))
        await asyncio.wait_for(opened.wait(), 5)
        j2, result = await pairing_flow.join(
            tmp_path / "b.db", None, code, "Bo", pairing_flow.JoinOptions(relay=url, timeout=3))
        inviter_result = await inv
        assert inviter_result.safety_number == result.safety_number
        assert _device_ids(journal) == _device_ids(j2)
        j2.close()
        # The code was single use: the rendezvous is closed.
        with pytest.raises(PairingError, match="no pairing is open"):
            await pairing_flow.join(tmp_path / "c.db", None, code, "Cy",
                                    pairing_flow.JoinOptions(relay=url, timeout=3))
    finally:
        await server.stop()


def test_parse_peer() -> None:
    assert parse_peer("10.0.0.2:4000") == ("10.0.0.2", 4000)
    assert parse_peer("[::1]:4000") == ("::1", 4000)
    for bad in ("10.0.0.2", ":4000", "h:0", "h:99999", "h:x"):
        with pytest.raises(OptionError, match="HOST:PORT") as info:
            parse_peer(bad)
        assert info.value.field("option") == "peer"


@pytest.mark.parametrize("name", ["Ada\u202eevil", "Ada\u200fx", "Ada\u0085", "Ada\x1b[2J"])
def test_names_with_control_or_bidi_characters_are_refused(name: str) -> None:
    from comentor.sync.errors import ProtocolError as PE
    from comentor.sync.pairing import messages as p

    with pytest.raises(PE, match="control characters"):
        p._str({"person_name": name}, "person_name", 1, 80)
    assert p._str({"person_name": "Ada Lovelace"}, "person_name", 1, 80) == "Ada Lovelace"
