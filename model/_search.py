"""Full-text search over every text field (SQLite FTS5), private notes and talking-point
drafts included locally.

What a person types is never passed to FTS5 as query syntax: :func:`fts_query` reads its
own small syntax ("a phrase", A OR B, -word) and quotes every word it passes on, so quotes,
colons or a lone asterisk cannot cause an error.

Results come a page at a time (`limit`, `offset`), and :func:`search_page` says how many
there are in all: a word that matches every item of a journal of years costs a count and
one page, never a list of every match (see :data:`RANKED_MAX` for the order).

Only what a person wrote as an item of the practice is a result (:data:`RESULT_TABLES`):
the index also holds documents of bookkeeping rows (people's names, the outcome word of
each item covered in a check-in), which no screen shows as items of their own. Journals
hold those documents already, so they are left out when searching, not by a migration;
the app and `comentor search` read the same results.

A match is marked in its snippet with characters a person does not type (:data:`_OPEN`,
:data:`_CLOSE`, chosen here and nowhere else) and the marks never leave this module: a
:class:`Hit` carries its text as written and the matches as offsets, so no bracket or
other character of the item's own text is ever taken for a mark. An item that holds one of
those two characters after all (pasted, or sent by a peer) has its snippet made again with
marks it does not hold.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import TYPE_CHECKING

from ._record import Record
from ._schema import TABLES, searchable_fields
from .errors import ValidationError

if TYPE_CHECKING:
    from ._journal import Journal

__all__ = ["Hit", "SearchPage", "SEARCH_LIMIT", "RANKED_MAX", "RESULT_TABLES", "marked",
           "search", "search_count", "search_page", "search_label", "fts_query"]

SEARCH_LIMIT = 50  # results per page, unless asked otherwise
RANKED_MAX = 10_000  # more matches than this come newest first (see search_page)
_MAX_LIMIT = 10_000

# The tables whose documents are results: the items a person wrote (a check-in's notes and
# the notes added to it included), and private notes and talking-point drafts, which are
# indexed on this device only.
RESULT_TABLES = frozenset({
    "goals", "updates", "commitments", "asks", "feedback", "challenges", "wins", "stories",
    "skills", "baselines", "sessions", "notes", "talking_points", "private_notes",
    "talking_point_drafts",
})
# Every other table the index covers is bookkeeping (people and the partnership by name, a
# check-in item by its outcome): read from the schema, so a table added later stays out
# until it is named above. Fixed words, so they are written into the SQL, never user input.
_HIDDEN = tuple(sorted(t for t in TABLES if searchable_fields(t) and t not in RESULT_TABLES))
_HIDDEN_SQL = ", ".join(f"'{t}'" for t in _HIDDEN) or "''"  # (NULL would hide every row)
# Counting joins nothing: each match is looked up among the few bookkeeping documents, a
# fraction of what reading each match's row in search_docs costs (measured at 263,000
# matches: about 20 ms more than the bare count, where the join cost 80).
_SHOWN = f"search_fts.rowid NOT IN (SELECT docid FROM search_docs WHERE tbl IN ({_HIDDEN_SQL}))"

# a result's kind where the item's own name says too little: a check-in is found by its
# notes, and a note is one added to a check-in
_CALLED = {"sessions": "check-in notes", "notes": "check-in note",
           "talking_point_drafts": "draft talking point"}


def search_label(table: str) -> str:
    """What a result from `table` is called, in the app and by `comentor search`: the kind
    of item messages name ("goal", "talking point"), never a table's name."""
    from ._kinds import item_kind  # here: a search that prints no kind never loads it

    return _CALLED.get(table) or item_kind(table)


# FTS5's marks around a match (STX, ETX): control characters no one types into an item, as
# they would a bracket. An item that holds one is rare enough to cost a query of its own.
_OPEN, _CLOSE = "\x02", "\x03"
_HOLDS_MARKS = "instr(search_fts.body, char(2)) + instr(search_fts.body, char(3)) > 0"
_SNIPPET = "snippet(search_fts, 0, ?, ?, '…', 12)"  # the marks, as parameters


