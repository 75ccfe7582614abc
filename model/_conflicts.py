"""Conflicts: two versions of one long text, made without either author seeing the other.

Read by `status`, the dashboard's sync box and the conflicts screen. A module of its own so
that those readers do not import the receive path (`_remote`, with forks, rotation and the
verifying pool) to count them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._clocks import field_clock
from ._ops import stamp_of
from ._record import Record

if TYPE_CHECKING:
    from ._journal import Journal

__all__ = ["Conflict", "conflicts"]


class Conflict(Record):
    """Two versions of one text, made without either author seeing the other (a frozen
    record: see _record.py)."""

    table: str
    row: str
    field: str
    winner: str
    others: tuple[str, ...]


def conflicts(journal: Journal) -> list[Conflict]:
    """Every long text with more than one unseen version, on rows that are not deleted.

    The candidates come from `text_conflicts`, which triggers on `text_heads` keep in step
    with the heads (migration m008): the work grows with the texts edited at once, never
    with the history, so `status` and the dashboard cost the same on a journal of years."""
    conn = journal.conn
    out = []
    groups = conn.execute(
        "SELECT tbl, row_id, field FROM text_conflicts ORDER BY tbl, row_id, field").fetchall()
    for table, row, name in groups:
        rec = journal.get(table, row)
        if rec is None:
            continue
        clock = field_clock(conn, table, row, name)
        winner_stamp = stamp_of(*clock) if clock else ""
        winner = str(rec.get(name) or "")
        # a version equal to the one shown is no conflict (the same edit re-issued by two
        # copies of a forked journal, see model/_forks.py, or the same words typed twice)
        others = tuple(dict.fromkeys(
            str(v or "")
            for s, v in conn.execute(
                "SELECT stamp, value FROM text_heads WHERE tbl = ? AND row_id = ? AND field = ? "
                "ORDER BY stamp DESC", (table, row, name),
            )
            if s != winner_stamp and str(v or "") != winner
        ))
        if others:
            out.append(Conflict(table, row, name, winner, others))
    return out
