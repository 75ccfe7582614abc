"""One check-in on two real apps, each with its own live sync: over the LAN engine, then a relay.

Unlike test_checkin_shared.py (which exchanges the journals in process), nothing here syncs
by hand: each app runs its sync bridge as a person's would (COMENTOR_NO_SYNC unset), on
127.0.0.1 only. Over the LAN, Ada's app listens on a free port and Ben's is told it as a
fixed peer (``--peer`` style, no zeroconf); through the relay, a real relay server runs in
the test and both journals use it (their LAN engines listen but have nobody to reach). The
clocks are real (live sync never runs under a fixed clock), so every step waits on a
condition with a generous timeout: a loaded 2-core machine may take seconds per hop.

Presence rides along: the item Ada has open shows on Ben's screen ("Ada is on: ...", and a
mark on that agenda row) over either transport, and goes when she leaves the check-in.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from textual import events
from textual.app import App
from textual.screen import Screen
from textual.widgets import Static

from comentor import model
from comentor.model import Journal
from comentor.model.testing import paired_journals
from comentor.tui.app import ComentorApp
from comentor.tui.cli import main as cli
from comentor.tui.screens.checkin import CheckinScreen
from comentor.tui.screens.checkin_end import EndStepScreen
from comentor.tui.screens.checkin_presence import PresenceLine
from comentor.tui.screens.dashboard import DashboardScreen
from comentor.tui.widgets.agenda import AgendaList
from comentor.tui.widgets.shared_notes import SharedTextArea
from comentor.tui.widgets.timer import CheckinTimer

from .helpers import wait_for

SIZE = (120, 36)
HOP = 30.0  # seconds one change may take from one app to the other on a loaded machine
# what each types into the shared notes, one key each in turn: 420 characters in all
ADA_TYPES = ("ada notes the pricing ask and the pitch deck " * 5)[:210]
BEN_TYPES = ("BEN WRITES DOWN THE INTRO AND THE NEXT STEPS " * 5)[:210]


def key_for(node: App[Any] | Screen[Any], action: str) -> str:
    """The key bound to `action` (bindings may move; the test presses whatever it is)."""
    for key, bindings in node._bindings.key_to_bindings.items():
        if any(b.action == action for b in bindings):
            return key
    raise AssertionError(f"no key for {action!r}")


# Two apps run in this one test: the test's own code runs as the inner app (Ben's) for
# Textual, so whatever acts on one app's screens goes through that app's queue
# (`call_later`), where it runs as that app.
def _key(app: App[Any], char: str) -> None:
    """One key from the terminal, as Pilot.press sends it, without waiting for the whole
    process to go idle (with two apps and their syncs it never quite does)."""
    event = events.Key("space" if char == " " else char, char)
    event.set_sender(app)
    assert app._driver is not None
    app._driver.send_message(event)


def _live_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COMENTOR_NO_SYNC", raising=False)
    monkeypatch.delenv("COMENTOR_SYNC_PEERS", raising=False)
    monkeypatch.setenv("COMENTOR_SYNC_HOST", "127.0.0.1")
    monkeypatch.setenv("COMENTOR_SYNC_PORT", "0")
    monkeypatch.setenv("COMENTOR_NO_DISCOVERY", "1")
    monkeypatch.setenv("COMENTOR_LAN_INTERFACES", "127.0.0.1")


def _seed(folder: Path) -> tuple[Path, Path]:
    """Ada and Ben, paired, with something on the agenda of each (it syncs when they start)."""
    paired_journals(folder, ("Ada", "Ben"), close=True)
    ada, ben = folder / "ada.db", folder / "ben.db"
    with Journal.open(ada) as j:
        model.add_commitment(j, "Send the pitch")
    with Journal.open(ben) as j:
        model.add_ask(j, "An intro to an editor", outcome="one warm introduction")
    return ada, ben


@contextlib.contextmanager
def _relay(folder: Path, paths: tuple[Path, Path]) -> Iterator[None]:
    """A real relay on 127.0.0.1, on its own thread and loop: the apps stop their syncs from
    the test's loop and must not wait on it to answer their goodbyes."""
    from comentor.sync.relay.server import RelayServer

    server = RelayServer(folder / "relay")
    ready, loop_box = threading.Event(), []

    async def serve() -> None:
        await server.start("127.0.0.1", 0)
        stop = asyncio.Event()
        loop_box.append((asyncio.get_running_loop(), stop))
        ready.set()
        await stop.wait()
        await server.stop()

    thread = threading.Thread(target=asyncio.run, args=(serve(),), daemon=True)
    thread.start()
    assert ready.wait(HOP), "the relay did not start"
    try:
        for path in paths:
            with Journal.open(path) as j:
                j.set_setting("relay_url", f"ws://127.0.0.1:{server.port}")
        yield
    finally:
        loop, stop = loop_box[0]
        loop.call_soon_threadsafe(stop.set)
        thread.join(HOP)


