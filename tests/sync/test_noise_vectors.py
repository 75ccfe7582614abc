"""Our Noise implementation against the published cacophony vectors, plus its refusals.

Every vector in the file is replayed byte for byte: handshake ciphertexts, payloads, the
handshake hash, and the transport messages that follow (which alternate initiator ->
responder, responder -> initiator, continuing the handshake's alternation).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path
from typing import Any

import pytest

from comentor.sync.errors import HandshakeError, ProtocolError
from comentor.sync.wire.noise import (
    MAX_NONCE,
    CipherState,
    HandshakeState,
    NoiseKK,
    TransportCipher,
    dh,
    hmac_blake2b,
    public_key,
)

VECTORS: list[dict[str, Any]] = json.loads(
    (Path(__file__).parents[1] / "data" / "noise_cacophony_selected.json").read_text()
)["vectors"]


def _opt(vector: dict[str, Any], key: str) -> bytes | None:
    return bytes.fromhex(vector[key]) if key in vector else None


def _make(vector: dict[str, Any], side: str) -> HandshakeState:
    if vector["protocol_name"] == "Noise_KK_25519_ChaChaPoly_BLAKE2b":
        return NoiseKK(
            initiator=side == "init",
            static_private=bytes.fromhex(vector[f"{side}_static"]),
            remote_static_public=bytes.fromhex(vector[f"{side}_remote_static"]),
            prologue=bytes.fromhex(vector[f"{side}_prologue"]),
            ephemeral_private=bytes.fromhex(vector[f"{side}_ephemeral"]),
        )
    return HandshakeState(
        vector["protocol_name"],
        initiator=side == "init",
        prologue=bytes.fromhex(vector[f"{side}_prologue"]),
        s=_opt(vector, f"{side}_static"),
        e=_opt(vector, f"{side}_ephemeral"),
        rs=_opt(vector, f"{side}_remote_static"),
        psks=[bytes.fromhex(p) for p in vector.get(f"{side}_psks", [])],
    )


def test_vector_file_has_the_expected_protocols() -> None:
    names = {v["protocol_name"] for v in VECTORS}
    assert "Noise_KK_25519_ChaChaPoly_BLAKE2b" in names
    assert len(VECTORS) == 5


@pytest.mark.parametrize("vector", VECTORS, ids=[v["protocol_name"] for v in VECTORS])
def test_vector(vector: dict[str, Any]) -> None:
    init, resp = _make(vector, "init"), _make(vector, "resp")
    ciphers: dict[str, TransportCipher] = {}
    transport_checked = 0
    for index, message in enumerate(vector["messages"]):
        payload = bytes.fromhex(message["payload"])
        expected = bytes.fromhex(message["ciphertext"])
        from_init = index % 2 == 0
        if not init.handshake_complete:
            writer, reader = (init, resp) if from_init else (resp, init)
            assert writer.write_message(payload) == expected
            assert reader.read_message(expected) == payload
            if init.handshake_complete:
                assert resp.handshake_complete
                assert init.handshake_hash.hex() == vector["handshake_hash"]
                assert resp.handshake_hash.hex() == vector["handshake_hash"]
                ciphers["i_send"], ciphers["i_recv"] = init.split()
                ciphers["r_send"], ciphers["r_recv"] = resp.split()
        else:
            send, recv = (
                (ciphers["i_send"], ciphers["r_recv"])
                if from_init
                else (ciphers["r_send"], ciphers["i_recv"])
            )
            assert send.encrypt(payload) == expected
            assert recv.decrypt(expected) == payload
            transport_checked += 1
    assert init.handshake_complete and transport_checked >= 3


def _kk_pair(prologue_r: bytes = b"p") -> tuple[NoiseKK, NoiseKK]:
    si, sr = bytes(range(32)), bytes(range(32, 64))
    init = NoiseKK(True, si, public_key(sr), prologue=b"p")
    resp = NoiseKK(False, sr, public_key(si), prologue=prologue_r)
    return init, resp


def test_kk_fresh_ephemerals_round_trip_and_differ() -> None:
    hashes = set()
    for _ in range(2):
        init, resp = _kk_pair()
        assert resp.read_message(init.write_message(b"hi")) == b"hi"
        assert init.read_message(resp.write_message(b"yo")) == b"yo"
        assert init.handshake_hash == resp.handshake_hash
        hashes.add(init.handshake_hash)
        (i_send, i_recv), (r_send, r_recv) = init.split(), resp.split()
        assert r_recv.decrypt(i_send.encrypt(b"a")) == b"a"
        assert i_recv.decrypt(r_send.encrypt(b"b")) == b"b"
    assert len(hashes) == 2


def test_kk_wrong_prologue_or_key_fails() -> None:
    init, resp = _kk_pair(prologue_r=b"other")
    with pytest.raises(HandshakeError):
        resp.read_message(init.write_message(b""))
    init = NoiseKK(True, bytes(range(32)), public_key(bytes(32)))
    resp = NoiseKK(False, bytes(range(32, 64)), public_key(bytes(range(32))))
    with pytest.raises(HandshakeError):
        resp.read_message(init.write_message(b""))
    with pytest.raises(HandshakeError):  # a failed handshake stays failed
        resp.read_message(b"")


def test_kk_every_bit_flip_in_handshake_is_rejected() -> None:
    init, resp = _kk_pair()
    msg1 = init.write_message(b"x")
    for bit in range(0, len(msg1) * 8, 7):
        _, fresh = _kk_pair()
        bad = bytearray(msg1)
        bad[bit // 8] ^= 1 << (bit % 8)
        with pytest.raises(HandshakeError):
            fresh.read_message(bytes(bad))


def test_kk_out_of_turn_and_split_too_early() -> None:
    init, resp = _kk_pair()
    with pytest.raises(HandshakeError):
        init.read_message(b"\x00" * 48)
    with pytest.raises(HandshakeError):
        resp.write_message(b"")
    with pytest.raises(HandshakeError):
        init.split()


def test_all_zero_dh_result_rejected() -> None:
    with pytest.raises(HandshakeError):
        dh(bytes(range(32)), bytes(32))  # the identity point: a low-order key
    init, resp = _kk_pair()
    msg1 = bytearray(init.write_message(b""))
    msg1[:32] = bytes(32)  # a hostile all-zero ephemeral key
    with pytest.raises(HandshakeError):
        resp.read_message(bytes(msg1))


def test_hmac_matches_stdlib() -> None:
    for key in (b"", b"k" * 64, b"k" * 128, b"k" * 200):
        expected = hmac.new(key, b"data", hashlib.blake2b).digest()
        assert hmac_blake2b(key, b"data") == expected


def test_transport_counter_replay_reorder_and_exhaustion() -> None:
    send, recv = TransportCipher(CipherState(b"k" * 32)), TransportCipher(CipherState(b"k" * 32))
    first, second = send.encrypt(b"1"), send.encrypt(b"2")
    with pytest.raises(ProtocolError):
        recv.decrypt(second)  # reordered (or first one dropped)
    assert recv.decrypt(first) == b"1"
    with pytest.raises(ProtocolError):
        recv.decrypt(first)  # replayed
    assert recv.decrypt(second) == b"2"
    with pytest.raises(ProtocolError):
        recv.decrypt(b"short")
    state = CipherState(b"k" * 32)
    state.n = MAX_NONCE - 1
    last = TransportCipher(state)
    last.encrypt(b"ok")  # 2**64-2 is the last usable nonce
    with pytest.raises(ProtocolError):
        last.encrypt(b"no")
