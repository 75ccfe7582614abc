"""Reading the projection: rows, counts, ids people type, and names.

A mixin of :class:`~comentor.model._journal.Journal`. Everything here only reads, so screens
and queries can use it freely; writes go through the journal's one write path.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from ._schema import TABLES
from .errors import NotFoundError, ValidationError

__all__ = ["Reading"]


class Reading:
    """Read-only helpers over the synced tables."""

    conn: sqlite3.Connection

    @property
    def me(self) -> str:  # pragma: no cover - provided by Journal
        raise NotImplementedError

    def get(self, table: str, row: str, *, include_deleted: bool = False) -> dict[str, Any] | None:
        if table not in TABLES:
            raise ValidationError(f"unknown table {table!r}")
        cur = self.conn.execute(f'SELECT * FROM "{table}" WHERE id = ?', (row,))
        rec = cur.fetchone()
        if rec is None:
            return None
        item = dict(zip([d[0] for d in cur.description], rec, strict=True))
        if item["deleted"] and not include_deleted:
            return None
        return item

    def rows(self, table: str, where: str = "", params: tuple[object, ...] = (),
             *, include_deleted: bool = False, order: str = "hlc_created") -> list[dict[str, Any]]:
        """Rows of a synced table (read-only helper for queries)."""
        if table not in TABLES:
            raise ValidationError(f"unknown table {table!r}")
        clauses = [] if include_deleted else ["deleted = 0"]
        if where:
            clauses.append(f"({where})")
        sql = f'SELECT * FROM "{table}"' + (" WHERE " + " AND ".join(clauses) if clauses else "")
        cur = self.conn.execute(sql + f" ORDER BY {order}", params)
        cols = [d[0] for d in cur.description]
        return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]

    def count(self, table: str, where: str = "", params: tuple[object, ...] = ()) -> int:
        """How many live rows of a synced table match (read-only helper for queries)."""
        if table not in TABLES:
            raise ValidationError(f"unknown table {table!r}")
        sql = f'SELECT count(*) FROM "{table}" WHERE deleted = 0' + (f" AND ({where})" if where else "")
        return int(self.conn.execute(sql, params).fetchone()[0])

    def resolve_id(self, table: str, prefix: str, *, include_deleted: bool = True) -> str:
        """Turn an id or unique id prefix (as the CLI prints) into a full row id."""
        prefix = prefix.strip().lower()
        if not prefix or not prefix.replace("-", "").replace("_", "").isalnum():
            raise ValidationError(f"not a valid id: {prefix!r}")
        sql = f'SELECT id FROM "{table}" WHERE id LIKE ? ESCAPE \'\\\''
        if not include_deleted:
            sql += " AND deleted = 0"
        found = [r[0] for r in self.conn.execute(sql + " LIMIT 3", (prefix.replace("_", "\\_") + "%",))]
        if not found:
            raise NotFoundError(f"no {table.rstrip('s')} with id {prefix}")
        if len(found) > 1 and prefix not in found:
            raise ValidationError(f"id {prefix} is ambiguous: give more characters")
        return prefix if prefix in found else str(found[0])

    def _require(self, table: str, row: str) -> None:
        if self.get(table, row, include_deleted=True) is None:
            raise NotFoundError(f"no {table.rstrip('s')} with id {row}")

    def person_name(self, person: str | None) -> str:
        if not person:
            return ""
        row = self.conn.execute("SELECT name FROM people WHERE id = ?", (person,)).fetchone()
        return str(row[0]) if row and row[0] else "?"

    def partner(self) -> str | None:
        """The other person of the partnership, once known."""
        others = self.rows("people", "id != ?", (self.me,))
        return str(others[0]["id"]) if others else None
