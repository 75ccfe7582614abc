"""The model's verbs for changing items: edit per kind, close with the kind's status,
delete and restore (private notes and drafts included), all through comentor.model."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from comentor import model
from comentor.model import Journal
from comentor.model.errors import NotFoundError, ValidationError

from .helpers import paired


def op_count(j: Journal) -> int:
    return int(j.conn.execute("SELECT count(*) FROM ops").fetchone()[0])


def row(j: Journal, table: str, rid: str) -> dict[str, Any]:
    found = j.get(table, rid, include_deleted=True)
    assert found is not None
    return found


# ---------------------------------------------------------------------- edit, per kind
def test_edit_a_goal_is_one_operation_with_parsed_dates_and_defaults(journal: Journal) -> None:
    goal = model.add_goal(journal, "Write a book", detail="why it matters")
    before = op_count(journal)
    model.edit_item(journal, "goals", goal, text="  Write a short book ", horizon=None,
                    target="+2w", detail="why it matters")
    assert op_count(journal) == before + 1
    g = row(journal, "goals", goal)
    assert (g["text"], g["horizon"], g["detail"]) == ("Write a short book", "near", "why it matters")
    assert g["target"] == (journal.today() + dt.timedelta(days=14)).isoformat()
    model.edit_item(journal, "goals", goal, target="", detail="")
    g = row(journal, "goals", goal)
    assert g["target"] is None and g["detail"] is None


def test_a_field_the_kind_lacks_is_refused_with_its_name_and_nothing_is_written(
        journal: Journal) -> None:
    goal = model.add_goal(journal, "Ship")
    before = op_count(journal)
    with pytest.raises(ValidationError) as err:
        model.edit_item(journal, "goals", goal, text="Ship it", due="+1w")
    assert str(err.value) == "a goal has no field 'due'; use its target date"
    assert err.value.field("field") == "due" and err.value.field("table") == "goals"
    assert "--" not in str(err.value)
    ask = model.add_ask(journal, "Intro", outcome="one warm introduction")
    with pytest.raises(ValidationError, match="an ask has no field 'due'"):
        model.edit_item(journal, "asks", ask, answer="yes", due="tomorrow")
    with pytest.raises(ValidationError) as err:
        model.edit_item(journal, "goals", goal, answer="yes")
    assert err.value.field("field") == "answer"
    with pytest.raises(ValidationError) as err:
        model.edit_item(journal, "commitments", model.add_commitment(journal, "x"), target="+1w")
    assert "use its due date" in str(err.value)
    assert op_count(journal) == before + 2  # the ask and the commitment, nothing else


@pytest.mark.parametrize(
    ("changes", "field"),
    [({"text": "  "}, "text"), ({"due": "soonish"}, "due"), ({}, "fields")],
)
def test_bad_values_name_their_field(journal: Journal, changes: dict[str, Any], field: str) -> None:
    c = model.add_commitment(journal, "Call the bank")
    before = op_count(journal)
    with pytest.raises(ValidationError) as err:
        model.edit_item(journal, "commitments", c, **changes)
    assert err.value.field("field") == field
    assert op_count(journal) == before


def test_edit_an_ask_defaults_its_kind_and_answers_in_one_operation(journal: Journal) -> None:
    ask = model.add_ask(journal, "Intro", kind="introduction", outcome="one warm introduction")
    model.edit_item(journal, "asks", ask, kind=None, outcome="  two intros  ")
    a = row(journal, "asks", ask)
    assert (a["kind"], a["outcome"]) == ("question", "two intros")
    before = op_count(journal)
    model.edit_item(journal, "asks", ask, text="Intro please", answer="Talk to Priya")
    assert op_count(journal) == before + 1
    a = row(journal, "asks", ask)
    assert (a["text"], a["answer"], a["status"]) == ("Intro please", "Talk to Priya", "answered")
    assert a["answered_by"] == journal.me and a["answered_at"] == journal.now_iso()


def test_a_win_keeps_its_date_and_an_unchanged_long_text_is_not_rewritten(journal: Journal) -> None:
    win = model.add_win(journal, "Signed", date="2026-01-05", detail="the library")
    model.edit_item(journal, "wins", win, text="Signed the library", date="", detail="the library")
    w = row(journal, "wins", win)
    assert (w["text"], w["date"], w["detail"]) == ("Signed the library", "2026-01-05", "the library")
    fb = model.add_feedback(journal, "Pick one story", kind="push")
    before = op_count(journal)
    model.edit_item(journal, "feedback", fb, text="Pick one story")  # unchanged: no operation
    assert op_count(journal) == before
    model.edit_item(journal, "feedback", fb, kind=None, text="Pick one story")
    assert row(journal, "feedback", fb)["kind"] == "perspective"


def test_edit_a_private_note_stays_on_the_device(journal: Journal) -> None:
    note = model.add_note(journal, "secret", private=True)
    before = op_count(journal)
    model.edit_item(journal, "private_notes", note, text="still secret")
    assert op_count(journal) == before
    assert [n["text"] for n in model.list_items(journal, "private")] == ["still secret"]
    with pytest.raises(ValidationError, match="a private note has no field 'due'"):
        model.edit_item(journal, "private_notes", note, due="+1w")


def test_update_progress_must_be_a_whole_number(journal: Journal) -> None:
    update = model.add_update(journal, model.add_goal(journal, "Ship"), "half", progress=50)
    model.edit_item(journal, "updates", update, progress="60")
    assert row(journal, "updates", update)["progress"] == 60
    with pytest.raises(ValidationError) as err:
        model.edit_item(journal, "updates", update, progress="lots")
    assert err.value.field("field") == "progress"


# ---------------------------------------------------------------------- close vocabulary
@pytest.mark.parametrize(
    ("table", "done", "drop"),
    [("commitments", "done", "dropped"), ("goals", "met", "dropped"),
     ("challenges", "done", "declined"), ("asks", "closed", "closed")],
)
def test_close_uses_the_status_of_each_kind(tmp_path: Path, clock: Any, table: str, done: str,
                                           drop: str) -> None:
    a, _b = paired(tmp_path, now=clock)
    makers = {
        "commitments": lambda: model.add_commitment(a, "Send the pitch"),
        "goals": lambda: model.add_goal(a, "Ship"),
        "challenges": lambda: model.propose_challenge(a, "Teach a workshop"),
        "asks": lambda: model.add_ask(a, "Intro"),
    }
    first, second = makers[table](), makers[table]()
    kept = {"commitments": "result", "challenges": "follow_up"}.get(table)
    if not kept:  # how it went, where nothing keeps it: refused, never dropped unsaid
        before = row(a, table, first)
        with pytest.raises(ValidationError) as refused:
            model.close_item(a, table, first, "done", "went well")
        assert refused.value.field("field") == "result"
        assert row(a, table, first) == before
    assert model.close_item(a, table, first, "done", "went well" if kept else None) == done
    assert model.close_item(a, table, second, "drop") == drop
    assert (row(a, table, first)["status"], row(a, table, second)["status"]) == (done, drop)
    if kept:
        assert row(a, table, first)[kept] == "went well"


def test_only_closable_kinds_close(journal: Journal) -> None:
    assert model.CLOSABLE_TABLES == ("commitments", "goals", "challenges", "asks")
    win = model.add_win(journal, "Signed")
    with pytest.raises(ValidationError, match="a win is not closed"):
        model.close_item(journal, "wins", win, "done")


# ---------------------------------------------------------------------- delete / restore
def test_delete_and_restore_a_private_note_locally(journal: Journal) -> None:
    note = model.add_note(journal, "the sabbatical plan", private=True)
    before = op_count(journal)
    model.delete_item(journal, "private_notes", note)
    assert model.list_items(journal, "private") == []
    assert not model.search(journal, "sabbatical")
    model.restore_item(journal, "private_notes", note)
    assert [n["id"] for n in model.list_items(journal, "private")] == [note]
    assert [h.row for h in model.search(journal, "sabbatical")] == [note]
    assert op_count(journal) == before  # never an operation: it never leaves the device
    with pytest.raises(NotFoundError):
        model.delete_item(journal, "private_notes", "nosuchnote")


def test_delete_and_restore_a_draft_and_a_synced_item(journal: Journal) -> None:
    draft = model.add_talking_point(journal, "Studio or not")
    model.delete_item(journal, "talking_points", draft)
    assert model.list_items(journal, "draft") == []
    model.restore_item(journal, "talking_points", draft)
    assert [d["id"] for d in model.list_items(journal, "draft")] == [draft]
    goal = model.add_goal(journal, "Ship")
    model.delete_item(journal, "goals", goal)
    assert journal.get("goals", goal) is None
    model.restore_item(journal, "goals", goal)
    assert journal.get("goals", goal) is not None
    with pytest.raises(ValidationError):
        model.delete_item(journal, "people", journal.me)


# ---------------------------------------------------------------------- errors carry fields
def test_a_missing_journal_carries_its_remedy_as_a_field(tmp_path: Path) -> None:
    from comentor.model.errors import JournalMissingError

    with pytest.raises(JournalMissingError) as err:
        Journal.open(tmp_path / "none.db")
    assert err.value.field("hint") == "init" and "comentor" not in str(err.value)


def test_an_empty_cadence_change_names_no_flag(journal: Journal) -> None:
    with pytest.raises(ValidationError) as err:
        model.set_cadence(journal)
    assert err.value.field("field") == "cadence" and "--" not in str(err.value)


def test_answering_a_closed_ask_keeps_it_closed(journal: Journal) -> None:
    """The app's answer key and the CLI's `edit --answer` alike: a closed ask's answer
    changes, and it stays closed; an open one becomes answered."""
    closed, still_open = model.add_ask(journal, "Intro to Priya"), model.add_ask(journal, "Help")
    model.close_item(journal, "asks", closed, "done")
    model.answer_ask(journal, closed, "Priya, at Leeds Books")
    model.answer_ask(journal, still_open, "Sam does")
    assert (row(journal, "asks", closed)["status"], row(journal, "asks", closed)["answer"]) \
        == ("closed", "Priya, at Leeds Books")
    assert row(journal, "asks", still_open)["status"] == "answered"
