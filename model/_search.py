"""Full-text search over every text field (SQLite FTS5), private notes included locally.

What a person types is never passed to FTS5 as query syntax: it is split into words, each
quoted and prefix-matched, so quotes, colons or a lone asterisk cannot cause an error.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._journal import Journal

__all__ = ["Hit", "search", "fts_query"]


@dataclass(frozen=True)
class Hit:
    table: str
    row: str
    snippet: str
    rank: float


def fts_query(text: str) -> str:
    """A safe FTS5 query: every word quoted, the last one matched as a prefix."""
    words = re.findall(r"\w+", text or "")[:16]
    if not words:
        return ""
    quoted = [f'"{w}"' for w in words]
    quoted[-1] += "*"
    return " ".join(quoted)


def search(j: Journal, text: str, limit: int = 50) -> list[Hit]:
    query = fts_query(text)
    if not query:
        return []
    rows = j.conn.execute(
        "SELECT d.tbl, d.row_id, snippet(search_fts, 0, '[', ']', '…', 12), rank "
        "FROM search_fts JOIN search_docs d ON d.docid = search_fts.rowid "
        "WHERE search_fts MATCH ? ORDER BY rank LIMIT ?",
        (query, limit),
    ).fetchall()
    return [Hit(str(t), str(r), str(s), float(rank)) for t, r, s, rank in rows]
