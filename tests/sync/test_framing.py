"""The framed, encrypted channel over real TCP on 127.0.0.1, and its refusals of bad input.

A frame-aware proxy (also on 127.0.0.1) sits between the two devices so tests can flip
bits, replay, reorder or drop frames in flight using only the public API on both ends.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any, cast

import msgpack
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from comentor.sync.errors import HandshakeError, ProtocolError, SyncError, TransportError
from comentor.sync.wire.channel import (
    PROTOCOL_TAG,
    SecureChannel,
    handshake_initiator,
    handshake_responder,
    key_hint,
)
from comentor.sync.wire.codec import decode_message
from comentor.sync.wire.framing import MAX_FRAME_SIZE, read_frame, write_frame
from comentor.sync.wire.noise import CipherState, NoiseKK, TransportCipher, public_key

HOST = "127.0.0.1"
INIT_SK, RESP_SK, STRANGER_SK = bytes(range(32)), bytes(range(32, 64)), bytes(range(64, 96))
INIT_PK, RESP_PK = public_key(INIT_SK), public_key(RESP_SK)
Transform = Callable[[str, int, bytes], list[bytes]]


OPEN: list[asyncio.StreamWriter] = []  # every stream a test opens, closed after each test


@pytest.fixture(autouse=True)
async def close_streams() -> AsyncIterator[None]:
    yield
    while OPEN:
        writer = OPEN.pop()
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


def lookup_paired(salt: bytes, hint: bytes) -> bytes | None:
    return INIT_PK if hint == key_hint(INIT_PK, salt) else None


@contextlib.asynccontextmanager
async def tcp_server(handler: Any) -> AsyncIterator[int]:
    server = await asyncio.start_server(handler, HOST, 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()


@contextlib.asynccontextmanager
async def responder(
    lookup: Callable[[bytes], bytes | None] = lookup_paired, timeout: float = 5.0
) -> AsyncIterator[tuple[int, asyncio.Queue[Any]]]:
    """A listening responder; each connection's channel (or error) lands in the queue."""
    results: asyncio.Queue[Any] = asyncio.Queue()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        OPEN.append(writer)
        try:
            results.put_nowait(
                await handshake_responder(reader, writer, RESP_SK, lookup, b"test", timeout)
            )
        except SyncError as exc:
            results.put_nowait(exc)
            writer.close()

    async with tcp_server(handle) as port:
        yield port, results


