"""The relay as an operator runs it: settings (options and TOML), a trusted reverse proxy,
/metrics and a log that summarises refusals. Loopback only (forwarded addresses included)."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from comentor.sync.errors import RelayError
from comentor.sync.relay.server import RelayServer
from comentor.sync.relay.settings import (
    add_options,
    client_address,
    limit_key,
    parse_networks,
    settings_from,
)
from comentor.sync.relay.wire import RelayLimits, decode_server_message, encode
from tests.sync.test_relay_stores import parametrize_stores, pg_url, postgres  # noqa: F401
from tests.sync.test_relay_stores import relay_store as relay_store  # noqa: F401

PROXY = parse_networks(["127.0.0.1/32"])


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    parametrize_stores(metafunc)


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_options(parser)
    return parser.parse_args(list(argv))


def test_every_limit_is_an_option_and_a_config_key(tmp_path: Path) -> None:
    config = tmp_path / "relay.toml"
    config.write_text('port = 9000\ntrusted_proxy = ["127.0.0.1/32"]\nstore = "x"\n'
                      "[limits]\nmax_connections_per_ip = 64\npair_ttl = 120.0\n"
                      "rate_burst = 7\n")
    s = settings_from(parse("--config", str(config), "--rate-burst", "9", "--host", "127.0.0.2"))
    assert (s.host, s.port, s.store) == ("127.0.0.2", 9000, "x")
    assert s.trusted_proxy == PROXY
    assert s.limits.max_connections_per_ip == 64 and s.limits.pair_ttl == 120.0
    assert s.limits.rate_burst == 9  # the command line wins over the file
    options = parse()
    for f in dataclasses.fields(RelayLimits):
        assert hasattr(options, f"limit_{f.name}"), f.name
    assert settings_from(options).limits == RelayLimits()


@pytest.mark.parametrize("text, option", [
    ("[limits]\nno_such_limit = 1\n", "config"),
    ("bogus = 1\n", "config"),
    ("[limits]\nrate_burst = 1.5\n", "rate_burst"),
    ("[limits]\nrate_burst = -1\n", "rate_burst"),
    ("trusted_proxy = ['not a network']\n", "trusted_proxy"),
    ("port = [", "config"),
])
def test_bad_settings_are_one_line_errors(tmp_path: Path, text: str, option: str) -> None:
    config = tmp_path / "relay.toml"
    config.write_text(text)
    with pytest.raises(RelayError) as err:
        settings_from(parse("--config", str(config)))
    assert err.value.field("option") == option
    assert "\n" not in str(err.value)


def test_client_address_believes_only_trusted_proxies() -> None:
    chain = ["127.0.0.9, 127.0.0.5", "127.0.0.1"]
    assert client_address("127.0.0.1", chain, ()) == "127.0.0.1"  # no setting: ignored
    assert client_address("127.0.0.2", chain, PROXY) == "127.0.0.2"  # not from the proxy
    # the rightmost hop that is not a trusted proxy; what is left of it may be forged
    assert client_address("127.0.0.1", chain, PROXY) == "127.0.0.5"
    assert client_address("127.0.0.1", ["127.0.0.9, 127.0.0.5"], PROXY) == "127.0.0.5"
    two = parse_networks(["127.0.0.1/32", "127.0.0.5/32"])
    assert client_address("127.0.0.1", ["127.0.0.9, 127.0.0.5"], two) == "127.0.0.9"
    assert client_address("127.0.0.1", ["junk, 127.0.0.5"], two) == "127.0.0.5"
    assert client_address("127.0.0.1", [], PROXY) == "127.0.0.1"
    assert limit_key("2001:db8::1") == limit_key("2001:db8::ffff") == "2001:db8::/64"
    assert limit_key("::ffff:127.0.0.3") == "127.0.0.3"


@pytest.fixture
async def relay(tmp_path: Path, request: pytest.FixtureRequest, relay_store: str | None
                ) -> AsyncIterator[RelayServer]:
    server = RelayServer(tmp_path / "relay", RelayLimits(max_connections_per_ip=2),
                         trusted_proxy=getattr(request, "param", ()), store=relay_store)
    await server.start("127.0.0.1", 0)
    yield server
    await server.stop()


async def _open(server: RelayServer, forwarded: str | None) -> ClientConnection | str:
    """A connection (after its challenge), or the refusal code it got instead."""
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    ws = await connect(f"ws://127.0.0.1:{server.port}", additional_headers=headers,
                       compression=None)
    first = decode_server_message(await asyncio.wait_for(ws.recv(), 5))
    if first.op == "error":
        await ws.close()
        return first.get_str("code")
    return ws


@pytest.mark.parametrize("relay", [PROXY], indirect=True)
async def test_behind_a_trusted_proxy_one_clients_refusals_spare_another(
        relay: RelayServer) -> None:
    held = [await _open(relay, "127.0.0.77") for _ in range(2)]
    assert all(not isinstance(ws, str) for ws in held)
    assert await _open(relay, "127.0.0.77") == "busy"  # that client's own limit
    other = await _open(relay, "127.0.0.78")  # the same proxy, another client: served
    assert not isinstance(other, str)
    # and one client scanning for pairing codes does not lock the other out either
    for n in range(12):
        ws = await _open(relay, "127.0.0.79")
        assert not isinstance(ws, str)
        await ws.send(encode("pair_join", rid=1, nameplate=100 + n))
        await ws.recv()
        await ws.close()
    await other.send(encode("pair_join", rid=1, nameplate=99))
    assert decode_server_message(await other.recv()).get_str("code") == "no_pairing"
    for ws in [*held, other]:
        assert not isinstance(ws, str)
        await ws.close()


async def test_without_the_setting_forwarded_for_is_ignored(relay: RelayServer) -> None:
    held = [await _open(relay, "127.0.0.77") for _ in range(2)]
    assert await _open(relay, "127.0.0.78") == "busy"  # all count as 127.0.0.1
    for ws in held:
        assert not isinstance(ws, str)
        await ws.close()


async def _get(server: RelayServer, path: str) -> str:
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
    response = await asyncio.wait_for(reader.read(), 5)
    writer.close()
    return response.decode()


async def test_metrics_in_prometheus_text_format(relay: RelayServer, caplog: pytest.LogCaptureFixture
                                                 ) -> None:
    from comentor.sync.mailbox.relay_client import RelayClient
    from tests.sync.test_relay_server import DEV_A, DEV_B, MAILBOX, SECRET

    a, b = RelayClient(timeout=5), RelayClient(timeout=5)
    await a.connect(f"ws://127.0.0.1:{relay.port}", MAILBOX, SECRET, DEV_A)
    await b.connect(f"ws://127.0.0.1:{relay.port}", MAILBOX, SECRET, DEV_B)
    await a.put(b"x" * 100)
    await b.fetch(0)
    caplog.set_level(logging.INFO, "comentor.sync.relay")
    for _ in range(5):
        assert await _open(relay, None) == "busy"
    text = await _get(relay, "/metrics")
    head, _, body = text.partition("\r\n\r\n")
    assert "text/plain; version=0.0.4" in head
    values = {line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
              for line in body.splitlines() if line and not line.startswith("#")}
    assert values["comentor_relay_connections"] == 2
    assert values["comentor_relay_mailboxes"] == 1
    assert values["comentor_relay_envelopes_stored_total"] == 1
    assert values["comentor_relay_envelope_bytes_stored_total"] == 100
    assert values["comentor_relay_envelopes_delivered_total"] == 2  # pushed, then fetched
    assert values['comentor_relay_refusals_total{reason="busy"}'] == 5
    assert values['comentor_relay_store_seconds_count{op="put"}'] >= 1
    assert "comentor_relay_pairings_opened_total" in values
    assert MAILBOX not in body
    # five refusals, one log line (the rest summarised later), never a traceback
    lines = [r for r in caplog.records if "refused a connection" in r.getMessage()]
    assert len(lines) == 1 and lines[0].exc_info is None
    relay.metrics.summary.flush()
    assert any("4 more refusals (busy)" in r.getMessage() for r in caplog.records)
    await a.close()
    await b.close()


async def test_a_closed_client_mid_handshake_logs_no_traceback(
        relay: RelayServer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    for request in (b"GET / HTTP/1.1\r\nHost: x\r\n", b"\x16\x03\x01garbage\r\n\r\n"):
        reader, writer = await asyncio.open_connection("127.0.0.1", relay.port)
        writer.write(request)
        writer.close()
        await asyncio.sleep(0.05)
    ws = await _open(relay, None)
    assert not isinstance(ws, str)
    with pytest.raises(ConnectionClosed):
        await ws.send(b"\xc1")  # malformed: a fatal error, counted
        await asyncio.wait_for(ws.recv(), 5)
        await asyncio.wait_for(ws.recv(), 5)
    await asyncio.sleep(0.1)
    assert not [r for r in caplog.records
                if r.name.startswith("comentor") and r.exc_info is not None]
