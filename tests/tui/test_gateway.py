"""The journal gateway: reads tell no one, every write tells the listeners (sync, screens)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from comentor import model
from comentor.model import Journal
from comentor.model.errors import ValidationError
from comentor.tui.data import JournalGateway

from .helpers import fixed_now


@pytest.fixture
def gateway(tmp_path: Path) -> Iterator[JournalGateway]:
    path = tmp_path / "j.db"
    Journal.create(path, "Ada", now=fixed_now).close()
    gw = JournalGateway(path, now=fixed_now)
    yield gw
    gw.close()


def test_a_write_tells_the_listeners_and_a_read_does_not(gateway: JournalGateway) -> None:
    told: list[str] = []
    gateway.listeners.append(lambda: told.append("changed"))
    win = gateway.write(model.add_win, "Signed the lease")
    assert told == ["changed"]
    assert gateway.read(lambda j, w: (j.get("wins", w) or {})["text"], win) == "Signed the lease"
    assert told == ["changed"]


def test_a_refused_write_still_tells_the_listeners(gateway: JournalGateway) -> None:
    told: list[str] = []
    gateway.listeners.append(lambda: told.append("changed"))
    with pytest.raises(ValidationError):
        gateway.write(model.add_win, "  ")
    assert told == ["changed"]


def test_reads_from_async_code_and_queued_reads(gateway: JournalGateway) -> None:
    assert gateway.read_later(lambda j: j.person_name(j.me)).result(5) == "Ada"
    assert asyncio.run(gateway.read_async(lambda j: j.person_name(j.me))) == "Ada"


def test_a_function_on_the_database_thread_may_read_again(gateway: JournalGateway) -> None:
    def outer(j: Journal) -> str:
        return gateway.read(lambda inner: inner.person_name(inner.me))

    assert gateway.read(outer) == "Ada"
