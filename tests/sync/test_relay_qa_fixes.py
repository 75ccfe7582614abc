"""Fixes from a QA pass on the relay: a ping flood that never reads, ``/health`` while the
store is down, PostgreSQL restarts, wrong-typed settings, the store password in the
listening line, and what an operator sees of slow readers and storage failures. Real
servers and real (hostile) clients on 127.0.0.1 only."""

from __future__ import annotations

import argparse
import asyncio
import base64
import logging
import os
import socket
import subprocess
import sys
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from comentor.sync.errors import RelayError
from comentor.sync.mailbox.relay_client import RelayClient
from comentor.sync.relay.server import RelayServer
from comentor.sync.relay.settings import add_options, settings_from
from comentor.sync.relay.wire import (
    RelayLimits,
    auth_transcript,
    decode_server_message,
    encode,
)
from tests.sync.test_relay_stores import parametrize_stores, pg_url, postgres  # noqa: F401
from tests.sync.test_relay_stores import relay_store as relay_store  # noqa: F401

KEY = bytes(range(32, 64))
DEV_A, DEV_B = b"a" * 16, b"b" * 16

#: What one flooding connection may make the relay buffer (docs/relay.md: 30–50 KiB per
#: connection, the relay's own bounded queue aside); generous, far below a leak.
FLOOD_BOUND = 256 * 1024
#: Pings the hostile client sends at most (without the fix the relay buffers as much).
FLOOD_TOTAL = 24 * 1024 * 1024


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    parametrize_stores(metafunc)


@pytest.fixture
async def relay(tmp_path: Path, relay_store: str | None) -> AsyncIterator[RelayServer]:
    server = RelayServer(tmp_path / "relay", RelayLimits(hello_timeout=120.0), store=relay_store)
    await server.start("127.0.0.1", 0)
    yield server
    await server.stop()


# -- 1. a client that floods pings and never reads -----------------------------------------


def _frame(opcode: int, payload: bytes) -> bytes:
    """A masked client frame (payload under 126 bytes)."""
    mask = os.urandom(4)
    body = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return bytes([0x80 | opcode, 0x80 | len(payload)]) + mask + body


def _frame_long(opcode: int, payload: bytes) -> bytes:
    mask = os.urandom(4)
    body = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return bytes([0x80 | opcode, 0x80 | 126]) + len(payload).to_bytes(2, "big") + mask + body


