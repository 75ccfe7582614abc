"""Helpers for model tests: paired journals and exchanging operations by hand."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from comentor.model import _devices as devices
from comentor.model import testing
from comentor.model._journal import Journal


def paired(tmp: Path, names: tuple[str, ...] = ("Ada", "Ben"), now=None) -> list[Journal]:  # type: ignore[no-untyped-def]
    """Journals for several devices, all trusting one another, sharing one partnership key.

    `now` is a clock shared by all, a clock class (one clock of it per journal, for
    devices whose clocks move apart), or a list with one clock per journal.
    """
    if isinstance(now, (list, tuple)):
        clocks = list(now)
    else:
        clocks = [now() if isinstance(now, type) else now for _ in names]
    first = Journal.create(tmp / "j0.db", names[0], now=clocks[0])
    out = [first]
    for i, name in enumerate(names[1:], start=1):
        j = Journal.create(tmp / f"j{i}.db", name, joining=True, now=clocks[i])
        key = first.partnership_key()
        assert key is not None
        devices.set_partnership_key(j, key)
        out.append(j)
    for a in out:
        for b in out:
            if a is not b:
                devices.trust_device(a, devices.my_device_info(b))
    return out


def sync_pair(a: Journal, b: Journal) -> None:
    """Exchange everything both ways, in batches of 200, as a sync would."""
    testing.sync_in_process(a, b, batch=200)


def sync_all(journals: list[Journal]) -> None:
    for _ in range(2):
        for a in journals:
            for b in journals:
                if a is not b:
                    sync_pair(a, b)


def undo_row_clocks(raw: sqlite3.Connection) -> None:
    """Put a journal back as the release before m009 left it: the field clocks in a table
    of their own, no `_clocks` column, m009 and what came after it not recorded
    (model/_clocks.py; m010 only indexes drafts, which it does again)."""
    from comentor.model._clocks import load
    from comentor.model._schema import TABLES

    raw.execute("CREATE TABLE IF NOT EXISTS field_clocks (tbl TEXT NOT NULL, row_id TEXT NOT NULL, "
                "field TEXT NOT NULL, hlc INTEGER NOT NULL, replica TEXT NOT NULL, "
                "PRIMARY KEY (tbl, row_id, field)) WITHOUT ROWID")
    for table in TABLES:
        rows = raw.execute(f'SELECT id, _clocks FROM "{table}"').fetchall()
        raw.executemany("INSERT INTO field_clocks VALUES (?, ?, ?, ?, ?)", [
            (table, row, name, hlc, replica)
            for row, blob in rows for name, (hlc, replica) in load(blob).items()])
        raw.execute(f'ALTER TABLE "{table}" DROP COLUMN _clocks')
    raw.execute("DELETE FROM _sqlite_migrations WHERE name IN ('m009_row_clocks', "
                "'m010_draft_search')")
