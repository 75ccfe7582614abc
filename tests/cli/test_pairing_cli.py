"""`comentor invite` / `comentor join` as real processes: over 127.0.0.1 with --peer, through
a real relay, with zeroconf inside two network namespaces joined by a veth pair, and the
failure paths (wrong code, expiry, a vanished peer, demo journals)."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from comentor.model._journal import Journal
from comentor.sync import SyncService
from comentor.sync.pairing.codes import WORDS, parse_code
from comentor.sync.pairing.protocol import WRONG_CODE

CLI = [sys.executable, "-m", "comentor.tui.cli"]
SAFETY = re.compile(r"^Safety number: (\d{4} \d{4} \d{4})$", re.M)


def _env(tmp_path: Path, who: str, interfaces: str = "127.0.0.1") -> dict[str, str]:
    env = dict(os.environ)
    env.update(COMENTOR_STATE_DIR=str(tmp_path / f"state-{who}"),
               COMENTOR_LAN_INTERFACES=interfaces, PYTHONUNBUFFERED="1")
    env.pop("COMENTOR_JOURNAL", None)
    return env


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Run:
    def __init__(self, rc: int, out: str, err: str) -> None:
        self.rc, self.out, self.err = rc, out, err

    @property
    def safety(self) -> str:
        m = SAFETY.search(self.out)
        assert m, (self.out, self.err)
        return m.group(1)


class Inviter:
    """A running `comentor invite`; :meth:`start` returns once the code is printed."""

    def __init__(self, proc: asyncio.subprocess.Process, code: str, head: str) -> None:
        self.proc, self.code, self.head = proc, code, head

    @classmethod
    async def start(cls, journal: Path, args: Sequence[str], env: dict[str, str],
                    prefix: Sequence[str] = ()) -> Inviter:
        proc = await asyncio.create_subprocess_exec(
            *prefix, *CLI, "--journal", str(journal), "invite", *args, env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )
        assert proc.stdout is not None
        head = ""
        try:
            async with asyncio.timeout(20):
                while True:
                    line = (await proc.stdout.readline()).decode()
                    if not line:
                        err = await proc.stderr.read() if proc.stderr else b""
                        raise AssertionError(f"invite ended early: {head}{err.decode()}")
                    head += line
                    if line.startswith("Code: "):
                        return cls(proc, line.split()[1], head)
        except BaseException:
            if proc.returncode is None:
                proc.kill()
            await proc.wait()
            raise

    async def finish(self, timeout: float = 20) -> Run:
        try:
            out, err = await asyncio.wait_for(self.proc.communicate(), timeout)
        except TimeoutError:
            self.proc.kill()
            await self.proc.wait()
            raise
        return Run(self.proc.returncode or 0, self.head + out.decode(), err.decode())


async def run_cli(journal: Path, args: Sequence[str], env: dict[str, str],
                  prefix: Sequence[str] = (), timeout: float = 30) -> Run:
    proc = await asyncio.create_subprocess_exec(
        *prefix, *CLI, "--journal", str(journal), *args, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise
    return Run(proc.returncode or 0, out.decode(), err.decode())


async def invite_and_join(a_path: Path, b_path: Path, url: str, envs: tuple[dict[str, str],
                          dict[str, str]], *, joiner: str = "Bo") -> tuple[Run, Run]:
    """`comentor invite` on `a_path` and `comentor join` on `b_path` through the relay at
    `url`, as real processes; returns (invited, joined) once both have ended."""
    inv = await Inviter.start(a_path, ["--relay", url, "--timeout", "20"], envs[0])
    joined = await run_cli(b_path, ["join", inv.code, "--name", joiner, "--relay", url],
                           envs[1])
    return await inv.finish(), joined


def _make(path: Path, name: str) -> Journal:
    return Journal.create(path, name)


def _devices(path: Path) -> dict[str, str]:
    with Journal.open(path) as j:
        return {d["id"]: d["person"] for d in j.rows("devices")}


def _assert_paired(a_path: Path, b_path: Path, a: Run, b: Run) -> None:
    assert a.rc == 0 and b.rc == 0, (a.err, b.err)
    assert a.safety == b.safety
    assert "Compare it with the number on the other screen" in a.out + b.out
    with Journal.open(a_path) as ja, Journal.open(b_path) as jb:
        assert jb.device_id in _devices(a_path) and ja.device_id in _devices(b_path)
        assert ja.partnership_key() == jb.partnership_key()


def _other_code(code: str) -> str:
    c = parse_code(code)
    words = [WORDS[(WORDS.index(w) + 7) % len(WORDS)] for w in c.words]
    return "-".join([str(c.nameplate), *words])


# ---------------------------------------------------------------- 127.0.0.1 with --peer
async def test_invite_and_join_with_peer(tmp_path: Path) -> None:
    a_path, b_path = tmp_path / "a.db", tmp_path / "b.db"
    _make(a_path, "Ada").close()
    port = _free_port()
    inv = await Inviter.start(a_path, ["--host", "127.0.0.1", "--port", str(port),
                                       "--timeout", "20"], _env(tmp_path, "a"))
    assert re.fullmatch(r"\d{1,3}(-[a-z]+){3}", inv.code)
    joined = await run_cli(b_path, ["join", inv.code, "--name", "Bo", "--peer",
                                    f"127.0.0.1:{port}"], _env(tmp_path, "b"))
    invited = await inv.finish()
    _assert_paired(a_path, b_path, invited, joined)
    assert "Paired with Bo's device" in invited.out and "Paired with Ada's device" in joined.out
    with Journal.open(a_path) as ja, Journal.open(b_path) as jb:
        assert ja.partner() == jb.me and jb.partner() == ja.me
        assert jb.person_name(ja.me) == "Ada" and ja.person_name(jb.me) == "Bo"


async def test_wrong_code_fails_on_both_sides_and_writes_nothing(tmp_path: Path) -> None:
    a_path, b_path = tmp_path / "a.db", tmp_path / "b.db"
    _make(a_path, "Ada").close()
    before = _devices(a_path)
    port = _free_port()
    inv = await Inviter.start(a_path, ["--host", "127.0.0.1", "--port", str(port),
                                       "--timeout", "20"], _env(tmp_path, "a"))
    joined = await run_cli(b_path, ["join", _other_code(inv.code), "--name", "Bo", "--peer",
                                    f"127.0.0.1:{port}"], _env(tmp_path, "b"))
    invited = await inv.finish()
    for run in (invited, joined):
        assert run.rc != 0
        assert f"comentor: {WRONG_CODE}" in run.err.splitlines()
        assert "Traceback" not in run.err and "Safety number" not in run.out
    assert not b_path.exists()
    assert _devices(a_path) == before
    # One guess only: the inviter stopped, so even the right code now finds nobody.
    again = await run_cli(b_path, ["join", inv.code, "--name", "Bo", "--peer",
                                   f"127.0.0.1:{port}", "--timeout", "2"], _env(tmp_path, "b"))
    assert again.rc != 0 and "cannot reach the inviting device" in again.err
    assert not b_path.exists()


async def test_second_device_of_the_same_person(tmp_path: Path) -> None:
    a_path, b_path = tmp_path / "a.db", tmp_path / "laptop.db"
    _make(a_path, "Ada").close()
    port = _free_port()
    inv = await Inviter.start(a_path, ["--device", "--host", "127.0.0.1", "--port", str(port)],
                              _env(tmp_path, "a"))
    joined = await run_cli(b_path, ["join", inv.code, "--device", "--peer",
                                    f"127.0.0.1:{port}"], _env(tmp_path, "b"))
    invited = await inv.finish()
    _assert_paired(a_path, b_path, invited, joined)
    assert f"comentor join {inv.code} --device" in invited.out
    assert "Paired with your own device" in invited.out + joined.out
    with Journal.open(a_path) as ja, Journal.open(b_path) as jb:
        assert jb.me == ja.me and ja.partner() is None and jb.partner() is None
        assert set(_devices(a_path).values()) == {ja.me}
        assert _devices(b_path)[ja.device_id] == ja.me


async def test_stray_connections_do_not_spend_the_code(tmp_path: Path) -> None:
    """A connection that leaves, or sends something that is not a pairing message, tested
    no guess of the code: the invitation goes on waiting, and the real joiner pairs."""
    a_path, b_path = tmp_path / "a.db", tmp_path / "b.db"
    _make(a_path, "Ada").close()
    port = _free_port()
    inv = await Inviter.start(a_path, ["--host", "127.0.0.1", "--port", str(port),
                                       "--timeout", "30"], _env(tmp_path, "a"))
    _, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.close()  # gone before saying anything
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")  # not a pairing message
    await writer.drain()
    await reader.read()  # the inviter's first message, then the end: it dropped us
    writer.close()
    joined = await run_cli(b_path, ["join", inv.code, "--name", "Bo", "--peer",
                                    f"127.0.0.1:{port}"], _env(tmp_path, "b"))
    invited = await inv.finish()
    _assert_paired(a_path, b_path, invited, joined)
    assert invited.err.count("Ignored a connection from 127.0.0.1 that was not a pairing "
                             "attempt; the code is still good") == 2, invited.err


async def test_invitation_expires(tmp_path: Path) -> None:
    a_path = tmp_path / "a.db"
    _make(a_path, "Ada").close()
    inv = await Inviter.start(a_path, ["--host", "127.0.0.1", "--timeout", "1"],
                              _env(tmp_path, "a"))
    invited = await inv.finish()
    assert invited.rc != 0 and "the code expired after 1 s" in invited.err


async def test_a_silent_connection_does_not_hold_the_invitation_past_its_timeout(
        tmp_path: Path) -> None:
    """A stray connection is given 10 s to send its first message, but the invitation still
    ends at its --timeout (and a couple of seconds' grace), not 10 s later."""
    a_path = tmp_path / "a.db"
    _make(a_path, "Ada").close()
    port = _free_port()
    inv = await Inviter.start(a_path, ["--host", "127.0.0.1", "--port", str(port),
                                       "--timeout", "6"], _env(tmp_path, "a"))
    await asyncio.sleep(5)  # near the end: about a second left
    _, writer = await asyncio.open_connection("127.0.0.1", port)  # says nothing, stays
    try:
        # it ends about 2 s on; the stray alone would hold it 10 s, and the time left when
        # the invitation began waiting (6 s) would hold it 6
        invited = await inv.finish(timeout=4.5)
    finally:
        writer.close()
    assert invited.rc != 0 and "the code expired after 6 s" in invited.err, invited.err


async def test_join_finds_no_invitation_on_loopback(tmp_path: Path) -> None:
    run = await run_cli(tmp_path / "b.db", ["join", "7-orbit-candle-harbor", "--name", "Bo",
                                            "--timeout", "1"], _env(tmp_path, "b"))
    assert run.rc != 0 and "no invitation number 7 found" in run.err
    assert not (tmp_path / "b.db").exists()


async def test_bad_code_and_demo_are_refused(tmp_path: Path, demo_path: Path) -> None:
    run = await run_cli(tmp_path / "b.db", ["join", "7-orbit-candel-harbor", "--name", "Bo"],
                        _env(tmp_path, "b"))
    assert run.rc != 0 and "'candel' is not a word" in run.err
    run = await run_cli(demo_path, ["invite", "--host", "127.0.0.1"], _env(tmp_path, "d"))
    assert run.rc != 0 and "demo journal" in run.err and "Code:" not in run.out


# ---------------------------------------------------------------- through a relay
async def test_pairing_through_a_real_relay(tmp_path: Path) -> None:
    from comentor.sync.relay.server import RelayServer

    a_path, b_path = tmp_path / "a.db", tmp_path / "b.db"
    _make(a_path, "Ada").close()
    server = RelayServer(tmp_path / "relay")
    url = f"ws://127.0.0.1:{await server.start('127.0.0.1', 0)}"
    try:
        invited, joined = await invite_and_join(
            a_path, b_path, url, (_env(tmp_path, "a"), _env(tmp_path, "b")))
        _assert_paired(a_path, b_path, invited, joined)
        assert "through the relay" in invited.out
        # both now sync through the relay they met at: `comentor sync` finds the partner
        for path, said in ((a_path, invited.out), (b_path, joined.out)):
            assert f"now syncs through the relay at {url}" in said
            with Journal.open(path) as j:
                assert SyncService.settings(j).relay_url == url
        # Wrong code through the relay: both fail, nothing written.
        c_path = tmp_path / "c.db"
        _make(c_path, "Cy").close()
        inv = await Inviter.start(c_path, ["--relay", url], _env(tmp_path, "c"))
        joined = await run_cli(tmp_path / "d.db", ["join", _other_code(inv.code), "--name", "Di",
                                                   "--relay", url], _env(tmp_path, "d"))
        invited = await inv.finish()
        assert invited.rc != 0 and joined.rc != 0
        assert WRONG_CODE in invited.err and WRONG_CODE in joined.err
        assert not (tmp_path / "d.db").exists() and len(_devices(c_path)) == 1
    finally:
        await server.stop()


# ---------------------------------------------------------------- zeroconf in namespaces
def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=10)