def _connected(app: ComentorApp, via: str) -> bool:
    live = app.sync_bridge.live if app.sync_bridge is not None else None
    if live is None:
        return False
    return bool(live.relay_connected if via == "relay" else app.sync_state.online)


async def _open_checkin(app: ComentorApp, pilot: Any) -> CheckinScreen:
    await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen) and app.screen.loads,
                   timeout=HOP, what="dashboard")
    app.call_later(app.action_open_screen, "checkin")
    await wait_for(pilot, lambda: isinstance(app.screen, CheckinScreen) and app.screen.loads,
                   timeout=HOP, what="check-in loaded")
    assert isinstance(app.screen, CheckinScreen)
    return app.screen


async def _until(pilots: tuple[Any, Any], cond: Callable[[], object], what: str) -> None:
    """Wait on a condition while both apps run (each pilot pauses its own app in turn)."""
    steps = int(HOP / 0.05)
    for n in range(steps):
        try:
            if cond():
                return
        except Exception:  # noqa: BLE001, S110 - a screen may be mid-mount
            pass
        await pilots[n % 2].pause(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _conflicts(path: Path, capsys: pytest.CaptureFixture[str]) -> str:
    capsys.readouterr()
    assert cli(["--journal", str(path), "conflicts"]) == 0
    return capsys.readouterr().out.strip()


@pytest.mark.parametrize("via", ["LAN", "relay"])
async def test_one_checkin_on_two_live_apps(via: str, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    ada_path, ben_path = _seed(tmp_path)
    _live_env(monkeypatch)
    relay = _relay(tmp_path, (ada_path, ben_path)) if via == "relay" \
        else contextlib.nullcontext()
    with relay:
        app_a = ComentorApp(ada_path)
        async with app_a.run_test(size=SIZE) as pa:
            if via == "LAN":  # Ben's app is told where Ada's listens, as with --peer
                await wait_for(pa, lambda: app_a.sync_bridge is not None
                               and app_a.sync_bridge.live is not None
                               and app_a.sync_bridge.live.engine is not None
                               and app_a.sync_bridge.live.engine.port, timeout=HOP,
                               what="Ada's LAN engine listening")
                assert app_a.sync_bridge and app_a.sync_bridge.live \
                    and app_a.sync_bridge.live.engine
                monkeypatch.setenv("COMENTOR_SYNC_PEERS",
                                   f"127.0.0.1:{app_a.sync_bridge.live.engine.port}")
            app_b = ComentorApp(ben_path)
            async with app_b.run_test(size=SIZE) as pb:
                pilots = (pa, pb)
                await _until(pilots, lambda: _connected(app_a, via) and _connected(app_b, via),
                             f"both apps connected ({via})")
                await _checkin_on_two_screens(app_a, app_b, pilots)
    # the CLI on each journal: the notes typed by both at once left no conflict
    assert _conflicts(ada_path, capsys) == "no conflicts"
    assert _conflicts(ben_path, capsys) == "no conflicts"


async def _checkin_on_two_screens(app_a: ComentorApp, app_b: ComentorApp,
                                  pilots: tuple[Any, Any]) -> None:
    pa, pb = pilots
    ada, ben = await _open_checkin(app_a, pa), await _open_checkin(app_b, pb)
    await _until(pilots, lambda: ada.state and ben.state and any(
        i.table == "asks" for i in ada.state.agenda), "Ben's ask on Ada's agenda")
    assert ada.state and ada.state.status.phase == "planned"

    # Ada starts the check-in; Ben's screen offers to join, and he joins with one key.
    await pa.press(key_for(ada, "start"))
    await _until(pilots, lambda: ada.live, "Ada's check-in started")
    await _until(pilots, lambda: ben.state and ben.state.status.phase == "started",
                 "the started check-in on Ben's screen")
    banner = str(ben.query_one("#banner", Static).content)
    assert "Ada started the check-in — press" in banner and not ben.live
    await pb.press(key_for(ben, "join"))
    await _until(pilots, lambda: ben.live, "Ben joined")

    # One timer: started on Ada's screen, running on Ben's; Ben hands over, Ada sees it.
    await pa.press(key_for(ada, "toggle_timer"))
    await _until(pilots, lambda: ada.query_one(CheckinTimer).running
                 and ben.query_one(CheckinTimer).running, "the timer on both screens")
    await pb.press(key_for(ben, "switch_turn"))
    await _until(pilots, lambda: ada.query_one(CheckinTimer).speaker == 1
                 and ada.query_one(CheckinTimer).running
                 and ben.query_one(CheckinTimer).speaker == 0,  # Ben speaks, on both
                 "Ben's hand-over on Ada's screen")

    # Both type into the shared notes at the same time, one key each in turn.
    notes = ada.query_one(SharedTextArea), ben.query_one(SharedTextArea)
    app_a.call_later(notes[0].focus)
    app_b.call_later(notes[1].focus)
    await _until(pilots, lambda: all(n.has_focus and not n.read_only for n in notes),
                 "both in the shared notes")
    for a_char, b_char in zip(ADA_TYPES, BEN_TYPES, strict=True):
        _key(app_a, a_char)
        _key(app_b, b_char)
        # about 30 keys a second on each screen: three times a quick typist, yet within
        # what a relay allows one connection (50 requests a second)
        await asyncio.sleep(0.03)
    typed = sorted(ADA_TYPES + BEN_TYPES)
    await _until(pilots, lambda: notes[0].text == notes[1].text
                 and sorted(notes[0].text) == typed, "the same notes on both screens")
    conflicts = await asyncio.to_thread(app_a.gateway.read, model.conflicts)
    assert conflicts == []

    # Ada looks at Ben's ask; Ben's screen says so (presence), and marks the row.
    agenda = ada.query_one(AgendaList)
    ask = next(k for k, i in agenda.items.items() if i.table == "asks")
    app_a.call_later(agenda.focus)
    app_a.call_later(setattr, agenda, "highlighted", agenda.get_option_index(ask))
    await _until(pilots, lambda: agenda.selected_id == ask, "Ada on Ben's ask")
    await _until(pilots, lambda: _presence(ben) == "Ada is on: An intro to an editor",
                 "Ada's presence on Ben's screen")
    ben_agenda = ben.query_one(AgendaList)
    await _until(pilots, lambda: "◂ Ada is here" in str(ben_agenda.get_option(ask).prompt),
                 "the mark on Ben's row of his ask")
    assert sum("Ada is here" in str(ben_agenda.get_option_at_index(n).prompt)
               for n in range(ben_agenda.option_count)) == 1

    # Ben adds a commitment: her selection stays on the ask.
    session = ben.state.session if ben.state else None
    await asyncio.to_thread(app_b.gateway.write, lambda j: model.add_checkin_item(
        j, "commitment", {"text": "Aardvark first", "person": j.me}, session=session))
    await _until(pilots, lambda: any(i.text == "Aardvark first" for i in agenda.items.values()),
                 "Ben's new commitment on Ada's agenda")
    assert agenda.selected_id == ask
    assert agenda.get_option_at_index(agenda.highlighted or 0).id == ask
    new = next(i for i in agenda.items.values() if i.text == "Aardvark first")
    assert new.new and new.added_by == "Ben"

    # Ben ends the check-in; Ada's screen shows the same summary.
    await pb.press("escape")  # from the notes back to the agenda
    await pb.press(key_for(ben, "end"))
    await _until(pilots, lambda: isinstance(app_b.screen, EndStepScreen), "Ben's end step")
    end_b = app_b.screen
    assert isinstance(end_b, EndStepScreen)
    await pb.press("enter")
    await _until(pilots, lambda: end_b.summary is not None, "Ben's summary")
    await _until(pilots, lambda: isinstance(app_a.screen, EndStepScreen)
                 and app_a.screen.summary is not None, "the summary on Ada's screen")
    end_a = app_a.screen
    assert isinstance(end_a, EndStepScreen)
    assert end_a.summary == end_b.summary
    text = str(end_a.query_one("#end-summary", Static).content)
    assert "Ended by Ben" in text and "Aardvark first" in text

    # Ada leaves the check-in: Ben's check-in screen (under his end step) shows her nowhere.
    assert _presence(ben).startswith("Ada is on: ")
    await pa.press("enter")
    await _until(pilots, lambda: isinstance(app_a.screen, DashboardScreen), "Ada's dashboard")
    await _until(pilots, lambda: _presence(ben) == "" and not any(
        "Ada is here" in str(ben_agenda.get_option_at_index(n).prompt)
        for n in range(ben_agenda.option_count)), "Ada's presence gone from Ben's screen")


def _presence(screen: CheckinScreen) -> str:
    """The check-in's presence line, as shown ("" while it is hidden)."""
    line = screen.query_one(PresenceLine)
    return str(line.content) if line.display else ""


class _App:
    """What the sync bridge calls on the app, recorded."""

    is_running = True

    def __init__(self) -> None:
        self.told: list[str] = []
        self.reloads = 0

    def notify(self, text: str, **_: object) -> None:
        self.told.append(text)

    def notify_journal_changed(self, source: str) -> None:
        self.reloads += 1


async def test_the_partners_typing_is_told_once_every_few_seconds(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Every arrival reloads the screens at once; the notification is not one per key."""
    from comentor.tui import sync_bridge

    monkeypatch.setattr(sync_bridge, "_TELL_EVERY", 0.2)
    app = _App()
    bridge = sync_bridge.SyncBridge(app)  # type: ignore[arg-type]
    bridge._loop = asyncio.get_running_loop()
    for _ in range(10):
        bridge._on_applied("LAN", 1, "Ada Lovelace")
    bridge._on_applied("relay", 1, "")
    for _ in range(100):
        await asyncio.sleep(0.02)
        if len(app.told) >= 3:
            break
    assert app.reloads == 11
    assert app.told == ["1 change from Ada", "9 changes from Ada",
                        "Changes from your partner arrived through the relay"]