def _read_exact(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        assert chunk, "the relay closed the connection"
        data += chunk
    return data


def _read_message(sock: socket.socket) -> bytes:
    """One unmasked server frame's payload."""
    head = _read_exact(sock, 2)
    size = head[1] & 0x7F
    if size == 126:
        size = int.from_bytes(_read_exact(sock, 2), "big")
    elif size == 127:
        size = int.from_bytes(_read_exact(sock, 8), "big")
    return _read_exact(sock, size)


def _hostile(port: int, hello: bool, outcome: dict[str, object]) -> None:
    """Handshake (and optionally authenticate), then send pings and never read again."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.settimeout(60)  # bounds a hang only
    try:
        sock.connect(("127.0.0.1", port))
        key = base64.b64encode(os.urandom(16)).decode()
        sock.sendall(f"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                     f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                     f"Sec-WebSocket-Version: 13\r\n\r\n".encode())
        head = b""
        while b"\r\n\r\n" not in head:
            head += _read_exact(sock, 1)
        assert b" 101 " in head.split(b"\r\n")[0]
        nonce = decode_server_message(_read_message(sock)).get_bytes("nonce")
        if hello:
            from comentor.sync.keys import derive_mailbox, mailbox_signing_key

            mailbox, secret = derive_mailbox(KEY)
            sk = mailbox_signing_key(secret)
            sig = sk.sign(auth_transcript(nonce, mailbox, DEV_A, 2)).signature
            msg = encode("hello", rid=1, mailbox=mailbox, key=bytes(sk.verify_key), sig=sig,
                         device=DEV_A, devices=2)
            sock.sendall(_frame_long(0x2, msg) if len(msg) >= 126 else _frame(0x2, msg))
            assert decode_server_message(_read_message(sock)).op == "welcome"
        ping = b"".join(_frame(0x9, os.urandom(125)) for _ in range(64))
        sent = 0
        while sent < FLOOD_TOTAL:
            sock.sendall(ping)
            sent += len(ping)
        outcome["sent"] = sent
    except OSError as exc:  # reset by the relay: what should happen
        outcome["dropped"] = type(exc).__name__
    finally:
        sock.close()


@pytest.mark.parametrize("hello", [False, True], ids=["before-hello", "after-hello"])
async def test_a_ping_flood_that_never_reads_is_dropped_with_bounded_buffers(
        relay: RelayServer, hello: bool) -> None:
    assert relay._server is not None
    outcome: dict[str, object] = {}
    flooder = threading.Thread(target=_hostile, args=(relay.port, hello, outcome), daemon=True)
    flooder.start()
    largest = 0
    while flooder.is_alive():  # the relay's unsent bytes, sampled between its callbacks
        for conn in list(relay._server.connections):
            transport = conn.transport
            if transport is not None and not transport.is_closing():
                largest = max(largest, transport.get_write_buffer_size())
        await asyncio.sleep(0.002)
    flooder.join()
    assert largest <= FLOOD_BOUND, f"the relay buffered {largest} bytes of pongs"
    assert "dropped" in outcome, outcome  # dropped long before the flood ended
    for _ in range(600):  # generous: the relay lets go of the connection
        if relay.health()["connections"] == 0:
            break
        await asyncio.sleep(0.05)
    assert relay.health()["connections"] == 0
    assert relay.metrics.slow_dropped._value.get() == 1
    # and a well-behaved client is served as ever
    mailbox, secret = _mailbox()
    client = RelayClient(timeout=10)
    await client.connect(f"ws://127.0.0.1:{relay.port}", mailbox, secret, DEV_B)
    await client.put(b"still here")
    await client.close()


def _mailbox() -> tuple[str, bytes]:
    from comentor.sync.keys import derive_mailbox

    return derive_mailbox(KEY)


async def test_keepalive_pings_of_a_reading_client_never_drop_it(relay: RelayServer) -> None:
    from websockets.asyncio.client import connect

    async with connect(f"ws://127.0.0.1:{relay.port}", compression=None) as ws:
        await asyncio.wait_for(ws.recv(), 10)  # the challenge
        for _ in range(500):  # far more than CONTROL_BYTES_MAX in all, each pong read
            await asyncio.wait_for(await ws.ping(os.urandom(64)), 10)
    assert relay.metrics.slow_dropped._value.get() == 0


# -- 2. /health while the store is down ----------------------------------------------------


async def _get(port: int, path: str) -> str:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
    response = await asyncio.wait_for(reader.read(), 10)
    writer.close()
    return response.decode()


def _cut_off(pg: str, database: str, allow: bool) -> None:
    """Forbid (or allow again) new connections to ``database`` and end the existing ones:
    the store is down for this relay, as in a restart that does not come back."""
    import psycopg

    with psycopg.connect(pg + "/postgres", autocommit=True) as conn:
        conn.execute(f"ALTER DATABASE {database} WITH ALLOW_CONNECTIONS {str(allow).lower()}")
        if not allow:
            conn.execute("SELECT pg_terminate_backend(pid, 10000) FROM pg_stat_activity "
                         "WHERE datname = %s", (database,))


async def test_health_answers_503_in_one_line_while_the_store_is_down(
        tmp_path: Path, pg_url: str, postgres: str,  # noqa: F811
        caplog: pytest.LogCaptureFixture) -> None:
    server = RelayServer(tmp_path / "relay", store=pg_url)
    await server.start("127.0.0.1", 0)
    database = pg_url.rsplit("/", 1)[1]
    try:
        caplog.set_level(logging.DEBUG)
        _cut_off(postgres, database, allow=False)
        for _ in range(3):
            response = await _get(server.port, "/health")
            assert response.startswith("HTTP/1.1 503"), response[:200]
            assert '"storage"' in response
        _cut_off(postgres, database, allow=True)
        assert (await _get(server.port, "/health")).startswith("HTTP/1.1 200")
    finally:
        _cut_off(postgres, database, allow=True)
        await server.stop()
    assert not [r for r in caplog.records if r.exc_info is not None]
    failures = [r for r in caplog.records if "storage failure" in r.getMessage()]
    assert len(failures) == 2, [r.getMessage() for r in failures]  # the first, then "2 more"
    assert failures[1].getMessage().startswith("2 more storage failures")


# -- 3. after a PostgreSQL restart, no request fails -----------------------------------------


async def test_requests_after_the_database_dropped_every_connection_succeed(
        tmp_path: Path, pg_url: str, postgres: str) -> None:  # noqa: F811
    import psycopg

    server = RelayServer(tmp_path / "relay", store=pg_url)
    await server.start("127.0.0.1", 0)
    mailbox, secret = _mailbox()
    client = RelayClient(timeout=10)
    try:
        await client.connect(f"ws://127.0.0.1:{server.port}", mailbox, secret, DEV_A)
        await client.put(b"before")
        with psycopg.connect(postgres + "/postgres", autocommit=True) as conn:
            ended = conn.execute(
                "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid, 10000)) "
                "FROM pg_stat_activity WHERE datname = %s",
                (pg_url.rsplit("/", 1)[1],)).fetchone()
        assert ended is not None and ended[0] >= 4  # the whole pool
        for n in range(8):  # each pooled connection is used at least once
            await client.put(f"after {n}".encode())
            assert len(await client.fetch(0)) == n + 2
        assert (await server.health_now())["envelopes"] == 9
    finally:
        await client.close()
        await server.stop()


# -- 4. wrong-typed and non-finite settings ------------------------------------------------


def _parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_options(parser)
    return parser.parse_args(list(argv))


@pytest.mark.parametrize("text, option", [
    ('port = "abc"\n', "port"),
    ("port = 70000\n", "port"),
    ("port = -1\n", "port"),
    ("port = true\n", "port"),
    ('log_interval = "x"\n', "log_interval"),
    ("log_interval = 0\n", "log_interval"),
    ("log_interval = nan\n", "log_interval"),
    ("trusted_proxy = 5\n", "trusted_proxy"),
    ("trusted_proxy = [5]\n", "trusted_proxy"),
    ("limits = 5\n", "limits"),
    ("data = 5\n", "data"),
    ("store = 5\n", "store"),
    ("host = 5\n", "host"),
    ("[limits]\nrate_per_second = nan\n", "rate_per_second"),
    ("[limits]\nrate_per_second = inf\n", "rate_per_second"),
])
def test_a_wrong_typed_setting_is_one_line_naming_it(tmp_path: Path, text: str,
                                                     option: str) -> None:
    config = tmp_path / "relay.toml"
    config.write_text(text)
    with pytest.raises(RelayError) as err:
        settings_from(_parse("--config", str(config)))
    assert err.value.field("option") == option
    assert option in str(err.value) and "\n" not in str(err.value)


@pytest.mark.parametrize("argv, option", [
    (["--port", "70000"], "port"),
    (["--port", "-1"], "port"),
    (["--rate-per-second", "nan"], "rate_per_second"),
    (["--rate-per-second", "inf"], "rate_per_second"),
    (["--log-interval", "0"], "log_interval"),
    (["--log-interval", "-5"], "log_interval"),
    (["--log-interval", "nan"], "log_interval"),
])
def test_a_bad_option_is_one_line_naming_it(argv: list[str], option: str) -> None:
    with pytest.raises(RelayError) as err:
        settings_from(_parse(*argv))
    assert err.value.field("option") == option


def test_the_command_refuses_a_bad_port_in_one_line(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "comentor.tui.cli", "relay", "serve", "--port", "70000",
         "--data", str(tmp_path / "relay")], capture_output=True, text=True, timeout=60)
    assert done.returncode not in (0, 70), done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and "port" in done.stderr
    assert "unexpected error" not in done.stderr


# -- 5. the listening line never shows the database password -------------------------------


def test_the_listening_line_hides_the_store_password(
        tmp_path: Path, pg_url: str) -> None:  # noqa: F811
    import psycopg

    database = pg_url.rsplit("/", 1)[1]
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("DO $$ BEGIN CREATE ROLE relay_qa LOGIN PASSWORD 'hunter2secret'; "
                     "EXCEPTION WHEN duplicate_object THEN NULL; END $$")
        conn.execute(f"GRANT ALL ON DATABASE {database} TO relay_qa")
        conn.execute("GRANT ALL ON SCHEMA public TO relay_qa")
    host = pg_url.split("@", 1)[1]
    url = f"postgresql://relay_qa:hunter2secret@{host}"
    proc = subprocess.Popen(
        [sys.executable, "-m", "comentor.tui.cli", "relay", "serve", "--port", "0",
         "--data", str(tmp_path / "relay"), "--store", url],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=30)
    assert "relay listening on ws://127.0.0.1:" in line, (line, err[-2000:])
    assert "relay_qa@" in line
    assert "hunter2secret" not in line + err


# -- 6. slow readers and storage failures in the log; the shutdown summary's span ----------


async def test_shutdown_summary_says_the_real_span(tmp_path: Path,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    from websockets.asyncio.client import connect

    server = RelayServer(tmp_path / "relay", RelayLimits(max_connections_per_ip=1))
    await server.start("127.0.0.1", 0)
    caplog.set_level(logging.INFO, "comentor.sync.relay")
    try:
        async with connect(f"ws://127.0.0.1:{server.port}", compression=None) as held:
            await asyncio.wait_for(held.recv(), 10)
            for _ in range(3):
                async with connect(f"ws://127.0.0.1:{server.port}", compression=None) as ws:
                    assert decode_server_message(
                        await asyncio.wait_for(ws.recv(), 10)).get_str("code") == "busy"
    finally:
        await server.stop()
    summary = [r.getMessage() for r in caplog.records if "2 more refusals" in r.getMessage()]
    assert len(summary) == 1 and "in the last 60 s" not in summary[0], summary

