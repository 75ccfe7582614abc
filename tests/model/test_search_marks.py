"""Search results are items, and their snippets are the items' text as written.

The index holds documents of bookkeeping rows too (people's names, the outcome word of each
item covered in a check-in): they are never results, in the app or in `comentor search`.
A match is marked by offsets, never by characters in the text, so a "[beta]" typed in a
goal reads as typed and is not taken for a match.
"""

from __future__ import annotations

from pathlib import Path

from comentor.model import _checkin as checkin
from comentor.model import _checkin_items as items
from comentor.model import _entities as e
from comentor.model import _search
from comentor.model._journal import Journal
from comentor.model._schema import TABLES, searchable_fields
from comentor.model._search import search, search_count, search_page

BOOKKEEPING = {"people", "partnership", "session_items"}  # indexed, never results


def _matched(hit: object) -> list[str]:
    """The words marked in a hit's snippet (its text ends with the space the index puts
    between an item's fields)."""
    snippet, marks = hit.snippet, hit.marks  # type: ignore[attr-defined]
    return [snippet[start:end] for start, end in marks]


def test_brackets_in_an_item_stay_and_only_the_match_is_marked(journal: Journal) -> None:
    e.add_goal(journal, "Ship zebraword v2 [beta] of the site")
    [hit] = search(journal, "zebraword")
    assert hit.snippet.rstrip() == "Ship zebraword v2 [beta] of the site"
    assert _matched(hit) == ["zebraword"]
    [hit] = search(journal, "beta")  # a word inside brackets is found, and marked alone
    assert hit.snippet.rstrip() == "Ship zebraword v2 [beta] of the site"
    assert _matched(hit) == ["beta"]


def test_every_match_is_marked_and_no_mark_is_left_in_the_text(journal: Journal) -> None:
    e.add_goal(journal, "lantern one, then [lantern] two")
    [hit] = search(journal, "lantern")
    assert hit.snippet.rstrip() == "lantern one, then [lantern] two"
    assert _matched(hit) == ["lantern", "lantern"]
    assert "\x02" not in hit.snippet and "\x03" not in hit.snippet


def test_an_item_holding_the_mark_characters_keeps_them_and_only_the_match_is_marked(
        journal: Journal) -> None:
    """STX and ETX mark a match; an item that holds them (pasted, or sent by a peer) has
    its snippet made with other marks: its text as written, only the match marked."""
    text = "odd\x03 text \x02with quokka inside\x02 and \x03more"
    e.add_goal(journal, text)
    e.add_goal(journal, "a plain quokka")
    hits = {h.snippet.rstrip(): h for h in search(journal, "quokka")}
    assert set(hits) == {text, "a plain quokka"}
    assert _matched(hits[text]) == ["quokka"]
    assert _matched(hits["a plain quokka"]) == ["quokka"]
    e.add_goal(journal, "\ue000\ue001\ue003 quokka\x02")  # the spare marks are not these
    [odd] = [h for h in search(journal, "quokka") if "\ue000" in h.snippet]
    assert odd.snippet.rstrip() == "\ue000\ue001\ue003 quokka\x02" and _matched(odd) == ["quokka"]


def test_an_item_holding_every_private_use_character_is_still_found(journal: Journal) -> None:
    """A partner can send a text that holds the whole private-use area of the Basic
    Multilingual Plane and a mark character: its snippet takes marks from plane 15's."""
    crowded = "".join(chr(c) for c in range(0xE000, 0xF900)) + " quokka\x02"
    e.add_goal(journal, "x", detail=crowded)
    [hit] = search(journal, "quokka")
    assert _matched(hit) == ["quokka"] and "\x02" in hit.snippet


def test_marked_reads_pairs_only() -> None:
    assert _search.marked("a \x02b\x03 c") == ("a b c", ((2, 3),))
    assert _search.marked("\x03a \x02b") == ("a b", ())  # a close first, an open never closed
    assert _search.marked("\x02a \x02b\x03") == ("a b", ((2, 3),))  # the last open before a close
    assert _search.marked("[a] b") == ("[a] b", ())
    assert _search.marked("x <a> [b]", "<", ">") == ("x a [b]", ((2, 3),))


