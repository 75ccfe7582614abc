"""Finding an item by the id (or id prefix) the command line and screens show."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._schema import TABLES
from .errors import NotFoundError, ValidationError

if TYPE_CHECKING:
    from ._journal import Journal

__all__ = ["find_item", "ITEM_TABLES"]


# what a person edits by id: the practice's items, not the partnership's own records
ITEM_TABLES = tuple(
    t for t in TABLES if t not in ("devices", "people", "partnership", "schedule", "session_items",
                              "key_grants")
)


def find_item(j: Journal, prefix: str, tables: tuple[str, ...] | None = None) -> tuple[str, str]:
    """The (table, id) of the one item whose id starts with `prefix`, deleted ones included."""
    raw = (prefix or "").strip().lower()
    if len(raw) < 3 or not raw.replace("-", "").replace("_", "").isalnum():
        raise ValidationError(f"not a valid id: {prefix!r} (give at least 3 characters)",
                              field="id")
    like = raw.replace("_", "\\_") + "%"
    found: list[tuple[str, str]] = []
    for table in tables or ITEM_TABLES:
        for (row,) in j.conn.execute(
            f"SELECT id FROM \"{table}\" WHERE id LIKE ? ESCAPE '\\' LIMIT 3", (like,)
        ):
            found.append((table, str(row)))
    if raw.isalnum():
        for (row,) in j.conn.execute(
            "SELECT id FROM private_notes WHERE id LIKE ? LIMIT 3", (like,)
        ):
            found.append(("private_notes", str(row)))
    exact = [f for f in found if f[1] == raw]
    if exact:
        return exact[0]
    if not found:
        raise NotFoundError(f"no item with id {prefix}", field="id")
    if len(found) > 1:
        raise ValidationError(f"id {prefix} is ambiguous: give more characters", field="id")
    return found[0]
