"""Issue 9's two pairing attacks against a relay *process*, each while a legitimate pair
pairs and syncs through it: squatting every pairing number reachable from 32 addresses,
and 1,280 pairings holding maximal messages. Every address is on 127.0.0.0/8."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from comentor.model import _entities as e
from comentor.model._journal import Journal
from comentor.sync.mailbox.relay_sync import RelaySync
from comentor.sync.pairing import flow as pairing_flow
from comentor.sync.pairing.codes import PairingCode
from comentor.sync.relay.wire import RelayLimits, decode_server_message, encode
from tests.sync.test_relay_stores import parametrize_stores, pg_url, postgres  # noqa: F401
from tests.sync.test_relay_stores import relay_store as relay_store  # noqa: F401

#: The relay's resident memory stays under this during either attack (docs/relay.md).
RSS_BOUND_MB = 128

pytestmark = pytest.mark.slow


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    parametrize_stores(metafunc)


@dataclass
class RelayProcess:
    proc: subprocess.Popen[str]
    url: str

    def rss_mb(self) -> tuple[float, float]:
        """(current, peak) resident memory of the relay process, in MiB."""
        fields = dict(line.split(":", 1) for line in
                      Path(f"/proc/{self.proc.pid}/status").read_text().splitlines())
        kib = [int(fields[k].split()[0]) for k in ("VmRSS", "VmHWM")]
        return kib[0] / 1024, kib[1] / 1024


@pytest.fixture
def relay_process(tmp_path: Path, relay_store: str | None) -> Iterator[RelayProcess]:
    store = ["--store", relay_store] if relay_store else []
    proc = subprocess.Popen(
        [sys.executable, "-m", "comentor.tui.cli", "relay", "serve", "--port", "0",
         "--data", str(tmp_path / "relay"), *store],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        port = int(line.split("ws://127.0.0.1:")[1].split()[0])
        yield RelayProcess(proc, f"ws://127.0.0.1:{port}")
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=30)
    assert "Traceback" not in err, err[-3000:]
    assert len(err.splitlines()) < 40, err[-3000:]  # refusals summarised, not one per line


async def _hold(url: str, source: str, nameplate: int | None,
                messages: Sequence[bytes]) -> tuple[ClientConnection | None, int]:
    """A pairing opened from ``source``, holding ``messages``: (connection, nameplate)."""
    try:
        ws = await connect(url, compression=None, max_size=None, open_timeout=30,
                           local_addr=(source, 0))
    except (OSError, TimeoutError):
        return None, 0
    try:
        assert decode_server_message(await ws.recv()).op == "challenge"
        await ws.send(encode("pair_open", rid=1, nameplate=nameplate))
        reply = decode_server_message(await asyncio.wait_for(ws.recv(), 30))
        for data in messages:
            await ws.send(encode("pair_msg", data=data))
    except (ConnectionClosed, TimeoutError):
        await ws.close()
        return None, 0
    if reply.op != "pair_ok":
        await ws.close()
        return None, 0
    return ws, reply.get_int("nameplate")


@contextlib.asynccontextmanager
async def attack(url: str, sources: int, per_source: int, messages: Sequence[bytes],
                 nameplates: Iterator[int | None]) -> AsyncIterator[list[int]]:
    """Hold ``sources`` x ``per_source`` pairings; yields the nameplates they got."""
    wanted = [(f"127.0.0.{10 + s}", next(nameplates, None))
              for s in range(sources) for _ in range(per_source)]
    held: list[tuple[ClientConnection | None, int]] = []
    for start in range(0, len(wanted), 64):
        held += await asyncio.gather(*(_hold(url, src, plate, messages)
                                       for src, plate in wanted[start:start + 64]))
    try:
        yield [plate for ws, plate in held if ws is not None]
    finally:
        await asyncio.gather(*(ws.close() for ws, _ in held if ws is not None),
                             return_exceptions=True)


async def _pair_and_sync(tmp_path: Path, url: str) -> PairingCode:
    """A legitimate inviter and joiner pair through the relay, then sync a goal."""
    inviter = Journal.create(tmp_path / "a.db", "Ada")
    shown: list[PairingCode] = []
    opened = asyncio.Event()

    def on_code(code: PairingCode, where: str) -> None:
        shown.append(code)
        opened.set()

    task = asyncio.create_task(pairing_flow.invite(
        inviter, pairing_flow.InviteOptions(timeout=30, relay=url, step_timeout=20), on_code))
    await asyncio.wait_for(opened.wait(), 30)
    joiner, result = await pairing_flow.join(
        tmp_path / "b.db", None, shown[0], "Bo", pairing_flow.JoinOptions(relay=url, timeout=30))
    assert (await task).safety_number == result.safety_number
    e.add_goal(inviter, "Survive the attack")
    await RelaySync(inviter.path, url).sync_once()
    await RelaySync(joiner.path, url).sync_once()
    assert "Survive the attack" in {g["text"] for g in joiner.rows("goals")}
    inviter.close()
    joiner.close()
    return shown[0]


async def test_squatting_every_short_number_does_not_stop_a_pairing(
        tmp_path: Path, relay_process: RelayProcess) -> None:
    limit = RelayLimits().max_connections_per_ip
    numbers = iter(range(1, 1000))  # the attacker asks for every short number
    async with attack(relay_process.url, 32, limit, [b"x" * 64], numbers) as held:
        assert set(range(1, 1000)) <= set(held)  # every 1-999 number is squatted
        code = await _pair_and_sync(tmp_path, relay_process.url)
        assert code.nameplate > 999  # the relay gave a longer number instead of failing
        assert len(str(code.nameplate)) == 4  # and only one digit longer
        print("squatting: relay RSS (now, peak) MiB", relay_process.rss_mb())
        assert relay_process.rss_mb()[1] < RSS_BOUND_MB


async def test_many_pairings_with_maximal_messages_stay_within_the_memory_bound(
        tmp_path: Path, relay_process: RelayProcess) -> None:
    limits = RelayLimits()
    biggest = [os.urandom(limits.max_pair_message)] * (
        limits.pair_pending_bytes // limits.max_pair_message)
    async with attack(relay_process.url, 40, limits.max_connections_per_ip, biggest,
                      iter(())) as held:
        assert len(held) >= 1200  # the attack got its pairings
        await _pair_and_sync(tmp_path, relay_process.url)
        current, peak = relay_process.rss_mb()
        print("memory attack: relay RSS (now, peak) MiB", current, peak, len(held))
        assert peak < RSS_BOUND_MB, (current, peak)