class Hit(Record):
    """One match: the item's table and id, a snippet of its text as written (no marks in
    it), its rank (FTS5's bm25: lower is better), `marks`, the (start, end) offsets of
    the words matched in the snippet, for an interface to show them its own way, and whose
    and of which day the item is, so that a list of results can be told apart. A frozen
    record, as a frozen dataclass behaves: `comentor search` loads no dataclasses (see
    _record.py)."""

    table: str
    row: str
    snippet: str
    rank: float
    marks: tuple[tuple[int, int], ...] = ()
    who: str = ""  # whose item it is, by name ("" for a check-in's notes: both of you)
    when: str = ""  # its day (YYYY-MM-DD): a win's date, a check-in's, else when written


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


# a quoted phrase (its closing quote optional: one may still be typing it), or a word
_TOKEN = re.compile(r'(-?)"([^"]*)("?)|(\S+)')
_MAX_WORDS = 16


def fts_query(text: str) -> str:
    """A safe FTS5 query from what a person types.

    Every word must match, the last one as a prefix (one is still typing it); ``"two
    words"`` must match as a phrase (so must ``co-mentor``); ``OR`` between two terms takes
    either; ``-word`` or ``-"two words"`` leaves out what holds it. Each word is quoted
    here, so no character a person types is read as FTS5 syntax (a ``:``, ``*``, ``(``,
    a lone quote or ``NEAR`` is a word or nothing). At most 16 words count.
    """
    groups: list[list[str]] = []  # all of these, each group one of its alternatives
    leave_out: list[str] = []
    either = False  # an OR came after the last term
    after_term = False  # the last token was a term to find (an OR may follow it)
    prefix = False  # the last term may be a prefix: typed bare, or a phrase not closed
    budget = _MAX_WORDS
    for match in _TOKEN.finditer(text or ""):
        minus, phrase, closed, bare = match.groups()
        if bare == "OR":
            either = after_term  # between two terms to find; after a -word it is dropped
            continue
        negated = bool(minus) if phrase is not None else len(bare) > 1 and bare[0] == "-"
        raw = phrase if phrase is not None else bare[1:] if negated else bare
        words = re.findall(r"\w+", raw)[:budget]
        after_term = False
        if not words:
            continue
        budget -= len(words)
        term = '"' + " ".join(words) + '"'
        if negated:
            leave_out.append(term)
        elif either:
            groups[-1].append(term)
        else:
            groups.append([term])
        either, after_term = False, not negated
        prefix = not negated and (phrase is None or not closed)
        if budget <= 0:
            break
    if not groups:
        return ""  # nothing to look for (only words to leave out): no results
    if prefix:  # (the last token typed is then the last term of the last group)
        groups[-1][-1] += "*"
    query = " AND ".join(f"({' OR '.join(g)})" if len(g) > 1 else g[0] for g in groups)
    return "".join([f"({query})" if leave_out else query, *(f" NOT {t}" for t in leave_out)])


def marked(snippet: str, open_: str = _OPEN,
           close: str = _CLOSE) -> tuple[str, tuple[tuple[int, int], ...]]:
    """An FTS5 snippet's text without the marks, and where the marked matches are in it.

    Every `open_` and `close` in `snippet` must be a mark (see :func:`_spare_marks`). A close
    without an open, or an open never closed, marks nothing.
    """
    text: list[str] = []
    marks: list[tuple[int, int]] = []
    start: int | None = None
    at = 0
    for part in re.split(f"({re.escape(open_)}|{re.escape(close)})", snippet):
        if part == open_:
            start = at
        elif part == close:
            if start is not None and at > start:
                marks.append((start, at))
            start = None
        else:
            text.append(part)
            at += len(part)
    return "".join(text), tuple(marks)


def _spare_marks(body: str) -> tuple[str, str]:
    """Two private-use characters that `body` does not hold: from the area of the Basic
    Multilingual Plane, else from plane 15's (65,534 more than a text of 100,000 characters
    can use up along with the other)."""
    used = set(body)
    spare = (chr(c) for c in (*range(0xE000, 0xF900), *range(0xF0000, 0xFFFFE))
             if chr(c) not in used)
    return next(spare), next(spare)


