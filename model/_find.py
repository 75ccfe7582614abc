"""Finding an item by the id (or id prefix) the command line and screens show."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._ops import short_id
from ._schema import TABLES
from .errors import NotFoundError, ValidationError

if TYPE_CHECKING:
    from ._journal import Journal

__all__ = ["find_item", "ITEM_TABLES", "LOCAL_ITEM_TABLES"]


# what a person edits by id: the practice's items, not the partnership's own records
ITEM_TABLES = tuple(
    t for t in TABLES if t not in ("devices", "people", "partnership", "schedule", "session_items",
                              "key_grants")
)
# items that live on this device only: private notes and talking-point drafts
LOCAL_ITEM_TABLES = ("private_notes", "talking_point_drafts")


def find_item(j: Journal, prefix: str, tables: tuple[str, ...] | None = None) -> tuple[str, str]:
    """The (table, id) of the one item whose id or short id starts with `prefix`, deleted
    ones included.

    `tables` limits the search (default: every item, private notes and drafts included). A
    prefix that fits more than one item is refused (field "candidates" lists them), never
    settled by picking one: a command acts on the item its user meant, or on none.
    """
    raw = (prefix or "").strip().lower()
    if len(raw) < 3 or not raw.replace("-", "").replace("_", "").isalnum() or not raw.isascii():
        raise ValidationError(f"not a valid id: {prefix!r} (an id is letters and digits: give "
                              "at least 3 of them)", field="id")
    like = raw.replace("_", "\\_") + "%"
    found: list[tuple[str, str]] = []
    for table in tables or ITEM_TABLES + LOCAL_ITEM_TABLES:
        # the start of a short id (the last eight characters, see short_id; this reads every
        # id, about 60 ms at a million items) or of a whole id (as an export shows it)
        for (row,) in j.conn.execute(
            f"SELECT id FROM \"{table}\" WHERE id LIKE ?1 ESCAPE '\\' "
            f"OR substr(id, -8) LIKE ?1 ESCAPE '\\' "
            f"ORDER BY substr(id, -8) LIKE ?1 ESCAPE '\\' DESC LIMIT 3", (like,)
        ):
            found.append((table, str(row)))
    exact = [f for f in found if f[1] == raw]
    if exact:
        return exact[0]
    # what people type is a short id: ids made in the same days share their first characters
    # (the time), so a short id that starts like them is not read as all of those; but one
    # other item whose whole id starts so (an id shown whole, or by its start before 0.3.0)
    # may be the one meant: then neither is picked
    shorts = [f for f in found if short_id(f[1]).startswith(raw)]
    wholes = [f for f in found if f not in shorts]
    if shorts and len(wholes) != 1:
        found = shorts
    if not found:
        raise _not_found(j, prefix, tables)
    if len(found) > 1:
        from ._kinds import kind_name

        shown = ", ".join(f"{kind_name(t)} {short_id(r)}" for t, r in found[:4])
        raise ValidationError(f"id {prefix} is ambiguous ({shown}"
                              + (", …" if len(found) > 4 else "") + "): give more characters",
                              field="id", candidates=found)
    return found[0]


def _not_found(j: Journal, prefix: str, tables: tuple[str, ...] | None) -> NotFoundError:
    """No such item among `tables`; when the id is one item of another kind, say which
    kind it is and which one was wanted (an update's --goal given a win's id)."""
    if tables:
        from ._kinds import kind_name

        try:
            other, _ = find_item(j, prefix)
        except (NotFoundError, ValidationError):
            pass
        else:
            wanted = [kind_name(t) for t in tables]
            named = (", ".join(wanted[:-1]) + " or " + wanted[-1]) if len(wanted) > 1 \
                else wanted[0]
            return NotFoundError(f"{prefix} is {kind_name(other)}, not {named}", field="id",
                                 table=other)
    return NotFoundError(f"no item with id {prefix}", field="id")
