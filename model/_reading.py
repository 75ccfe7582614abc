"""Reading the projection: one row, rows and counts for the model's queries, and names.

A mixin of :class:`~comentor.model._journal.Journal`. Everything here only reads. The
SQL-taking readers (`_rows`, `_count`) are private: only the model's queries may pass them
a condition, so no interface ever writes SQL; interfaces use the typed queries of
:mod:`comentor.model`.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from ._clocks import strip
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
        item = strip(dict(zip([d[0] for d in cur.description], rec, strict=True)))
        if item["deleted"] and not include_deleted:
            return None
        return item

    def rows(self, table: str, *, include_deleted: bool = False) -> list[dict[str, Any]]:
        """Every live row of a synced table, oldest first (no filter: that is a query's job).

        Interfaces use the model's typed queries instead; this stays for tests and tools
        that look at a whole table.
        """
        return self._rows(table, include_deleted=include_deleted)

    def _rows(self, table: str, where: str = "", params: tuple[object, ...] = (),
              *, include_deleted: bool = False, order: str = "hlc_created",
              limit: int | None = None) -> list[dict[str, Any]]:
        """Rows of a synced table matching an SQL condition: the model's queries only.

        `where` and `order` are pasted into the SQL, so they must never come from outside
        the model; interfaces reach the journal through typed queries.
        """
        if table not in TABLES:
            raise ValidationError(f"unknown table {table!r}")
        clauses = [] if include_deleted else ["deleted = 0"]
        if where:
            clauses.append(f"({where})")
        sql = f'SELECT * FROM "{table}"' + (" WHERE " + " AND ".join(clauses) if clauses else "")
        sql += f" ORDER BY {order}" + ("" if limit is None else f" LIMIT {int(limit)}")
        cur = self.conn.execute(sql, params)
        cols = [d[0] for d in cur.description]
        return [strip(dict(zip(cols, r, strict=True))) for r in cur.fetchall()]

    def _count(self, table: str, where: str = "", params: tuple[object, ...] = ()) -> int:
        """How many live rows of a synced table match (the model's queries only)."""
        if table not in TABLES:
            raise ValidationError(f"unknown table {table!r}")
        sql = f'SELECT count(*) FROM "{table}" WHERE deleted = 0' + (f" AND ({where})" if where else "")
        return int(self.conn.execute(sql, params).fetchone()[0])

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
        others = self._rows("people", "id != ?", (self.me,))
        return str(others[0]["id"]) if others else None