def test_bookkeeping_rows_are_never_results(demo_path: Path) -> None:
    j = Journal.open(demo_path)
    try:
        # the demo covers many items "updated" in its check-ins, and names Maya
        indexed = {row[0] for row in j.conn.execute("SELECT DISTINCT tbl FROM search_docs")}
        assert {"session_items", "people"} <= indexed  # the documents are there...
        for word in ("updated", "Maya", "Okafor", "studio", "underquoting"):
            page = search_page(j, word, limit=500)
            assert not {h.table for h in page.hits} & BOOKKEEPING, word  # ...never shown
            assert page.total == len(page.hits) == search_count(j, word), word
        assert search_count(j, "updated") == 0
        assert [h.table for h in search(j, "Okafor")] == []  # a person is not an item
        tables = {h.table for h in search(j, "studio")}
        assert "baselines" in tables  # a baseline is an item: it stays
    finally:
        j.close()


def test_a_checkin_items_outcome_and_a_name_are_not_found(journal: Journal) -> None:
    commitment = e.add_commitment(journal, "Call the printer")
    session = checkin.start_session(journal)
    items.cover_item(journal, session, "commitments", commitment, "carried")
    assert journal.conn.execute(
        "SELECT count(*) FROM search_docs WHERE tbl IN ('session_items', 'people')"
    ).fetchone()[0] >= 2
    assert search(journal, "carried") == [] and search_count(journal, "carried") == 0
    assert search(journal, "Ada") == [] and search_count(journal, "Ada") == 0
    assert [h.table for h in search(journal, "printer")] == ["commitments"]


def test_every_indexed_table_is_a_result_or_bookkeeping_on_purpose() -> None:
    """A table the index covers is either a result or one of the three bookkeeping
    tables: a new searchable table must be named in RESULT_TABLES to show."""
    indexed = {t for t in TABLES if searchable_fields(t)} | {"private_notes",
                                                             "talking_point_drafts"}
    assert indexed - _search.RESULT_TABLES == BOOKKEEPING
    assert _search.RESULT_TABLES <= indexed


def test_drafts_are_found_as_long_as_they_are_drafts(journal: Journal) -> None:
    """A talking-point draft (this device only) is found by search like a private note:
    after an edit by its new words, not once discarded, again once restored, and once
    shared as the talking point it became."""
    draft = journal.add_draft("Raise the wombatword rate")
    [hit] = search(journal, "wombatword")
    assert (hit.table, hit.row) == ("talking_point_drafts", draft)
    assert _search.search_label(hit.table) == "draft talking point"
    journal.edit_draft(draft, "Raise the koalaword rate")
    assert search(journal, "wombatword") == []
    assert [h.row for h in search(journal, "koalaword")] == [draft]
    journal.discard_draft(draft)
    assert search(journal, "koalaword") == []
    journal.restore_draft(draft)
    assert [h.row for h in search(journal, "koalaword")] == [draft]
    point = e.share_draft(journal, draft)
    assert [(h.table, h.row) for h in search(journal, "koalaword")] == [("talking_points", point)]


def test_drafts_stay_found_after_a_rebuild_and_a_repair(journal: Journal) -> None:
    """Replaying the log (a fork undone) and repairing the file rebuild the index from the
    operations; drafts and private notes have none, and keep their documents."""
    from comentor.model._projection import rebuild
    from comentor.model._repair import repair_journal

    journal.add_draft("Bring up the quokkaword offer")
    journal.add_private_note("quokkaword: he hesitated")
    with journal.transaction():
        rebuild(journal.conn)
    assert sorted(h.table for h in search(journal, "quokkaword")) == [
        "private_notes", "talking_point_drafts"]
    path = journal.path
    journal.close()
    report = repair_journal(path)
    repaired = Journal.open(report.target)
    try:
        assert sorted(h.table for h in search(repaired, "quokkaword")) == [
            "private_notes", "talking_point_drafts"]
    finally:
        repaired.close()
