"""The running app syncs and pairs: real journals, real engines, network only on 127.0.0.1.

App A runs with its sync bridge on (LAN engine listening on 127.0.0.1, no zeroconf, told
where B listens); B is a second real SyncEngine in the test process. Pairing runs the real
flow against a real inviter or joiner in a thread, over 127.0.0.1 (zeroconf kept on
loopback).
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Input, Static

from comentor.model import _entities as entities
from comentor.model._journal import Journal
from comentor.model.testing import paired_paths
from comentor.sync.errors import PairingError
from comentor.sync.lan.engine import SyncEngine
from comentor.sync.pairing.codes import PairingCode, make_code, parse_code
from comentor.sync.pairing.flow import InviteOptions, JoinOptions, invite, join
from comentor.sync.pairing.protocol import WRONG_CODE
from comentor.tui.app import ComentorApp
from comentor.tui.screens.dashboard import DashboardScreen, Panel
from comentor.tui.screens.devices import DevicesScreen
from comentor.tui.screens.pairing import InviteModal, JoinModal
from comentor.tui.when import describe_last

from .helpers import wait_for

SIZE = (120, 36)


def _lan_env(monkeypatch: pytest.MonkeyPatch, peer_port: int | None = None) -> None:
    monkeypatch.delenv("COMENTOR_NO_SYNC", raising=False)
    monkeypatch.setenv("COMENTOR_SYNC_HOST", "127.0.0.1")
    monkeypatch.setenv("COMENTOR_SYNC_PORT", "0")
    monkeypatch.setenv("COMENTOR_NO_DISCOVERY", "1")
    monkeypatch.setenv("COMENTOR_LAN_INTERFACES", "127.0.0.1")
    if peer_port is not None:
        monkeypatch.setenv("COMENTOR_SYNC_PEERS", f"127.0.0.1:{peer_port}")


def _messages(app: ComentorApp) -> list[str]:
    return [n.message for n in app._notifications]


def _sync_box(app: ComentorApp) -> str:
    return str(app.screen.query_one("#sync-box", Static).content)


def _has(path: Path, table: str, text: str) -> bool:
    j = Journal.open(path)
    try:
        return bool(j._rows(table, "text = ?", (text,)))
    finally:
        j.close()


async def test_app_syncs_live_with_the_partner_over_the_lan(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pa, pb = paired_paths(tmp_path, ("Maya", "Jonas"), device_names=("Maya's laptop", "Jonas's desk"), sync=False)
    engine_b = SyncEngine(pb, listen_host="127.0.0.1", listen_port=0, discover=False)
    engine_b.start()
    try:
        _lan_env(monkeypatch, engine_b.port)
        app = ComentorApp(pa)
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen)
                           and app.screen.loads > 0, what="dashboard")
            await wait_for(pilot, lambda: app.sync_state.online, timeout=15, what="partner online")
            await wait_for(pilot, lambda: "partner online" in _sync_box(app)
                           and "LAN" in _sync_box(app), what="online in the sync box")

            # an edit in B's journal shows up on A's dashboard, with a notification
            jb = Journal.open(pb)
            try:
                entities.add_commitment(jb, "Send Maya the pricing page draft")
            finally:
                jb.close()
            engine_b.notify_local_change()
            await wait_for(pilot, lambda: "pricing page draft" in str(
                app.screen.query_one("#p-theirs", Panel).content),
                timeout=10, what="B's commitment on A's dashboard")
            await wait_for(pilot, lambda: any("change" in m and "from Jonas" in m
                                              for m in _messages(app)),
                           what="a notification about Jonas's changes")

            # an edit made through A's app reaches B
            await asyncio.to_thread(app.gateway.write, entities.add_win, "Signed the studio lease")
            for _ in range(250):
                if await asyncio.to_thread(_has, pb, "wins", "Signed the studio lease"):
                    break
                await pilot.pause(0.04)
            else:
                raise AssertionError("A's win did not reach B")
            saved = await app.gateway.read_async(lambda j: (j.setting("last_sync"), j.setting("last_via")))
            assert saved[0] and saved[1] == "LAN"
    finally:
        engine_b.stop()
    assert app.sync_bridge is not None and app.sync_bridge.live is None  # stopped on exit


async def test_app_syncs_through_the_relay(tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    from comentor.sync.mailbox.relay_sync import RelaySync
    from comentor.sync.relay.server import RelayServer

    pa, pb = paired_paths(tmp_path, ("Maya", "Jonas"), device_names=("Maya's laptop", "Jonas's desk"), sync=False)
    server = RelayServer(tmp_path / "relay")
    await server.start("127.0.0.1", 0)
    url = f"ws://127.0.0.1:{server.port}"
    try:
        for path in (pa, pb):
            j = Journal.open(path)
            j.set_setting("relay_url", url)
            j.close()
        _lan_env(monkeypatch)  # the LAN engine runs too, but has nobody to reach
        app = ComentorApp(pa)
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen)
                           and app.screen.loads > 0, what="dashboard")
            await wait_for(pilot, lambda: app.sync_bridge is not None
                           and app.sync_bridge.live is not None
                           and app.sync_bridge.live.relay_connected, what="relay connected")
            jb = Journal.open(pb)
            try:
                entities.add_commitment(jb, "Book the workshop room")
            finally:
                jb.close()
            await RelaySync(pb).sync_once()
            await wait_for(pilot, lambda: "workshop room" in str(
                app.screen.query_one("#p-theirs", Panel).content),
                timeout=10, what="B's commitment through the relay")
            assert any("through the relay" in m for m in _messages(app))
            await wait_for(pilot, lambda: "last reached via relay" in _sync_box(app),
                           what="the relay in the sync box")
            # and back: an edit through A's app reaches B via the relay
            await asyncio.to_thread(app.gateway.write, entities.add_win, "Workshop booked")
            for _ in range(100):
                await asyncio.sleep(0.1)
                await RelaySync(pb).sync_once()
                if await asyncio.to_thread(_has, pb, "wins", "Workshop booked"):
                    break
            else:
                raise AssertionError("A's win did not reach B through the relay")
    finally:
        await server.stop()


async def test_no_sync_for_a_demo_journal(demo_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _lan_env(monkeypatch)
    app = ComentorApp(demo_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen)
                       and app.screen.loads > 0, what="dashboard")
        bridge = app.sync_bridge
        assert bridge is not None and bridge._boot is not None
        await asyncio.to_thread(bridge._boot.join, 10)
        assert bridge.live is None
        assert "demo journal: never syncs" in _sync_box(app)


async def test_sync_can_be_turned_off(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pa, _ = paired_paths(tmp_path, ("Maya", "Jonas"), device_names=("Maya's laptop", "Jonas's desk"), sync=False)
    _lan_env(monkeypatch)
    monkeypatch.setenv("COMENTOR_NO_SYNC", "1")
    app = ComentorApp(pa)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen)
                       and app.screen.loads > 0, what="dashboard")
        assert getattr(app, "sync_bridge", None) is None


def test_describe_last_is_relative_and_keeps_odd_text() -> None:
    import datetime as dt

    now = dt.datetime(2026, 11, 26, 12, 0, tzinfo=dt.UTC)
    assert describe_last("2026-11-26T11:58:00Z", now).startswith("2 min ago")
    assert describe_last(None, now) == "never"
    assert describe_last("yesterday-ish", now) == "yesterday-ish"


# ---------------------------------------------------------------- pairing from the app
def _inviter(j_path: Path, code: PairingCode, port: list[int], ready: threading.Event,
             out: list[Any]) -> threading.Thread:
    """A real `invite` on 127.0.0.1 in its own thread, loop and Journal."""

    def on_code(_code: PairingCode, where: str) -> None:
        port.append(int(where.split()[2]))
        ready.set()

    def main() -> None:
        j = Journal.open(j_path)
        try:
            opts = InviteOptions(timeout=20, host="127.0.0.1", interfaces=["127.0.0.1"],
                                 step_timeout=5)
            out.append(asyncio.run(invite(j, opts, on_code, code=code)))
        except BaseException as exc:  # noqa: BLE001 - the test inspects it
            out.append(exc)
        finally:
            j.close()
            ready.set()

    thread = threading.Thread(target=main, daemon=True)
    thread.start()
    return thread


async def _open_devices(app: ComentorApp, pilot: Any) -> None:
    await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen), what="dashboard")
    await pilot.press("p")
    await wait_for(pilot, lambda: isinstance(app.screen, DevicesScreen), what="devices")


async def test_join_modal_with_a_wrong_code_says_so(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COMENTOR_NO_SYNC", "1")
    Journal.create(tmp_path / "ada.db", "Ada").close()
    Journal.create(tmp_path / "bo.db", "Bo", joining=True).close()
    code = make_code()
    port: list[int] = []
    ready, out = threading.Event(), []
    thread = _inviter(tmp_path / "ada.db", code, port, ready, out)
    assert await asyncio.to_thread(ready.wait, 10) and port
    wrong = "-".join([str(code.nameplate), *reversed(code.words)])
    if wrong == str(code):
        wrong = f"{code.nameplate}-apple-apple-apple"
    app = ComentorApp(tmp_path / "bo.db")
    async with app.run_test(size=SIZE) as pilot:
        await _open_devices(app, pilot)
        await pilot.press("j")
        await wait_for(pilot, lambda: isinstance(app.screen, JoinModal), what="join modal")
        modal = app.screen
        # validated in place: a word that is not in the list is named at once
        await pilot.press(*"7-orbit-candle-harbr")
        await wait_for(pilot, lambda: "harbr" in str(modal.query_one("#pair-error", Static).content),
                       what="in-place validation")
        modal.query_one("#pair-input", Input).value = wrong
        modal.query_one("#pair-peer", Input).value = f"127.0.0.1:{port[0]}"
        await pilot.pause()
        assert str(modal.query_one("#pair-error", Static).content) == ""
        await pilot.click("#pair-start")
        await wait_for(pilot, lambda: WRONG_CODE in str(modal.query_one("#pair-error",
                                                                         Static).content),
                       timeout=20, what="the wrong-code message")
        assert not modal.paired
    await asyncio.to_thread(thread.join, 10)
    assert isinstance(out[0], PairingError) and str(out[0]) == WRONG_CODE
    j = Journal.open(tmp_path / "bo.db")
    try:
        assert j.partnership_key() is None and len(j.rows("devices")) == 1
    finally:
        j.close()


async def test_invite_modal_pairs_and_shows_the_safety_number(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COMENTOR_NO_SYNC", "1")
    monkeypatch.setenv("COMENTOR_SYNC_HOST", "127.0.0.1")
    monkeypatch.setenv("COMENTOR_LAN_INTERFACES", "127.0.0.1")
    Journal.create(tmp_path / "ada.db", "Ada").close()
    app = ComentorApp(tmp_path / "ada.db")
    async with app.run_test(size=SIZE) as pilot:
        await _open_devices(app, pilot)
        await pilot.press("i")
        await wait_for(pilot, lambda: isinstance(app.screen, InviteModal), what="invite modal")
        modal = app.screen
        await pilot.click("#pair-start")
        await wait_for(pilot, lambda: modal.query_one("#pair-code").display
                       and "on port" in str(modal.query_one("#pair-status", Static).content),
                       what="the code")
        shown = str(modal.query_one("#pair-code", Static).content)
        code = parse_code(shown.lower().replace("   ", "-"))
        status = str(modal.query_one("#pair-status", Static).content)
        peer_port = int(status.split("on port ")[1].split("…")[0])

        def joiner() -> str:
            async def go() -> str:
                j, result = await join(tmp_path / "bo.db", None, code, "Bo",
                                       JoinOptions(peer=("127.0.0.1", peer_port), timeout=10))
                j.close()
                return result.safety_number

            return asyncio.run(go())

        theirs = await asyncio.to_thread(joiner)
        await wait_for(pilot, lambda: modal.paired, timeout=15, what="paired")
        safety = str(modal.query_one("#pair-safety", Static).content)
        assert f"Safety number: {theirs}" in safety and "phone" in safety
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, DevicesScreen), what="back")
        await wait_for(pilot, lambda: app.screen.query_one("#devices").row_count == 2,
                       what="the new device listed")


def test_comentor_sync_falls_back_to_the_folder_when_the_lan_has_nobody(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`comentor sync`: LAN, then relay and folder; a partner away from the LAN fails nothing."""
    from comentor.tui.cli import main

    pa, pb = paired_paths(tmp_path, ("Maya", "Jonas"), device_names=("Maya's laptop", "Jonas's desk"), sync=False)
    shared = tmp_path / "shared"
    shared.mkdir()
    jb = Journal.open(pb)
    entities.add_commitment(jb, "Draft the talk outline")
    jb.close()
    for path in (pa, pb):
        assert main(["--journal", str(path), "folder", "use", str(shared)]) == 0
    assert main(["--journal", str(pb), "sync-folder"]) == 0
    capsys.readouterr()
    # nothing listens on port 9: the LAN fails, the folder still brings B's commitment
    code = main(["--journal", str(pa), "sync", "--peer", "127.0.0.1:9", "--once",
                 "--timeout", "3"])
    out = capsys.readouterr()
    assert code == 0
    assert "folder: received" in out.out and "LAN:" in out.err
    assert _has(pa, "commitments", "Draft the talk outline")


