"""Past check-ins: the list of those held, and the record of one (its covered items and
outcomes, shared notes, the notes added during it, and this device's private notes)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from comentor import model
from comentor.model import Journal
from comentor.model.errors import NotFoundError

NOW = dt.datetime(2026, 11, 26, 12, 0, tzinfo=dt.UTC)


def _journal(tmp_path: Path) -> tuple[Journal, dict[str, str]]:
    j = Journal.create(tmp_path / "ada.db", "Ada", now=lambda: NOW)
    ids = {"c": model.add_commitment(j, "Send the outline to *Ben*", due="2026-12-01")}
    first = model.start_checkin(j)
    model.cover_item(j, first, "commitments", ids["c"], "done", note="sent [it](http://x) early")
    model.add_note(j, "We agreed: # no meetings on Fridays", session=first)
    model.add_note(j, "mine only", private=True, session=first)
    model.add_note(j, "a note of no check-in")
    model.set_checkin_notes(j, first, shared="Talked about\nthe <b>launch</b>")
    model.end_checkin(j, first)
    ids["first"] = first
    ids["second"] = model.start_checkin(j)  # under way
    return j, ids


def test_the_list_has_every_check_in_held_or_under_way_newest_first(tmp_path: Path) -> None:
    j, ids = _journal(tmp_path)
    past = model.past_checkins(j)
    assert [p.id for p in past] == [ids["second"], ids["first"]]
    second, first = past
    assert (first.status, first.covered, first.notes, first.has_notes) == ("held", 1, 1, True)
    assert (second.status, second.covered, second.notes, second.has_notes) == (
        "in progress", 0, 0, False)
    assert first.day == "2026-11-26"


def test_a_planned_or_deleted_check_in_is_not_listed(tmp_path: Path) -> None:
    j, ids = _journal(tmp_path)
    model.delete_item(j, "sessions", ids["first"])
    assert [p.id for p in model.past_checkins(j)] == [ids["second"]]


def test_the_record_holds_what_the_check_in_left_with_user_text_escaped(tmp_path: Path) -> None:
    j, ids = _journal(tmp_path)
    record = model.checkin_record(j, ids["first"])
    assert record.startswith("## Check-in of 2026-11-26\n")
    assert "Status: held" in record and "Covered: 1 item" in record
    # the covered commitment, its outcome, the shared notes, the note added, the private one
    assert "Send the outline to \\*Ben\\*" in record and "done" in record
    assert "### Notes added during it" in record and "no meetings on Fridays" in record
    assert "### Your private notes on it (this device only)" in record and "mine only" in record
    assert "a note of no check-in" not in record
    # nothing typed becomes Markdown: no link, no heading, no HTML
    assert "[it](http://x)" not in record and "\\[it\\]" in record
    assert "\n# no meetings" not in record and "\\# no meetings" in record
    assert "<b>" not in record


def test_the_record_of_the_check_in_under_way_says_so(tmp_path: Path) -> None:
    j, ids = _journal(tmp_path)
    record = model.checkin_record(j, ids["second"])
    assert "Status: in progress" in record and "Covered: 0 items" in record
    assert "Notes added during it" not in record


def test_an_unknown_check_in_is_refused_in_one_line(tmp_path: Path) -> None:
    j, _ = _journal(tmp_path)
    with pytest.raises(NotFoundError, match="no such check-in"):
        model.checkin_record(j, "0000000000000000")


def test_the_export_says_the_same_of_each_check_in(tmp_path: Path) -> None:
    j, ids = _journal(tmp_path)
    exported = model.export_markdown(j)
    record = model.checkin_record(j, ids["first"])
    section = record.split("\n### ", 1)[0].replace("## Check-in", "### Check-in", 1)
    assert section.strip() in exported


def test_notes_kept_outside_every_check_in_have_their_own_record(tmp_path: Path) -> None:
    j, _ = _journal(tmp_path)
    assert model.outside_notes(j) == (1, "2026-11-26")  # "a note of no check-in"
    record = model.outside_record(j)
    assert record.startswith("## Notes kept outside any check-in\n")
    assert "a note of no check" in record and "no meetings on Fridays" not in record
    [note] = [n for n in j.rows("notes") if not n.get("session")]
    model.delete_item(j, "notes", note["id"])
    assert model.outside_notes(j) == (0, "")
    assert model.outside_record(j) == "No note kept outside a check-in.\n"
