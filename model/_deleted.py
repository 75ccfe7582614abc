"""Deleted items: what was deleted, by whom and when, so that any of it can come back.

A delete is a tombstone, never an erasure: the row stays (marked deleted) and the operation
that marked it names its device, so the journal can say who deleted an item and when, and
:func:`~comentor.model._edit.restore_item` brings it back for both partners. A private note
or a talking-point draft never left this device: it is deleted here only, by its owner.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ._clock import physical_ms
from ._clocks import field_clock
from ._find import ITEM_TABLES, LOCAL_ITEM_TABLES
from ._ops import device_of
from .errors import NotFoundError

if TYPE_CHECKING:
    from ._journal import Journal

__all__ = ["DeletedItem", "deleted_items", "is_deleted", "PRIVATE_KINDS", "DRAFT_KINDS"]

PRIVATE_KINDS = ("private", "private-note", "private-notes")
DRAFT_KINDS = ("draft", "drafts")
_TEXT_FIELDS = ("text", "role", "notes", "name")


@dataclass(frozen=True)
class DeletedItem:
    """One deleted item, as a list of deleted items shows it."""

    table: str
    id: str
    text: str
    owner: str  # the name of whose item it is ("" when it has no owner)
    deleted_by: str  # the name of who deleted it
    deleted_at: str  # when, ISO 8601 UTC; "" when not recorded (a private note or a draft)
    local: bool  # deleted on this device only: a private note or a draft

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "table": self.table, "text": self.text, "owner": self.owner,
                "deleted_by": self.deleted_by, "deleted_at": self.deleted_at,
                "local": self.local}


def _tables(kind: str | None) -> tuple[str, ...]:
    if kind is None:
        return ITEM_TABLES + LOCAL_ITEM_TABLES
    k = kind.strip().lower()
    if k in PRIVATE_KINDS:
        return ("private_notes",)
    if k in DRAFT_KINDS:
        return ("talking_point_drafts",)
    from ._queries import table_for  # the queries' imports are not needed to delete

    return (table_for(k),)


def deleted_items(j: Journal, kind: str | None = None) -> list[DeletedItem]:
    """Deleted items of one kind (as `list` names kinds: goal, ask, private, draft...), or of
    every kind; the most recently deleted first (this device's own items last)."""
    names = {str(p["id"]): str(p["name"] or "?")
             for p in j._rows("people", include_deleted=True)}
    owners = {str(d["id"]): names.get(str(d["person"]), "?")
              for d in j._rows("devices", include_deleted=True)}
    me = names.get(j.me, "?")
    found: list[DeletedItem] = []
    for table in _tables(kind):
        if table in LOCAL_ITEM_TABLES:
            for r in j.conn.execute(f'SELECT id, text FROM "{table}" WHERE deleted != 0'):
                found.append(DeletedItem(table, str(r[0]), str(r[1] or ""), me, me, "", True))
            continue
        for row in j._rows(table, "deleted != 0", include_deleted=True):
            by, when = _deleter(j, table, str(row["id"]), owners)
            owner = row.get("person") or row.get("proposer")
            found.append(DeletedItem(table, str(row["id"]), _text(table, row),
                                     names.get(str(owner), "?") if owner else "", by, when,
                                     False))
    found.sort(key=lambda d: (not d.local, d.deleted_at, d.id), reverse=True)
    return found


def _deleter(j: Journal, table: str, row: str, owners: dict[str, str]) -> tuple[str, str]:
    """Who made the operation that deleted the row (by its device) and when (its clock)."""
    clock = field_clock(j.conn, table, row, "deleted")
    if clock is None:
        return "?", ""
    moment = dt.datetime.fromtimestamp(physical_ms(int(clock[0])) / 1000, dt.UTC)
    return owners.get(device_of(str(clock[1])), "?"), moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _text(table: str, row: dict[str, Any]) -> str:
    if table == "sessions":
        return f"check-in {str(row.get('started_at') or row.get('planned_at') or '')[:10]}"
    return next((str(row[f]) for f in _TEXT_FIELDS if row.get(f)), "")


def is_deleted(j: Journal, table: str, row: str) -> bool:
    """Whether the item is deleted now; NotFoundError when there is no such item."""
    if table in LOCAL_ITEM_TABLES:
        found = j.conn.execute(f'SELECT deleted FROM "{table}" WHERE id = ?', (row,)).fetchone()
        deleted = None if found is None else bool(found[0])
    else:
        current = j.get(table, row, include_deleted=True)
        deleted = None if current is None else bool(current["deleted"])
    if deleted is None:
        raise NotFoundError(f"no item with id {row}", field="id")
    return deleted
