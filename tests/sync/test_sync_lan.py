"""LAN sync end to end: the real commands in subprocesses (pair, serve, sync), zeroconf on
loopback and across two network namespaces, and the engine's live pushes."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from comentor.model import _devices as devices
from comentor.model import _entities as e
from comentor.model import testing
from comentor.model._journal import Journal
from comentor.model._projection import digest
from comentor.sync._report import TransportOutcome
from comentor.sync.keys import lan_tag
from comentor.sync.lan.engine import SyncEngine

CLI = [sys.executable, "-m", "comentor.tui.cli"]


def run(*args: str, env: dict[str, str] | None = None, timeout: float = 60,
        prefix: list[str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run((prefix or []) + CLI + list(args), capture_output=True, text=True,
                          timeout=timeout, env=env or dict(os.environ))


class Serve:
    """`comentor serve` in a subprocess; the port it printed."""

    def __init__(self, journal: Path, *extra: str, env: dict[str, str] | None = None,
                 prefix: list[str] | None = None, host: str = "127.0.0.1") -> None:
        self.proc = subprocess.Popen(
            (prefix or []) + CLI + ["--journal", str(journal), "serve", "--port", "0",
                                    "--host", host, *extra],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env or dict(os.environ),
        )
        assert self.proc.stdout is not None
        first = self.proc.stdout.readline()
        found = re.search(r"listening on [0-9.]+:(\d+)", first)
        if not found:
            self.proc.kill()
            raise AssertionError(f"serve did not start: {first!r} {self.proc.stderr.read()!r}")
        self.port = int(found.group(1))

    def stop(self) -> tuple[int, str, str]:
        self.proc.send_signal(signal.SIGTERM)
        out, err = self.proc.communicate(timeout=15)
        return self.proc.returncode, out, err


def digests(*paths: Path) -> list[Any]:
    out = []
    for p in paths:
        j = Journal.open(p)
        out.append(digest(j.conn))
        j.close()
    return out


def pair_with_commands(a: Path, b: Path) -> None:
    """Pair through `comentor invite` / `comentor join --peer` (zeroconf kept on loopback)."""
    env = dict(os.environ, COMENTOR_LAN_INTERFACES="127.0.0.1")
    assert run("--journal", str(a), "init", "--name", "Ada").returncode == 0
    inv = subprocess.Popen(CLI + ["--journal", str(a), "invite", "--host", "127.0.0.1",
                                  "--timeout", "30"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    assert inv.stdout is not None
    text = ""
    while "on port" not in text:
        line = inv.stdout.readline()
        assert line, inv.stderr.read() if inv.stderr else "invite ended"
        text += line
    code = re.search(r"Code: (\S+)", text).group(1)  # type: ignore[union-attr]
    port = re.search(r"on port (\d+)", text).group(1)  # type: ignore[union-attr]
    joined = run("--journal", str(b), "join", code, "--name", "Bo", "--peer",
                 f"127.0.0.1:{port}", env=env)
    assert joined.returncode == 0, joined.stderr
    assert inv.wait(30) == 0


def test_pair_serve_and_sync_through_the_commands(tmp_path: Path) -> None:
    a, b = tmp_path / "a.db", tmp_path / "b.db"
    pair_with_commands(a, b)
    assert run("--journal", str(a), "add", "goal", "Publish the field guide").returncode == 0
    assert run("--journal", str(b), "add", "commitment", "Send the proposal",
               "--due", "2030-01-10").returncode == 0
    serve = Serve(a, "--no-discovery")
    try:
        got = run("--journal", str(b), "sync", "--peer", f"127.0.0.1:{serve.port}", "--once")
        assert got.returncode == 0, got.stderr
        line = re.fullmatch(r"sent (\d+), received (\d+) operations from Ada\n", got.stdout)
        assert line and int(line.group(1)) > 0 and int(line.group(2)) > 0, got.stdout
        da, db = digests(a, b)
        assert da == db
        titles = {g["text"] for g in Journal.open(b).rows("goals")}
        assert "Publish the field guide" in titles
        # second round, edits on both sides again (one while serve is running)
        assert run("--journal", str(a), "add", "win", "Signed the library").returncode == 0
        assert run("--journal", str(b), "add", "ask", "Intro to a bank?",
                   "--outcome", "one warm intro").returncode == 0
        got = run("--journal", str(b), "sync", "--peer", f"127.0.0.1:{serve.port}", "--once")
        assert got.returncode == 0, got.stderr
        assert digests(a, b)[0] == digests(a, b)[1]
    finally:
        code, out, err = serve.stop()
    assert code == 0, err
    assert out.count("synced with Bo") == 2 and out.rstrip().endswith("stopped")


def test_sync_errors_are_one_line(tmp_path: Path, demo_path: Path) -> None:
    a = tmp_path / "a.db"
    assert run("--journal", str(a), "init", "--name", "Ada").returncode == 0
    for args, words in (
        (["sync", "--peer", "nonsense", "--once"], "HOST:PORT"),
        (["sync", "--peer", "127.0.0.1:9", "--once", "--timeout", "5"], "not paired"),
    ):
        got = run("--journal", str(a), *args)
        assert got.returncode == 1 and words in got.stderr and got.stderr.count("\n") == 1, got
    got = run("--journal", str(demo_path), "serve", "--port", "0", "--host", "127.0.0.1")
    assert got.returncode == 1 and "demo journal" in got.stderr and "Traceback" not in got.stderr


def test_unpaired_journal_is_refused(tmp_path: Path) -> None:
    a, b, c = tmp_path / "a.db", tmp_path / "b.db", tmp_path / "c.db"
    pair_with_commands(a, b)
    assert run("--journal", str(c), "init", "--name", "Eve").returncode == 0
    serve = Serve(a, "--no-discovery")
    try:
        got = run("--journal", str(c), "sync", "--peer", f"127.0.0.1:{serve.port}", "--once")
        assert got.returncode == 1 and "not paired" in got.stderr, got
        got = run("--journal", str(b), "sync", "--peer", f"127.0.0.1:{serve.port}", "--once")
        assert got.returncode == 0, got.stderr
    finally:
        serve.stop()
    got = run("--journal", str(b), "sync", "--peer", f"127.0.0.1:{serve.port}", "--once")
    assert got.returncode == 1 and "cannot reach" in got.stderr and got.stderr.count("\n") == 1


def test_serve_records_the_last_sync_that_status_shows(tmp_path: Path) -> None:
    a, b = tmp_path / "a.db", tmp_path / "b.db"
    pair_with_commands(a, b)
    with Journal.open(a) as j:  # whatever the first sync after pairing recorded
        j.set_setting("last_sync", None)
    assert "Last sync: never; syncs over the LAN\n" in run("--journal", str(a), "status").stdout
    serve = Serve(a, "--no-discovery")
    try:
        got = run("--journal", str(b), "sync", "--peer", f"127.0.0.1:{serve.port}", "--once")
        assert got.returncode == 0, got.stderr
    finally:
        serve.stop()
    for path in (a, b):
        shown = run("--journal", str(path), "status").stdout
        assert re.search(r"Last sync: just now \(\d\d:\d\d\) over the LAN; syncs over the "
                         r"LAN\n", shown), shown


def test_zeroconf_on_loopback(tmp_path: Path) -> None:
    a, b = tmp_path / "a.db", tmp_path / "b.db"
    pair_with_commands(a, b)
    assert run("--journal", str(a), "add", "goal", "Found by zeroconf").returncode == 0
    serve = Serve(a, "--lan-interface", "127.0.0.1")
    try:
        got = run("--journal", str(b), "sync", "--once", "--lan-interface", "127.0.0.1",
                  "--timeout", "20")
        assert got.returncode == 0, got.stderr
        assert "from Ada" in got.stdout
    finally:
        serve.stop()
    assert digests(a, b)[0] == digests(a, b)[1]


# ---------------------------------------------------------------- network namespaces

def _netns_available() -> str | None:
    if os.geteuid() != 0:
        return "needs root to create network namespaces"
    if shutil.which("ip") is None:
        return "the ip command (iproute2) is not installed"
    name = f"cmtest{uuid.uuid4().hex[:6]}"
    probe = subprocess.run(["ip", "netns", "add", name], capture_output=True, text=True)
    if probe.returncode != 0:
        return f"this machine does not allow network namespaces: {probe.stderr.strip()}"
    subprocess.run(["ip", "netns", "del", name], capture_output=True)
    return None


@pytest.fixture
def two_namespaces() -> Iterator[tuple[str, str, str, str]]:
    why = _netns_available()
    if why:
        pytest.skip(why)
    tag = uuid.uuid4().hex[:6]
    ns1, ns2 = f"cma{tag}", f"cmb{tag}"
    ip1, ip2 = "10.231.77.1", "10.231.77.2"
    cmds = [
        ["ip", "netns", "add", ns1], ["ip", "netns", "add", ns2],
        ["ip", "link", "add", f"va{tag}", "type", "veth", "peer", "name", f"vb{tag}"],
        ["ip", "link", "set", f"va{tag}", "netns", ns1],
        ["ip", "link", "set", f"vb{tag}", "netns", ns2],
        ["ip", "-n", ns1, "addr", "add", f"{ip1}/24", "dev", f"va{tag}"],
        ["ip", "-n", ns2, "addr", "add", f"{ip2}/24", "dev", f"vb{tag}"],
        ["ip", "-n", ns1, "link", "set", f"va{tag}", "up", "multicast", "on"],
        ["ip", "-n", ns2, "link", "set", f"vb{tag}", "up", "multicast", "on"],
        ["ip", "-n", ns1, "link", "set", "lo", "up"], ["ip", "-n", ns2, "link", "set", "lo", "up"],
    ]
    try:
        for cmd in cmds:
            done = subprocess.run(cmd, capture_output=True, text=True)
            if done.returncode != 0:
                pytest.skip(f"cannot set up the namespaces ({' '.join(cmd)}): {done.stderr.strip()}")
        yield ns1, ns2, ip1, ip2
    finally:
        for ns in (ns1, ns2):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)


@pytest.mark.netns
def test_zeroconf_across_two_network_namespaces(
    tmp_path: Path, two_namespaces: tuple[str, str, str, str]
) -> None:
    ns1, ns2, ip1, ip2 = two_namespaces
    a, b = tmp_path / "a.db", tmp_path / "b.db"
    pair_with_commands(a, b)
    assert run("--journal", str(a), "add", "goal", "Across namespaces").returncode == 0
    assert run("--journal", str(b), "add", "win", "From the other side").returncode == 0
    env = {k: v for k, v in os.environ.items() if k != "COMENTOR_LAN_INTERFACES"}
    serve = Serve(a, "--lan-interface", ip1, env=env, prefix=["ip", "netns", "exec", ns1],
                  host=ip1)
    try:
        got = run("--journal", str(b), "sync", "--once", "--lan-interface", ip2, "--timeout", "30",
                  env=env, prefix=["ip", "netns", "exec", ns2], timeout=60)
        assert got.returncode == 0, got.stderr
        assert "from Ada" in got.stdout
    finally:
        code, out, err = serve.stop()
    assert "synced with Bo" in out, err
    assert digests(a, b)[0] == digests(a, b)[1]


# ---------------------------------------------------------------- the engine, in process

def test_engine_pushes_a_local_edit_within_a_second(tmp_path: Path) -> None:
    a = Journal.create(tmp_path / "a.db", "Ada")
    b = Journal.create(tmp_path / "b.db", "Bo", joining=True)
    testing.pair_in_process(a, b)
    synced: list[TransportOutcome] = []
    errors: list[str] = []
    ea = SyncEngine(tmp_path / "a.db", listen_host="127.0.0.1", discover=False,
                    on_error=errors.append)
    eb = SyncEngine(tmp_path / "b.db", listen=False, discover=False, on_synced=synced.append,
                    on_error=errors.append)
    ea.start()
    eb.start()
    try:
        eb.add_peer("127.0.0.1", ea.port)
        deadline = time.monotonic() + 10
        while not synced and time.monotonic() < deadline:
            time.sleep(0.05)
        assert synced, errors
        assert ea.status.online == ["Bo"] or ea.status.state == "online"
        for who, src, dst, notify in ((a, a, b, ea), (b, b, a, None)):
            goal = e.add_goal(src, f"Live from {who.person_name(who.me)}")
            if notify is not None:
                notify.notify_local_change()  # the app's path; the CLI path is the poll
            start = time.monotonic()
            while dst.get("goals", goal) is None and time.monotonic() - start < 3:
                time.sleep(0.02)
            assert dst.get("goals", goal) is not None
            assert time.monotonic() - start < 1.0
        assert digest(a.conn) == digest(b.conn)
    finally:
        eb.stop()
        ea.stop()
        a.close()
        b.close()
    assert ea.status.state == "stopped"


def test_lan_tag_rotates_daily_and_depends_on_the_key() -> None:
    import datetime as dt

    key = bytes(range(32))
    day = dt.date(2026, 3, 2)
    t1 = lan_tag(key, "abcdefghijklmnop", day)
    assert re.fullmatch(r"[0-9a-f]{20}", t1)
    assert t1 != lan_tag(key, "abcdefghijklmnop", day + dt.timedelta(days=1))
    assert t1 != lan_tag(bytes(32), "abcdefghijklmnop", day)
    assert t1 != lan_tag(key, "bbcdefghijklmnop", day)


def test_a_device_revoked_during_a_live_session_gets_nothing_more(tmp_path: Path) -> None:
    """Revoking a device closes its open session (bye with the reason) before the next push;
    when it comes back it is told it was revoked, and gets nothing else."""
    import asyncio

    from comentor.model._ops import decode_op
    from comentor.model.replication import paired_devices
    from comentor.sync.lan.session import connect
    from comentor.sync.wire import changeset as cs

    a = Journal.create(tmp_path / "a.db", "Ada")
    b = Journal.create(tmp_path / "b.db", "Bo", joining=True)
    testing.pair_in_process(a, b)
    errors: list[str] = []
    engine = SyncEngine(tmp_path / "a.db", listen_host="127.0.0.1", discover=False,
                        keepalive=2.0, on_error=errors.append)
    engine.start()
    after: list[str] = []
    bye: list[str] = []

    async def stolen_device() -> None:
        ch, _ = await connect("127.0.0.1", engine.port, b, paired_devices(b))
        await ch.send(cs.encode(cs.Hello(b.device_id, "Bo", {})))
        revoked = False
        while True:
            msg = cs.decode(await asyncio.wait_for(ch.recv(), 8))
            if isinstance(msg, cs.Done) and not revoked:
                revoked = True
                devices.revoke_device(a, b.device_id)
                e.add_goal(a, "written after revoking Bo")
            elif isinstance(msg, cs.OpsBatch):
                await ch.send(cs.encode(cs.Ack(msg.n, 0)))
                if revoked:
                    after.extend(str(decode_op(x).fields.get("text")) for x in msg.ops)
                    return
            elif isinstance(msg, cs.Ping):
                await ch.send(cs.encode(cs.Pong()))
            elif isinstance(msg, cs.Bye):
                bye.append(msg.reason)
                return

    told: list[object] = []

    async def comes_back() -> None:
        # it gets through the handshake only to be told: its revocation, then goodbye
        ch, _ = await connect("127.0.0.1", engine.port, b, paired_devices(b))
        await ch.send(cs.encode(cs.Hello(b.device_id, "Bo", {})))
        while True:
            msg = cs.decode(await asyncio.wait_for(ch.recv(), 8))
            if isinstance(msg, cs.OpsBatch):
                told.extend(decode_op(x) for x in msg.ops)
                await ch.send(cs.encode(cs.Ack(msg.n, 0)))
            elif isinstance(msg, cs.Bye):
                told.append(msg.reason)
                return

    try:
        asyncio.run(asyncio.wait_for(stolen_device(), 20))
        assert bye and "revoked" in bye[0]
        assert "written after revoking Bo" not in after
        asyncio.run(asyncio.wait_for(comes_back(), 20))
        *ops, reason = told
        assert [(op.table, op.row) for op in ops] == [("devices", b.device_id)]  # type: ignore[attr-defined]
        assert "revoked_at" in ops[0].fields  # type: ignore[attr-defined]
        assert "removed from the partnership" in str(reason)
    finally:
        engine.stop()
        a.close()
        b.close()
    assert any("revoked" in m for m in errors), errors


def test_serve_says_nothing_wrong_when_a_partners_sync_ends_as_planned(tmp_path: Path) -> None:
    """A lasting `comentor sync` ends at its --timeout by closing the connection after its
    exchange: the serving side counts that as the end of a sync, not as a failure."""
    from comentor.model.testing import paired_journals

    paired_journals(tmp_path, ("Ada", "Ben"), close=True)
    serve = Serve(tmp_path / "ada.db", "--no-discovery")
    try:
        done = run("--journal", str(tmp_path / "ben.db"), "sync", "--peer",
                   f"127.0.0.1:{serve.port}", "--timeout", "2")
        assert done.returncode == 0, done.stderr
    finally:
        _code, out, err = serve.stop()
    assert "synced with Ben" in out
    assert "closed the connection" not in err and "ended:" not in err, err
