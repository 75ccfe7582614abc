"""Issue 8 in the app (points 5 and 6): a revoked device says so on the devices screen and
its sync stops with that sentence; every held-back change is released with one key."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from textual.widgets import Static

from comentor.model import _entities as entities
from comentor.model import _quarantine as quarantine
from comentor.model import revoke_device, testing
from comentor.model._journal import Journal
from comentor.model._remote import apply_remote
from comentor.model.replication import ops_since, version_vector
from comentor.tui.app import ComentorApp
from comentor.tui.modals.confirm import ConfirmModal
from comentor.tui.screens.conflicts import ConflictsScreen
from comentor.tui.screens.devices import DevicesScreen

from .helpers import wait_for
from .screen_harness import FIXED, Harness, fixed_now
from .test_screens import SIZE, settle


def _revoked(tmp_path: Path) -> Path:
    """Jonas's journal, told that Maya revoked it."""
    maya, jonas = testing.paired_journals(tmp_path, ("Maya", "Jonas"), now=fixed_now)
    revoke_device(maya, jonas.device_id)
    apply_remote(jonas, ops_since(maya, version_vector(jonas)))
    maya.close()
    jonas.close()
    return tmp_path / "jonas.db"


async def test_the_devices_screen_says_this_device_was_removed(tmp_path: Path) -> None:
    app = Harness(_revoked(tmp_path), DevicesScreen())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        text = str(app.screen.query_one("#partnership", Static).content)
    assert ("This device was removed from the partnership on 2026-11-26 by Maya: what you "
            "write here stays on this device. To share again, pair it as a new device.") in text


async def test_a_removed_device_does_not_sync_and_says_why(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _revoked(tmp_path)
    monkeypatch.delenv("COMENTOR_NO_SYNC", raising=False)
    monkeypatch.setenv("COMENTOR_SYNC_HOST", "127.0.0.1")
    monkeypatch.setenv("COMENTOR_SYNC_PORT", "0")
    monkeypatch.setenv("COMENTOR_NO_DISCOVERY", "1")
    app = ComentorApp(path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: any("removed from the partnership" in n.message
                                          for n in app._notifications),
                       what="the removal notice")
        assert app.sync_bridge is not None and app.sync_bridge.live is None


async def test_release_every_held_back_change_at_once(tmp_path: Path) -> None:
    maya, jonas = testing.paired_journals(tmp_path, ("Maya", "Jonas"), now=fixed_now,
                                          close=True)
    ahead = Journal.open(tmp_path / "jonas.db", now=lambda: FIXED + dt.timedelta(hours=3))
    for n in range(3):
        entities.add_win(ahead, f"won with a fast clock {n}")
    here = Journal.open(tmp_path / "maya.db", now=fixed_now)
    assert apply_remote(here, ops_since(ahead, version_vector(here))).quarantined >= 3
    ahead.close()
    here.close()
    app = Harness(tmp_path / "maya.db", ConflictsScreen())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        assert len(app.screen.held) >= 3  # type: ignore[attr-defined]
        await pilot.press("R")
        assert isinstance(app.screen, ConfirmModal)
        await pilot.press("y")
        await settle(pilot, app)
        assert app.screen.held == []  # type: ignore[attr-defined]
    j = Journal.open(tmp_path / "maya.db", now=fixed_now)
    assert quarantine.quarantined(j) == []
    assert {w["text"] for w in j.rows("wins")} >= {f"won with a fast clock {n}" for n in range(3)}
    j.close()


def test_the_app_writes_to_a_backup_moved_into_place_while_it_runs(tmp_path: Path) -> None:
    """A restore while the app runs: its database thread lets go of the old file (its
    write-ahead log emptied, so the restored file never reads the old pages) and writes to
    the restored one."""
    import os
    import shutil
    import sqlite3

    from comentor.tui.data import JournalGateway

    path = tmp_path / "maya.db"
    Journal.create(path, "Maya", now=fixed_now).close()
    with sqlite3.connect(path) as src, sqlite3.connect(tmp_path / "saved.db") as dst:
        src.backup(dst)
    gateway = JournalGateway(path, now=fixed_now)
    try:
        gateway.write(entities.add_goal, "written before the restore")
        shutil.copy(tmp_path / "saved.db", tmp_path / "restoring.db")
        os.replace(tmp_path / "restoring.db", path)
        gateway.write(entities.add_goal, "written after the restore")
        texts = gateway.read(lambda j: {g["text"] for g in j.rows("goals")})
    finally:
        gateway.close()
    assert texts == {"written after the restore"}
    j = Journal.open(path, now=fixed_now)
    assert {g["text"] for g in j.rows("goals")} == {"written after the restore"}
    assert j.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    j.close()
