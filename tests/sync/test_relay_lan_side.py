"""The LAN side of issue 9: mDNS records an independent browser sees (a non-empty TXT record,
goodbye packets on stop) and a `serve` that runs out of file descriptors or is flooded with
bad connections without flooding its log. Loopback only."""

from __future__ import annotations

import os
import resource
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from zeroconf import ServiceBrowser, ServiceStateChange, Zeroconf

from comentor.model import testing
from comentor.model._journal import Journal
from comentor.sync._summary import EventSummary
from comentor.sync.lan.discovery import advertise

CLI = [sys.executable, "-m", "comentor.tui.cli"]


class Browser:
    """python-zeroconf's own ServiceBrowser on 127.0.0.1: what any other mDNS client sees."""

    def __init__(self, service_type: str) -> None:
        self.zc = Zeroconf(interfaces=["127.0.0.1"])
        self.events: list[tuple[ServiceStateChange, str]] = []
        self.txt: dict[str, bytes] = {}
        self.changed = threading.Condition()
        self.browser = ServiceBrowser(self.zc, service_type, handlers=[self._on_change])

    def _on_change(self, zeroconf: Zeroconf, service_type: str, name: str,
                   state_change: ServiceStateChange) -> None:
        if state_change is ServiceStateChange.Added:
            info = zeroconf.get_service_info(service_type, name, timeout=2000)
            if info is not None and info.text is not None:
                self.txt[name] = info.text
        with self.changed:
            self.events.append((state_change, name))
            self.changed.notify_all()

    def wait_for(self, state: ServiceStateChange, name: str, timeout: float) -> bool:
        with self.changed:
            return self.changed.wait_for(lambda: (state, name) in self.events, timeout)

    def close(self) -> None:
        self.browser.cancel()
        self.zc.close()


async def test_browser_sees_a_txt_record_and_a_goodbye_on_stop() -> None:
    service_type = f"_ct{os.urandom(4).hex()}._tcp.local."  # unique: workers run in parallel
    browser = Browser(service_type)
    try:
        advert = await advertise(service_type, "inst", 4242, interfaces=["127.0.0.1"],
                                 addresses=["127.0.0.1"])
        name = f"inst.{service_type}"
        assert await _in_thread(browser.wait_for, ServiceStateChange.Added, name, 10.0)
        text = browser.txt.get(name, b"")
        assert text and text != b"\x00"  # RFC 6763 §6.1: never empty
        assert b"txtvers=1" in text
        started = time.monotonic()
        await advert.close()
        # a goodbye (TTL 0) removes the entry at once; without it, only after the TTL (75 min)
        assert await _in_thread(browser.wait_for, ServiceStateChange.Removed, name, 5.0)
        assert time.monotonic() - started < 5.0
    finally:
        browser.close()


async def _in_thread(fn: object, *args: object) -> bool:
    import asyncio

    assert callable(fn)
    return bool(await asyncio.to_thread(fn, *args))


def test_event_summary_reports_the_first_then_counts_per_interval() -> None:
    now = [0.0]
    lines: list[str] = []
    summary = EventSummary(lines.append, interval=60.0, clock=lambda: now[0])
    for i in range(1000):
        summary.note("refused connections", f"refused a connection from 127.0.0.1:{i}: bad")
    assert lines == ["refused a connection from 127.0.0.1:0: bad"]
    now[0] = 61.0
    summary.tick()
    assert len(lines) == 2 and lines[1].startswith("999 more refused connections in the last 60 s")
    summary.note("refused connections", "again")
    summary.note("refused connections", "and again")
    now[0] = 63.5
    summary.flush()  # at shutdown: the span it really covers
    assert lines[2:] == ["again", "1 more refused connections in the last 2.5 s (the latest: "
                                  "and again)"]


def _paired(tmp: Path) -> Path:
    a = Journal.create(tmp / "a.db", "Ada")
    b = Journal.create(tmp / "b.db", "Ben", joining=True)
    testing.pair_in_process(a, b)
    a.close()
    b.close()
    return tmp / "a.db"


def _low_fd_limit() -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))


@pytest.mark.slow
def test_serve_out_of_file_descriptors_and_flooded_writes_a_few_lines(tmp_path: Path) -> None:
    journal = _paired(tmp_path)
    proc = subprocess.Popen(
        CLI + ["--journal", str(journal), "serve", "--port", "0", "--host", "127.0.0.1",
               "--no-discovery"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=_low_fd_limit,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        port = int(first.split("127.0.0.1:")[1].split(";")[0])
        held: list[socket.socket] = []
        deadline = time.monotonic() + 5.0
        while time.monotonic() < deadline:  # bounded: 5 s of garbage connections, held open
            try:
                s = socket.create_connection(("127.0.0.1", port), timeout=1)
                s.send(b"not a noise handshake" * 4)
                held.append(s)
            except OSError:
                time.sleep(0.01)
            if len(held) > 300:
                for s in held[:150]:
                    s.close()
                del held[:150]
        for s in held:
            s.close()
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=20)
    lines = err.splitlines()
    assert "Traceback" not in err
    assert any("cannot accept connections" in line for line in lines), err[:2000]
    assert len(lines) <= 6, err[:2000]
