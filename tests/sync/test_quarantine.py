"""Quarantine that heals (issue 8, point 5): each operation is judged by its own stamp, so a
sender's good operations pass once its clock is fixed; releasing never moves this device's
clock past the allowed skew; everything is released at once; and the sender is told, at the
next exchange, how many of its changes are held back and why."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from comentor.model import _entities as e
from comentor.model import _quarantine as quarantine
from comentor.model import testing
from comentor.model._clock import MAX_DRIFT_MS, physical_ms
from comentor.model._journal import Journal
from comentor.model._remote import apply_remote
from comentor.model.replication import ops_since, version_vector
from comentor.model.testing import FixedClock as Clock
from comentor.sync.mailbox.folder import FolderSync

from .test_changeset import run_pair

HELD_LINE = ("3 of your changes are held back by Ada's device: stamped 2 h in the future; "
             "fix this device's clock")


@pytest.fixture
def pair(tmp_path: Path) -> Any:
    """Ada (a right clock) and Ben, whose clock is two hours ahead for now."""
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    ada_clock, ben_clock = Clock(now), Clock(now + dt.timedelta(hours=2))
    ada = Journal.create(tmp_path / "ada.db", "Ada", now=ada_clock)
    ben = Journal.create(tmp_path / "ben.db", "Ben", joining=True, now=ben_clock)
    testing.pair_in_process(ada, ben)
    testing.sync_in_process(ada, ben)  # (Ada holds Ben's own records back already)
    quarantine.release_all(ada)
    yield ada, ben, ada_clock, ben_clock
    ada.close()
    ben.close()


def send(src: Journal, dst: Journal) -> Any:
    return apply_remote(dst, ops_since(src, version_vector(dst)))


def ms(clock: Clock) -> int:
    return int(clock().timestamp() * 1000)


def test_a_fixed_clock_writes_in_real_time_again_and_passes(pair: Any, tmp_path: Path) -> None:
    """This morning the sender's hybrid clock stayed two hours ahead after its wall clock was
    fixed, so every later change was held back too."""
    ada, ben, ada_clock, ben_clock = pair
    e.add_goal(ben, "from a clock two hours ahead")
    ben_clock.t = ada_clock.t  # the clock is fixed
    ben.close()
    ben = Journal.open(tmp_path / "ben.db", now=ben_clock)  # its history is still ahead
    later = e.add_goal(ben, "written after the fix")
    stamp = max(op.hlc for op in ops_since(ben, {}) if op.row == later)
    assert physical_ms(stamp) <= ms(ben_clock) + 1
    result = send(ben, ada)
    assert result.quarantined == 1 and result.applied >= 1
    assert [g["text"] for g in ada.rows("goals")] == ["written after the fix"]
    ben.close()


def test_an_edit_of_a_value_from_the_future_still_wins(pair: Any) -> None:
    ada, ben, ada_clock, ben_clock = pair
    goal = e.add_goal(ben, "from the future")
    send(ben, ada)
    quarantine.release_all(ada)
    ada.put("goals", goal, text="fixed here")  # later than what it overwrites, whatever
    assert (ada.get("goals", goal) or {})["text"] == "fixed here"


def test_releasing_never_moves_this_clock_past_the_allowed_skew(pair: Any) -> None:
    """This morning releasing one held operation moved the receiver's clock two hours ahead,
    and from then on its own changes were held back by everyone else."""
    ada, ben, ada_clock, _ = pair
    e.add_goal(ben, "from the future")
    send(ben, ada)
    assert quarantine.release_all(ada) == 1
    mine = e.add_goal(ada, "written here after the release")
    stamp = max(op.hlc for op in ops_since(ada, {}) if op.row == mine)
    assert physical_ms(stamp) <= ms(ada_clock) + MAX_DRIFT_MS
    assert physical_ms(stamp) <= ms(ada_clock) + 1


def test_held_operations_are_judged_again_by_their_own_stamp(pair: Any) -> None:
    ada, ben, ada_clock, _ = pair
    e.add_goal(ben, "from the future")
    send(ben, ada)
    assert quarantine.release_due(ada) == 0
    ada_clock.t += dt.timedelta(hours=1, minutes=5)
    assert quarantine.release_due(ada) == 1


def test_release_all_from_the_command_line(pair: Any, tmp_path: Path) -> None:
    """This morning release was one REPLICA:SEQ at a time."""
    ada, ben, _, _ = pair
    for n in range(3):
        e.add_goal(ben, f"ahead {n}")
    send(ben, ada)
    ada.close()
    cli = [sys.executable, "-m", "comentor.tui.cli", "--journal", str(tmp_path / "ada.db")]
    got = subprocess.run([*cli, "quarantine", "--release", "all"], capture_output=True,
                         text=True, env=dict(os.environ), timeout=60)
    assert got.returncode == 0 and got.stdout.strip() == "released 3 operations", got
    got = subprocess.run([*cli, "quarantine"], capture_output=True, text=True, timeout=60)
    assert got.stdout.strip() == "nothing held back"
    got = subprocess.run([*cli, "list", "goal", "--json"], capture_output=True, text=True,
                         timeout=60)
    assert got.stdout.count("ahead ") == 3


async def test_the_sender_is_told_over_the_lan(pair: Any) -> None:
    """This morning the sender saw "sent 9" and nothing else."""
    ada, ben, _, _ = pair
    for n in range(3):
        e.add_goal(ben, f"ahead {n}")
    report, _ = await run_pair(ada, ben)  # Ben sends; Ada holds three back
    assert report.sent and not report.held_back
    report, _ = await run_pair(ada, ben)  # the next exchange says so
    assert HELD_LINE in report.line(), report.line()


def test_the_sender_is_told_through_a_folder(tmp_path: Path) -> None:
    now = dt.datetime.now(dt.UTC)
    ada, ben = testing.paired_journals(tmp_path, ("Ada", "Ben"), close=True)
    ahead = Journal.open(tmp_path / "ben.db", now=lambda: now + dt.timedelta(hours=2))
    for n in range(3):
        e.add_goal(ahead, f"ahead {n}")
    ahead.close()
    shared = tmp_path / "shared"
    shared.mkdir()
    FolderSync(tmp_path / "ben.db", shared).sync_once()
    FolderSync(tmp_path / "ada.db", shared).sync_once()  # held back, and says so
    told = FolderSync(tmp_path / "ben.db", shared).sync_once()
    assert f"folder: {HELD_LINE}" in told.lines(), told.lines()
