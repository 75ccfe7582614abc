"""Shared test setup: never touch the user's real data, fix the time zone, seed journals."""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from comentor.model.testing import FixedClock

os.environ["TZ"] = "UTC"
time.tzset()


@pytest.fixture(autouse=True)
def _isolated_dirs(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Point every data, state and config directory at a temporary folder."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("COMENTOR_STATE_DIR", str(home / "state"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "data"))
    monkeypatch.setenv("XDG_STATE_HOME", str(home / "xstate"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "config"))
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("COMENTOR_JOURNAL", raising=False)
    monkeypatch.delenv("COMENTOR_PASSPHRASE", raising=False)
    # the app's live sync stays off unless a test turns it on itself (with 127.0.0.1 only)
    monkeypatch.setenv("COMENTOR_NO_SYNC", "1")
    # and zeroconf, wherever a test forgets to say, binds to loopback only
    monkeypatch.setenv("COMENTOR_LAN_INTERFACES", "127.0.0.1")


@pytest.fixture
def clock() -> FixedClock:
    """The one fixed clock (comentor.model.testing.FixedClock), at 2026-03-02 09:00 UTC."""
    return FixedClock(dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC))


@pytest.fixture
def journal(tmp_path: Path, clock: FixedClock) -> Iterator[object]:
    from comentor.model._journal import Journal

    j = Journal.create(tmp_path / "j.db", "Ada", now=clock)
    yield j
    j.close()


@pytest.fixture
def paired(tmp_path: Path, clock: FixedClock) -> Iterator[tuple[object, ...]]:
    """Two paired journals, Ada (who invited) and Ben, on the fixed clock; closed after."""
    from comentor.model.testing import paired_journals

    made = paired_journals(tmp_path, ("Ada", "Ben"), now=clock)
    yield made
    for j in made:
        j.close()  # type: ignore[attr-defined]


DEMO_TODAY = dt.date(2026, 11, 26)


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One demo journal per test session (fixed date), copied by tests that change it."""
    from comentor.model._demo import create_demo

    os.environ.setdefault("COMENTOR_STATE_DIR", str(tmp_path_factory.mktemp("demo-state")))
    path = tmp_path_factory.mktemp("demo") / "demo.db"
    create_demo(path, today=DEMO_TODAY).close()
    return path


@pytest.fixture
def demo_path(demo_template: Path, tmp_path: Path) -> Path:
    """A private copy of the seeded demo journal."""
    import shutil
    import sqlite3

    target = tmp_path / "demo.db"
    src = sqlite3.connect(demo_template)
    dst = sqlite3.connect(target)
    src.backup(dst)
    src.close()
    dst.close()
    shutil.copymode(demo_template, target)
    return target