@pytest.fixture
def netns_pair() -> Iterator[tuple[str, str, str, str]]:
    """Two namespaces made for this test, joined by a veth pair on 10.231.N.0/24."""
    if os.geteuid() != 0 or shutil.which("ip") is None:
        pytest.skip("needs root and iproute2 to create network namespaces")
    tag = uuid.uuid4().hex[:6]
    ns_a, ns_b = f"cmtr-pa-{tag}", f"cmtr-pb-{tag}"
    octet = int(tag[:2], 16) % 250 + 1
    addr_a, addr_b = f"10.231.{octet}.1", f"10.231.{octet}.2"
    made: list[str] = []
    try:
        for ns in (ns_a, ns_b):
            _ip("netns", "add", ns)
            made.append(ns)
        _ip("-n", ns_a, "link", "add", "cmtra", "type", "veth", "peer", "name", "cmtrb",
            "netns", ns_b)
        for ns, dev, addr in ((ns_a, "cmtra", addr_a), (ns_b, "cmtrb", addr_b)):
            _ip("-n", ns, "addr", "add", f"{addr}/24", "dev", dev)
            _ip("-n", ns, "link", "set", dev, "up", "multicast", "on")
            _ip("-n", ns, "link", "set", "lo", "up")
    except (subprocess.CalledProcessError, OSError, subprocess.TimeoutExpired) as exc:
        for ns in made:
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        pytest.skip(f"cannot create network namespaces here: {exc}")
    try:
        yield ns_a, ns_b, addr_a, addr_b
    finally:
        for ns in made:  # deleting a namespace deletes its end of the veth pair
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)


@pytest.mark.netns
async def test_pairing_found_by_zeroconf_across_namespaces(
    tmp_path: Path, netns_pair: tuple[str, str, str, str]
) -> None:
    ns_a, ns_b, addr_a, addr_b = netns_pair
    a_path, b_path = tmp_path / "a.db", tmp_path / "b.db"
    _make(a_path, "Ada").close()
    inv = await Inviter.start(a_path, ["--lan-interface", addr_a, "--timeout", "30"],
                              _env(tmp_path, "a", interfaces=""),
                              prefix=["ip", "netns", "exec", ns_a])
    joined = await run_cli(b_path, ["join", inv.code, "--name", "Bo", "--lan-interface", addr_b,
                                    "--timeout", "15"], _env(tmp_path, "b", interfaces=""),
                           prefix=["ip", "netns", "exec", ns_b])
    invited = await inv.finish()
    _assert_paired(a_path, b_path, invited, joined)