@contextlib.asynccontextmanager
async def proxy(upstream: int, transform: Transform) -> AsyncIterator[int]:
    """Forwards frames both ways, letting ``transform`` replace each with zero or more."""

    async def pump(direction: str, r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        index = 0
        try:
            while True:
                frame = await read_frame(r)
                for out in transform(direction, index, frame):
                    write_frame(w, out)
                await w.drain()
                index += 1
        except (SyncError, OSError):
            w.close()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(HOST, upstream)
        OPEN.extend((writer, up_writer))
        await asyncio.gather(pump("c2s", reader, up_writer), pump("s2c", up_reader, writer))

    async with tcp_server(handle) as port:
        yield port


async def connect(port: int, remote: bytes = RESP_PK, sk: bytes = INIT_SK) -> SecureChannel:
    reader, writer = await asyncio.open_connection(HOST, port)
    OPEN.append(writer)
    return await handshake_initiator(reader, writer, sk, remote, b"test", timeout=5.0)


async def test_handshake_and_round_trip() -> None:
    async with responder() as (port, results):
        client = await connect(port)
        server = await asyncio.wait_for(results.get(), 5)
        assert isinstance(server, SecureChannel)
        assert client.handshake_hash == server.handshake_hash and len(client.handshake_hash) == 64
        assert server.remote_static_public == INIT_PK
        message = {"ops": [{"id": b"\x01" * 16, "text": "héllo", "n": -3, "f": 1.5}], "x": None}
        await client.send(message)
        assert await server.recv() == message
        big = {"blob": b"\xaa" * (MAX_FRAME_SIZE - 1000)}
        await server.send(big)
        assert await client.recv() == big
        for i in range(20):
            await client.send(i)
        assert [await server.recv() for _ in range(20)] == list(range(20))
        await client.close()
        await server.close()


async def test_unknown_device_rejected() -> None:
    async with responder() as (port, results):
        with pytest.raises(HandshakeError):
            await connect(port, sk=STRANGER_SK)
        error = await asyncio.wait_for(results.get(), 5)
        assert isinstance(error, HandshakeError)
        assert str(error) == "unknown device: not paired with this journal"


async def test_wrong_responder_key_fails_handshake() -> None:
    async with responder() as (port, results):
        with pytest.raises(HandshakeError):
            await connect(port, remote=public_key(STRANGER_SK))
        assert isinstance(await asyncio.wait_for(results.get(), 5), HandshakeError)


def flip(target: tuple[str, int], byte: int) -> Transform:
    def transform(direction: str, index: int, frame: bytes) -> list[bytes]:
        if (direction, index) == target:
            data = bytearray(frame)
            data[byte % len(data)] ^= 0x10
            return [bytes(data)]
        return [frame]

    return transform


@pytest.mark.parametrize("byte", [0, 5, 31, 32, -1])
@pytest.mark.parametrize(
    "target",
    [("c2s", 0), ("c2s", 1), ("s2c", 0), ("c2s", 2), ("s2c", 1)],
    ids=["hello", "kk-msg1", "kk-msg2", "transport-c2s", "transport-s2c"],
)
async def test_flipped_bit_in_any_frame(target: tuple[str, int], byte: int) -> None:
    async with responder() as (port, results), proxy(port, flip(target, byte)) as pport:
        if target[1] == 0 or target == ("c2s", 1):  # handshake frames
            with pytest.raises(HandshakeError):
                await connect(pport)
            if target[0] == "c2s":  # the responder notices; after msg2 only the initiator can
                assert isinstance(await asyncio.wait_for(results.get(), 5), HandshakeError)
            return
        client = await connect(pport)
        server = await asyncio.wait_for(results.get(), 5)
        if target[0] == "c2s":
            await client.send({"a": 1})
            with pytest.raises(ProtocolError):
                await server.recv()
            with pytest.raises(ProtocolError):  # the channel stays poisoned
                await server.recv()
        else:
            await server.send({"a": 1})
            with pytest.raises(ProtocolError):
                await client.recv()


async def test_replayed_frame_rejected() -> None:
    def replay(direction: str, index: int, frame: bytes) -> list[bytes]:
        return [frame, frame] if (direction, index) == ("c2s", 2) else [frame]

    async with responder() as (port, results), proxy(port, replay) as pport:
        client = await connect(pport)
        server = await asyncio.wait_for(results.get(), 5)
        await client.send("once")
        assert await server.recv() == "once"
        with pytest.raises(ProtocolError):
            await server.recv()


@pytest.mark.parametrize("mode", ["reorder", "drop"])
async def test_reordered_or_dropped_frame_rejected(mode: str) -> None:
    held: list[bytes] = []

    def reorder(direction: str, index: int, frame: bytes) -> list[bytes]:
        if (direction, index) == ("c2s", 2):
            held.append(frame)
            return []
        if (direction, index) == ("c2s", 3):
            return [frame, *held] if mode == "reorder" else [frame]
        return [frame]

    async with responder() as (port, results), proxy(port, reorder) as pport:
        client = await connect(pport)
        server = await asyncio.wait_for(results.get(), 5)
        await client.send("first")
        await client.send("second")
        with pytest.raises(ProtocolError):
            await server.recv()


async def raw_server_read(
    payload: bytes, close: bool, leftover: int = 0
) -> tuple[BaseException | None, bytes]:
    """Send raw bytes to a server that runs read_frame; return its error and the next
    ``leftover`` unread bytes (proof of what read_frame did not consume)."""
    done: asyncio.Future[tuple[BaseException | None, bytes]] = asyncio.Future()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        OPEN.append(writer)
        try:
            await asyncio.wait_for(read_frame(reader), 2)
            done.set_result((None, b""))
        except SyncError as exc:
            done.set_result((exc, await reader.readexactly(leftover)))
        writer.close()

    async with tcp_server(handle) as port:
        _, writer = await asyncio.open_connection(HOST, port)
        OPEN.append(writer)
        writer.write(payload)
        await writer.drain()
        if close:
            writer.close()
        result = await asyncio.wait_for(done, 5)
        writer.close()
        return result


@pytest.mark.parametrize(
    "payload", [b"\x00\x00", (100).to_bytes(4, "big") + b"x" * 50], ids=["header", "body"]
)
async def test_truncated_frame(payload: bytes) -> None:
    error, _ = await raw_server_read(payload, close=True)
    assert isinstance(error, ProtocolError)


async def test_truncated_frame_on_secure_channel() -> None:
    def cut(direction: str, index: int, frame: bytes) -> list[bytes]:
        return [frame[:-3]] if (direction, index) == ("c2s", 2) else [frame]

    async with responder() as (port, results), proxy(port, cut) as pport:
        client = await connect(pport)
        server = await asyncio.wait_for(results.get(), 5)
        await client.send("whole")
        with pytest.raises(ProtocolError):
            await server.recv()


async def test_oversized_length_rejected_before_reading_body() -> None:
    error, rest = await raw_server_read((MAX_FRAME_SIZE + 1).to_bytes(4, "big") + b"BODY", False, 4)
    assert isinstance(error, ProtocolError)
    assert rest == b"BODY"  # the body was never consumed
    error, _ = await raw_server_read(b"\xff\xff\xff\xff", close=False)
    assert isinstance(error, ProtocolError)


async def test_handshake_timeout() -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        OPEN.append(writer)
        await asyncio.sleep(2)

    async with tcp_server(silent) as port:
        reader, writer = await asyncio.open_connection(HOST, port)
        OPEN.append(writer)
        with pytest.raises(TransportError, match="timed out"):
            await handshake_initiator(reader, writer, INIT_SK, RESP_PK, timeout=0.2)
        writer.close()
    async with responder(timeout=0.2) as (port, results):
        _, writer = await asyncio.open_connection(HOST, port)
        OPEN.append(writer)
        error = await asyncio.wait_for(results.get(), 5)
        assert isinstance(error, TransportError)
        writer.close()


# ---- property tests: arbitrary bytes only ever raise the protocol's own errors ----

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


class _NullWriter:
    def write(self, data: bytes) -> None:
        pass

    async def drain(self) -> None:
        pass


async def _read_all_frames(data: bytes) -> None:
    reader = asyncio.StreamReader()
    reader.feed_data(data)
    reader.feed_eof()
    while True:
        await read_frame(reader, max_size=64)


@FUZZ
@given(st.binary(max_size=300))
def test_fuzz_read_frame(data: bytes) -> None:
    with pytest.raises(SyncError):
        asyncio.run(_read_all_frames(data))


@FUZZ
@given(
    st.one_of(
        st.binary(max_size=300),
        st.builds(
            msgpack.packb,
            st.recursive(
                st.none()
                | st.integers(-(2**63), 2**64 - 1)
                | st.text()
                | st.binary()
                | st.floats(allow_nan=False),
                lambda c: (
                    st.lists(c, max_size=4)
                    | st.dictionaries(st.integers(0, 9) | st.text(), c, max_size=4)
                ),
                max_leaves=10,
            ),
        ),
    )
)
def test_fuzz_decode_message(data: bytes) -> None:
    try:
        decode_message(data)
    except SyncError:
        pass


@FUZZ
@given(st.binary(max_size=300), st.integers(min_value=0, max_value=3))
def test_fuzz_transport_decrypt(data: bytes, counter: int) -> None:
    state = CipherState(b"k" * 32)
    state.n = counter
    with pytest.raises(ProtocolError):
        TransportCipher(state).decrypt(data)


@FUZZ
@given(st.binary(max_size=300))
def test_fuzz_handshake_read_message(data: bytes) -> None:
    resp = NoiseKK(False, RESP_SK, INIT_PK)
    with pytest.raises(HandshakeError):
        resp.read_message(data)
    init = NoiseKK(True, INIT_SK, RESP_PK)
    init.write_message(b"")
    with pytest.raises(HandshakeError):
        init.read_message(data)


def _framed(body: bytes) -> bytes:
    return len(body).to_bytes(4, "big") + body


# Either raw junk, or a valid hello followed by junk, so the fuzzing reaches Noise itself.
VALID_HELLO = _framed(PROTOCOL_TAG + b"s" * 16 + key_hint(INIT_PK, b"s" * 16))


@FUZZ
@given(
    st.binary(max_size=300)
    | st.builds(lambda tail: VALID_HELLO + tail, st.binary(max_size=200))
    | st.builds(lambda body: VALID_HELLO + _framed(body), st.binary(min_size=40, max_size=80))
)
def test_fuzz_handshake_responder_stream(data: bytes) -> None:
    async def run() -> None:
        reader = asyncio.StreamReader()
        reader.feed_data(data)
        reader.feed_eof()
        writer = cast(asyncio.StreamWriter, _NullWriter())
        await handshake_responder(reader, writer, RESP_SK, lambda salt, hint: INIT_PK, timeout=1)

    with pytest.raises(SyncError):
        asyncio.run(run())


async def test_the_hello_differs_on_every_connection() -> None:
    """Someone watching the network cannot link two connections to one device."""
    hellos: list[bytes] = []

    def note(salt: bytes, hint: bytes) -> bytes | None:
        hellos.append(salt + hint)
        return lookup_paired(salt, hint)

    for _ in range(2):
        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                await handshake_responder(reader, writer, RESP_SK, note, timeout=5)
            finally:
                writer.close()

        server = await asyncio.start_server(serve, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        channel = await handshake_initiator(reader, writer, INIT_SK, RESP_PK, timeout=5)
        await channel.close()
        server.close()
        await server.wait_closed()
    assert len(hellos) == 2 and hellos[0] != hellos[1]
    assert all(key_hint(INIT_PK, h[:16]) == h[16:] for h in hellos)


async def test_closing_does_not_wait_on_a_peer_that_stopped_reading() -> None:
    """A graceful close waits for unsent bytes to leave; a peer that never reads would hold
    it for ever (a stop or Ctrl-C of a sync hung on it). The connection is dropped instead."""
    from comentor.sync.wire.framing import close_stream

    held: list[asyncio.StreamWriter] = []

    async def never_read(_r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        held.append(w)

    server = await asyncio.start_server(never_read, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"x" * (64 << 20))  # far more than both sockets' buffers hold
        async with asyncio.timeout(30):  # a hang, not a speed: it returned at all
            await close_stream(writer)
        assert writer.transport.is_closing()
    finally:
        for w in held:
            w.transport.abort()
        server.close()
