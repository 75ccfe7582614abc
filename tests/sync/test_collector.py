"""The collector paused while a large exchange is received (sync/_collector.py), and only
then: a live session that caught up collects as usual, and a collector that was off stays
off."""

from __future__ import annotations

import gc
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from comentor.model import _entities as e
from comentor.model import testing
from comentor.model._journal import Journal
from comentor.sync import _collector
from comentor.sync._collector import BULK_OPS, collector_paused
from comentor.sync._report import TransportOutcome
from comentor.sync.lan import session
from comentor.sync.lan.engine import SyncEngine


@pytest.fixture(autouse=True)
def collecting() -> Iterator[None]:
    was = gc.isenabled()
    gc.enable()
    yield
    assert _collector._depth == 0
    (gc.enable if was else gc.disable)()


def test_pauses_nest_and_the_last_one_resumes() -> None:
    with collector_paused():
        assert not gc.isenabled()
        with collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the outer pause still holds
    assert gc.isenabled()


def test_a_collector_that_was_off_stays_off() -> None:
    gc.disable()  # as the app keeps it until its first frame
    with collector_paused():
        assert not gc.isenabled()
    assert not gc.isenabled()


def test_an_error_inside_still_resumes() -> None:
    with pytest.raises(RuntimeError), collector_paused():
        raise RuntimeError("boom")
    assert gc.isenabled()


def test_a_large_exchange_runs_paused_and_the_live_session_after_it_does_not(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    a = Journal.create(tmp_path / "a.db", "Ada")
    b = Journal.create(tmp_path / "b.db", "Bo", joining=True)
    testing.pair_in_process(a, b)
    a.write([("wins", f"w{i:05d}", {"text": f"win {i}"}) for i in range(BULK_OPS + 500)])
    seen: list[tuple[int, bool]] = []  # (operations applied, collector on) per apply
    real = session.apply_remote_many

    def recording(journal: Any, received: Any, **kw: Any) -> Any:
        received = list(received)
        seen.append((sum(len(list(r.ops)) for r in received), gc.isenabled()))
        return real(journal, received, **kw)

    monkeypatch.setattr(session, "apply_remote_many", recording)
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
        deadline = time.monotonic() + 30
        while not synced and time.monotonic() < deadline:
            time.sleep(0.05)
        assert synced, errors
        bulk = [on for n, on in seen if n > 100]
        assert bulk and not any(bulk)  # every large apply ran with the collector paused
        assert gc.isenabled()  # caught up: on again, though the session stays open
        seen.clear()
        goal = e.add_goal(a, "Live after the first sync")
        ea.notify_local_change()
        deadline = time.monotonic() + 10
        while b.get("goals", goal) is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert b.get("goals", goal) is not None
        assert seen and all(on for _, on in seen)  # a live edit: collected as usual
        assert len(b.rows("wins")) == BULK_OPS + 500
    finally:
        eb.stop()
        ea.stop()
        a.close()
        b.close()
