"""Ctrl-C during `comentor sync`: real processes on a paired journal, a real SIGINT.

An interrupted sync says so in one line (`comentor: interrupted`, exit 130, as every
command does), never with asyncio's "Task was destroyed" noise or a false "no partner
device found", and starts nothing more: a relay and a folder configured for the journal
are not synced after the interrupt. The partner and the relay here are bare sockets on
127.0.0.1 that accept and never answer, so that the test knows when the command has
started (it connected) and the sync is still under way when the signal comes.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from comentor.model import testing

from .helpers import run

NOISE = ("Task was destroyed", "Traceback", "Exception ignored", "never retrieved")


@pytest.fixture
def ada(tmp_path: Path) -> Path:
    """Ada's journal, paired with Ben's (which never runs: no partner answers here)."""
    testing.paired_journals(tmp_path, close=True, sync=False)
    return tmp_path / "ada.db"


@contextlib.contextmanager
def silent_listener() -> Iterator[socket.socket]:
    """A socket on 127.0.0.1 that accepts connections and never says a word."""
    sock = socket.create_server(("127.0.0.1", 0))
    try:
        yield sock
    finally:
        sock.close()


def port_of(sock: socket.socket) -> int:
    return int(sock.getsockname()[1])


def _sigint_as_usual() -> None:
    # a test run in the background may have SIGINT ignored, which the child would inherit
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start_sync(journal: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "comentor.tui.cli", "--journal", str(journal), "sync", *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ),
        preexec_fn=_sigint_as_usual)


def wait_for_connection(proc: subprocess.Popen[str], listener: socket.socket,
                        within: float = 30.0) -> socket.socket:
    """The connection ``proc`` opened to ``listener``: by then the sync is running."""
    listener.settimeout(0.1)
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            return listener.accept()[0]
        except TimeoutError:
            if proc.poll() is not None:
                out, err = proc.communicate()
                pytest.fail(f"sync ended before it connected: {proc.returncode} {out!r} {err!r}")
    proc.kill()
    pytest.fail("sync never connected")


def interrupt(proc: subprocess.Popen[str]) -> tuple[int, str, str]:
    """Ctrl-C: the exit status, stdout and stderr (a sync still running 30 s after the
    signal fails the test)."""
    proc.send_signal(signal.SIGINT)
    try:
        out, err = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        pytest.fail(f"sync did not end after Ctrl-C: {out!r} {err!r}")
    return proc.returncode, out, err


def assert_interrupted(code: int, err: str) -> None:
    """Said in one line with the usual exit status. How long it took is not asserted (these
    machines are shared: no timed assertion); a sync that never ends after the signal fails
    in :func:`interrupt`."""
    assert code == 130, err
    assert err.strip().splitlines()[-1] == "comentor: interrupted", err
    assert not any(noise in err for noise in NOISE), err


def connected(listener: socket.socket) -> bool:
    """Whether anything connected to ``listener`` (without waiting)."""
    listener.settimeout(0)
    try:
        listener.accept()[0].close()
    except BlockingIOError:
        return False
    return True


def test_once_interrupted_says_so_and_nothing_else(ada: Path) -> None:
    with silent_listener() as partner:
        proc = start_sync(ada, "--once", "--peer", f"127.0.0.1:{port_of(partner)}")
        with wait_for_connection(proc, partner):
            code, out, err = interrupt(proc)
    assert_interrupted(code, err)
    assert err.strip().splitlines() == ["comentor: interrupted"]
    assert out == ""


def test_a_lasting_sync_interrupted_says_interrupted_not_nobody_found(ada: Path) -> None:
    with silent_listener() as partner:
        proc = start_sync(ada, "--peer", f"127.0.0.1:{port_of(partner)}", "--timeout", "30")
        with wait_for_connection(proc, partner):
            code, out, err = interrupt(proc)
    assert_interrupted(code, err)
    assert err.strip().splitlines() == ["comentor: interrupted"]  # not "no partner found"
    assert out == ""


def test_after_ctrl_c_neither_relay_nor_folder_syncs(ada: Path, tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    with silent_listener() as partner, silent_listener() as relay:
        run(ada, "folder", "use", str(shared))
        run(ada, "relay", "use", f"ws://127.0.0.1:{port_of(relay)}")
        proc = start_sync(ada, "--peer", f"127.0.0.1:{port_of(partner)}", "--timeout", "30")
        with wait_for_connection(proc, partner):
            code, _, err = interrupt(proc)
        assert not connected(relay), "the relay sync started after Ctrl-C"
    assert_interrupted(code, err)
    assert err.strip().splitlines() == ["comentor: interrupted"]
    assert [p for p in shared.rglob("*") if p.is_file()] == [], "the folder synced after Ctrl-C"


def test_ctrl_c_while_the_relay_syncs_cuts_it_short_and_skips_the_folder(
        ada: Path, tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    refused = socket.socket()  # bound, not listening: the LAN partner is not there
    refused.bind(("127.0.0.1", 0))
    with refused, silent_listener() as relay:
        run(ada, "folder", "use", str(shared))
        run(ada, "relay", "use", f"ws://127.0.0.1:{port_of(relay)}")
        proc = start_sync(ada, "--peer", f"127.0.0.1:{port_of(refused)}", "--timeout", "1")
        with wait_for_connection(proc, relay):  # the LAN gave up; the relay is under way
            code, _, err = interrupt(proc)
    assert_interrupted(code, err)
    assert [p for p in shared.rglob("*") if p.is_file()] == [], "the folder synced after Ctrl-C"