def _remarked(j: Journal, query: str, docid: int) -> tuple[str, tuple[tuple[int, int], ...]]:
    """The snippet of an item whose text holds :data:`_OPEN` or :data:`_CLOSE`, made again
    with marks it does not hold, so its text stays exactly as written."""
    body = j.conn.execute("SELECT body FROM search_fts WHERE rowid = ?", (docid,)).fetchone()
    open_, close = _spare_marks(str(body[0] if body else ""))
    row = j.conn.execute(
        f"SELECT {_SNIPPET} FROM search_fts "
        "WHERE search_fts MATCH ? AND rowid = ?", (open_, close, query, docid)).fetchone()
    return marked(str(row[0] if row else ""), open_, close)


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
        f"SELECT d.tbl, d.row_id, {_SNIPPET}, rank, d.docid, {_HOLDS_MARKS} "
        "FROM search_fts JOIN search_docs d ON d.docid = search_fts.rowid "
        f"WHERE search_fts MATCH ? AND d.tbl NOT IN ({_HIDDEN_SQL}) ORDER BY "
        # FTS5 itself orders by rank, so only the page's snippets are made (a second key
        # would sort every match, snippet and all); ties come in the same order each time
        + ("rank" if ranked else "search_fts.rowid DESC") + " LIMIT ? OFFSET ?",
        (_OPEN, _CLOSE, query, limit, offset),
    ).fetchall() if offset < total else []
    details = _details(j, [(str(r[0]), str(r[1])) for r in rows])
    hits = []
    for table, row, snippet, rank, docid, holds_marks in rows:
        shown, marks = _remarked(j, query, docid) if holds_marks else marked(str(snippet))
        who, when = details.get((str(table), str(row)), ("", ""))
        hits.append(Hit(str(table), str(row), shown, float(rank), marks, who, when))
    return SearchPage(hits, total, offset, ranked)


def _when_sql(table: str) -> str:
    """The column (a fixed word from the schema, never input) that dates an item."""
    if table == "wins":
        return "coalesce(date, created_at)"
    if table == "sessions":
        return "coalesce(started_at, planned_at, created_at)"
    fields = TABLES.get(table)
    return "created_at" if fields is None or "created_at" in fields else "NULL"


def _local_day(stamp: object) -> str:
    """A stored time (UTC, ISO 8601) as this computer's calendar day; a day stays as it is."""
    text = str(stamp or "")
    if len(text) <= 10:
        return text
    try:
        when = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        if when.tzinfo is None:  # stored times are UTC, with or without saying so
            when = when.replace(tzinfo=dt.UTC)
        return when.astimezone().date().isoformat()
    except (ValueError, OverflowError):  # another shape, or year 1 or 9999 made local
        return text[:10]


def _details(j: Journal, found: list[tuple[str, str]]) -> dict[tuple[str, str], tuple[str, str]]:
    """(who, when) of each found item: one query per table on the page (a page holds at
    most a few tables), and one for the names."""
    by_table: dict[str, list[str]] = {}
    for table, row in found:
        if table in RESULT_TABLES:  # (so only names from that fixed set reach the SQL)
            by_table.setdefault(table, []).append(row)
    if not by_table:
        return {}
    owners: dict[tuple[str, str], tuple[str | None, str]] = {}
    for table, ids in by_table.items():
        fields = TABLES.get(table)  # None: a table of this device only, so its owner is me
        owner = "person" if fields and "person" in fields else ("?1" if fields is None else "NULL")
        places = ", ".join(f"?{n}" for n in range(2, len(ids) + 2))  # ?1 is me
        for row, person, day in j.conn.execute(
                f'SELECT id, {owner}, {_when_sql(table)} FROM "{table}" WHERE id IN ({places})',
                (j.me, *ids)):
            owners[(table, str(row))] = (person, _local_day(day))
    names = {str(pid): str(name or "?") for pid, name in j.conn.execute(
        "SELECT id, name FROM people")}
    return {key: (names.get(str(person), "") if person else "", day)
            for key, (person, day) in owners.items()}


def search(j: Journal, text: str, limit: int = SEARCH_LIMIT, offset: int = 0) -> list[Hit]:
    """The hits of :func:`search_page`: the `limit` matches after the first `offset`."""
    return search_page(j, text, limit, offset).hits


def search_count(j: Journal, text: str) -> int:
    """How many items match `text` (results only: see :data:`RESULT_TABLES`)."""
    query = fts_query(text)
    return _count(j, query) if query else 0


def _count(j: Journal, query: str) -> int:
    row = j.conn.execute(
        f"SELECT count(*) FROM search_fts WHERE search_fts MATCH ? AND {_SHOWN}",
        (query,)).fetchone()
    return int(row[0])