def test_each_interface_words_the_remedy_its_own_way() -> None:
    """The core's errors carry fields, never flags; the CLI and the app word them."""
    from comentor.model.errors import MassDeletionError
    from comentor.sync.errors import OptionError, PairingError, RelayError, TransportError
    from comentor.tui.cli.sync import cli_text
    from comentor.tui.screens.pairing import app_text

    nobody = TransportError("no partner device found on this network within 30 s", hint="peer")
    assert cli_text(nobody).endswith("(try --peer HOST:PORT)")
    assert "--" not in app_text(nobody) and "address" in app_text(nobody)
    bad_peer = OptionError("a partner device's address must look like HOST:PORT, not 'x'",
                           option="peer")
    assert cli_text(bad_peer).startswith("--peer: ")
    assert app_text(bad_peer).startswith("Inviting device's address: ")
    mass = MassDeletionError("this sync would delete 9 of 10 items", option="allow_mass_delete")
    assert cli_text(mass).endswith("(sync again with --allow-mass-delete)")
    mode = PairingError("both sides must choose the same", option="device")
    assert cli_text(mode).endswith("(--device)") and "--" not in app_text(mode)
    unset = RelayError("no relay configured", option="relay_url", hint="configure")
    assert cli_text(unset) == "no relay configured: run `comentor relay use URL` first"
    assert cli_text(RelayError("plain")) == "plain" == app_text(RelayError("plain"))
