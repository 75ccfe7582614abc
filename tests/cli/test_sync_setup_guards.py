"""What a sync set-up refuses in one line, changing nothing (found by a QA pass with real
commands): a relay address with a bad port, `relay serve` on a data path that cannot be a
folder, revoking a device twice."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .helpers import refused, run, snapshot


@pytest.fixture
def jpath(tmp_path: Path) -> Path:
    path = tmp_path / "j.db"
    run(path, "init", "--name", "Ada")
    return path


@pytest.mark.parametrize("url", ["ws://127.0.0.1:notaport", "ws://127.0.0.1:99999",
                                 "ws://127.0.0.1:0", "ws://:8765", "wss://"])
def test_a_relay_address_with_a_bad_port_or_host_is_never_stored(jpath: Path, url: str) -> None:
    before = snapshot(jpath)
    refused(run(jpath, "relay", "use", url, ok=False), "not a relay address")
    assert snapshot(jpath) == before
    assert json.loads(run(jpath, "relay", "show", "--json").stdout) == {"relay_url": None}


def test_relay_serve_on_a_data_path_that_cannot_be_a_folder_is_refused(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    for data in (blocker, blocker / "below"):
        proc = run(tmp_path / "unused.db", "relay", "serve", "--host", "127.0.0.1", "--port",
                   "0", "--data", str(data), ok=False)
        refused(proc, "cannot be the relay's data folder")
    assert blocker.read_text() == "not a folder"


def test_joining_through_a_relay_that_is_not_there_says_so_in_plain_words(
        tmp_path: Path) -> None:
    import socket

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    joiner = tmp_path / "b.db"
    proc = run(joiner, "join", "7-orbit-candle-harbor", "--name", "Bo", "--relay",
               f"ws://127.0.0.1:{port}", "--timeout", "5", ok=False)
    refused(proc, "cannot reach the relay")
    assert "nothing is listening there" in proc.stderr
    assert "fresh code" not in proc.stderr and "Errno" not in proc.stderr  # no code at fault
    assert not joiner.exists()


def test_a_peer_that_is_not_there_is_said_in_plain_words(tmp_path: Path) -> None:
    import socket

    from comentor.model.testing import paired_journals

    paired_journals(tmp_path, ("Ada", "Ben"), close=True)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = run(tmp_path / "ada.db", "sync", "--peer", f"127.0.0.1:{port}", "--once",
               "--timeout", "5", ok=False)
    refused(proc, f"cannot reach 127.0.0.1:{port}: nothing is listening there")
    assert "Errno" not in proc.stderr


def test_pairing_options_that_would_ignore_each_other_are_refused(tmp_path: Path) -> None:
    ada = tmp_path / "ada.db"
    run(ada, "init", "--name", "Ada")
    before = snapshot(ada)
    refused(run(ada, "invite", "--relay", "ws://127.0.0.1:8765", "--port", "47000",
                ok=False), "--relay and --port do not go together")
    assert snapshot(ada) == before
    joiner = tmp_path / "bo.db"
    refused(run(joiner, "join", "7-orbit-candle-harbor", "--name", "Bo", "--relay",
                "ws://127.0.0.1:8765", "--peer", "127.0.0.1:47000", ok=False),
            "--relay and --peer do not go together")
    assert not joiner.exists()


def test_serve_refuses_an_unpaired_journal_as_sync_does(jpath: Path) -> None:
    proc = run(jpath, "serve", "--host", "127.0.0.1", "--port", "0", "--no-discovery",
               ok=False)
    refused(proc, "this journal is not paired yet")


def test_every_transports_failure_goes_to_stderr(tmp_path: Path) -> None:
    import socket

    from comentor.model.testing import paired_journals

    paired_journals(tmp_path, ("Ada", "Ben"), close=True)
    ada, shared = tmp_path / "ada.db", tmp_path / "shared"
    shared.mkdir()
    run(ada, "folder", "use", str(shared))
    shared.rmdir()  # the USB stick is gone
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = run(ada, "sync", "--peer", f"127.0.0.1:{port}", "--once", "--timeout", "5",
               ok=False)
    assert proc.returncode == 1 and proc.stdout == ""
    assert "LAN" in proc.stderr or "cannot reach" in proc.stderr
    assert "folder: " in proc.stderr and "does not exist" in proc.stderr
