"""Full-text search over every text field (SQLite FTS5), private notes included locally.

What a person types is never passed to FTS5 as query syntax: it is split into words, each
quoted and prefix-matched, so quotes, colons or a lone asterisk cannot cause an error.

Results come a page at a time (`limit`, `offset`), and :func:`search_page` says how many
there are in all: a word that matches every item of a journal of years costs a count and
one page, never a list of every match (see :data:`RANKED_MAX` for the order).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from ._record import Record
from .errors import ValidationError

if TYPE_CHECKING:
    from ._journal import Journal

__all__ = ["Hit", "SearchPage", "SEARCH_LIMIT", "RANKED_MAX", "search", "search_count",
           "search_page", "fts_query"]

SEARCH_LIMIT = 50  # results per page, unless asked otherwise
RANKED_MAX = 10_000  # more matches than this come newest first (see search_page)
_MAX_LIMIT = 10_000


class Hit(Record):
    """One match: the item's table and id, a snippet with the match in [brackets], and its
    rank (FTS5's bm25: lower is better). A frozen record, as a frozen dataclass behaves:
    `comentor search` loads no dataclasses (see _record.py)."""

    table: str
    row: str
    snippet: str
    rank: float


class SearchPage(Record):
    """One page of results, where it starts, and how many results there are in all (a
    frozen record: see _record.py)."""

    hits: list[Hit]
    total: int
    offset: int
    ranked: bool  # best first; False: newest first (more than RANKED_MAX matches)

    def __init__(self, hits: list[Hit] | None = None, total: int = 0, offset: int = 0,
                 ranked: bool = True) -> None:
        object.__setattr__(self, "hits", [] if hits is None else hits)
        object.__setattr__(self, "total", total)
        object.__setattr__(self, "offset", offset)
        object.__setattr__(self, "ranked", ranked)

    @property
    def more(self) -> bool:
        """Whether results remain after this page."""
        return self.offset + len(self.hits) < self.total


def fts_query(text: str) -> str:
    """A safe FTS5 query: every word quoted, the last one matched as a prefix."""
    words = re.findall(r"\w+", text or "")[:16]
    if not words:
        return ""
    quoted = [f'"{w}"' for w in words]
    quoted[-1] += "*"
    return " ".join(quoted)


def _page_bounds(limit: int, offset: int) -> None:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= _MAX_LIMIT:
        raise ValidationError(f"the limit must be a whole number from 1 to {_MAX_LIMIT:,}",
                              field="limit")
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        raise ValidationError("the offset must be a whole number, 0 or more", field="offset")


def search_page(j: Journal, text: str, limit: int = SEARCH_LIMIT,
                offset: int = 0) -> SearchPage:
    """The `limit` matches of `text` after the first `offset`, and how many there are.

    Up to :data:`RANKED_MAX` matches come best first (FTS5's bm25 rank); beyond, newest
    first, because ranking costs a pass over every match for each page (a second for a word
    in every item of a journal of a million operations) while the newest are read in order.
    """
    _page_bounds(limit, offset)
    query = fts_query(text)
    if not query:
        return SearchPage()
    total = _count(j, query)
    ranked = total <= RANKED_MAX
    rows = j.conn.execute(
        "SELECT d.tbl, d.row_id, snippet(search_fts, 0, '[', ']', '…', 12), rank "
        "FROM search_fts JOIN search_docs d ON d.docid = search_fts.rowid "
        "WHERE search_fts MATCH ? ORDER BY "
        # FTS5 itself orders by rank, so only the page's snippets are made (a second key
        # would sort every match, snippet and all); ties come in the same order each time
        + ("rank" if ranked else "search_fts.rowid DESC") + " LIMIT ? OFFSET ?",
        (query, limit, offset),
    ).fetchall() if offset < total else []
    hits = [Hit(str(t), str(r), str(s), float(rank)) for t, r, s, rank in rows]
    return SearchPage(hits, total, offset, ranked)


def search(j: Journal, text: str, limit: int = SEARCH_LIMIT, offset: int = 0) -> list[Hit]:
    """The hits of :func:`search_page`: the `limit` matches after the first `offset`."""
    return search_page(j, text, limit, offset).hits


def search_count(j: Journal, text: str) -> int:
    """How many items match `text`."""
    query = fts_query(text)
    return _count(j, query) if query else 0


def _count(j: Journal, query: str) -> int:
    row = j.conn.execute(
        "SELECT count(*) FROM search_fts WHERE search_fts MATCH ?", (query,)).fetchone()
    return int(row[0])
