"""Issue 8 in the model: deleted items with who and when, repeats that write nothing,
ids never guessed, dates that make sense (a win in the past, "+1y")."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from comentor.model import (
    add_commitment,
    add_goal,
    add_note,
    add_talking_point,
    add_win,
    close_item,
    delete_item,
    deleted_items,
    edit_item,
    find_item,
    is_closed,
    parse_date,
    restore_item,
    short_id,
)
from comentor.model._journal import Journal
from comentor.model.errors import NotFoundError, ValidationError

from .helpers import paired, sync_pair


def ops(j: Journal) -> int:
    return int(j.conn.execute("SELECT count(*) FROM ops").fetchone()[0])


def test_the_partners_delete_names_the_partner_and_its_time(tmp_path: Path, clock) -> None:  # type: ignore[no-untyped-def]
    ada, ben = paired(tmp_path, now=clock)
    goal = add_goal(ada, "Write the field guide")
    sync_pair(ada, ben)
    clock.advance(hours=2)
    delete_item(ben, "goals", goal)
    sync_pair(ada, ben)
    (gone,) = deleted_items(ada, "goal")
    assert (gone.id, gone.table, gone.text, gone.owner, gone.deleted_by) == (
        goal, "goals", "Write the field guide", "Ada", "Ben")
    assert gone.deleted_at == "2026-03-02T11:00:00Z" and not gone.local
    assert deleted_items(ada, "ask") == [] and deleted_items(ada) == [gone]
    restore_item(ada, "goals", goal)
    sync_pair(ada, ben)
    assert deleted_items(ben) == [] and ben.get("goals", goal) is not None


def test_local_items_are_listed_as_deleted_here(journal: Journal) -> None:
    note = add_note(journal, "only mine", private=True)
    draft = add_talking_point(journal, "Studio or not")
    delete_item(journal, "private_notes", note)
    delete_item(journal, "talking_points", draft)  # a draft is found by its id anywhere
    assert {(d.table, d.id, d.local, d.deleted_by) for d in deleted_items(journal)} == {
        ("private_notes", note, True, "Ada"), ("talking_point_drafts", draft, True, "Ada")}
    assert [d.id for d in deleted_items(journal, "draft")] == [draft]
    restore_item(journal, "talking_point_drafts", draft)
    assert [d.id for d in deleted_items(journal)] == [note]


def test_repeats_write_nothing_and_say_why(journal: Journal) -> None:
    goal = add_goal(journal, "Ship")
    with pytest.raises(ValidationError) as err:
        restore_item(journal, "goals", goal)
    assert err.value.field("state") == "live" and "not deleted" in str(err.value)
    delete_item(journal, "goals", goal)
    before = ops(journal)
    with pytest.raises(ValidationError) as err:
        delete_item(journal, "goals", goal)
    assert err.value.field("state") == "deleted" and "already deleted" in str(err.value)
    with pytest.raises(ValidationError) as err:
        close_item(journal, "goals", goal, "done")
    assert err.value.field("hint") == "undo-delete" and err.value.field("row") == goal
    assert ops(journal) == before
    restore_item(journal, "goals", goal)
    commitment = add_commitment(journal, "Call the bank")
    assert close_item(journal, "commitments", commitment, "done") == "done"
    before = ops(journal)
    for how in ("done", "drop"):
        with pytest.raises(ValidationError) as err:
            close_item(journal, "commitments", commitment, how)  # type: ignore[arg-type]
        assert err.value.field("state") == "done" and "already done" in str(err.value)
    assert ops(journal) == before
    # what close_item refuses, asked before: the app says so before asking how it went
    assert is_closed("commitments", "done") and is_closed("goals", "met")
    assert is_closed("challenges", "declined") and is_closed("asks", "closed")
    assert not any(is_closed(t, s) for t, s in (("goals", "open"), ("challenges", "accepted"),
                                                 ("asks", "answered"), ("wins", None)))
    note = add_note(journal, "mine", private=True)
    delete_item(journal, "private_notes", note)
    with pytest.raises(ValidationError):
        delete_item(journal, "private_notes", note)
    with pytest.raises(NotFoundError):
        delete_item(journal, "goals", "nosuchgoal")


def test_a_short_id_wins_over_the_time_its_items_share(journal: Journal) -> None:
    made = [journal.put("goals", None, person=journal.me, text=f"Goal {i}", status="open")
            for i in range(3)]
    assert len({m[:6] for m in made}) == 1  # made in the same second: one time prefix
    odd = "zzzzzzzz" + made[0][:8]  # an id whose short id is the others' time prefix
    journal.put("wins", odd, person=journal.me, text="Win", date="2026-01-01")
    assert find_item(journal, made[0][:4]) == ("wins", odd)
    assert find_item(journal, short_id(made[1])[:4]) == ("goals", made[1])
    assert find_item(journal, made[2][:12]) == ("goals", made[2])  # a whole id's start
    # one item whose whole id starts so (an id from before 0.3.0, shown by its start then)
    # against one whose short id does: neither is picked
    journal.put("goals", "tiyqkluujty3fiwh", person=journal.me, text="Old", status="open")
    journal.put("wins", "3b1g9s1ftiyq0000", person=journal.me, text="New", date="2026-01-01")
    with pytest.raises(ValidationError) as err:
        find_item(journal, "tiyq")
    assert "ambiguous" in str(err.value)
    assert find_item(journal, "tiyqk") == ("goals", "tiyqkluujty3fiwh")


def test_an_ambiguous_prefix_lists_what_it_fits(journal: Journal) -> None:
    journal.put("goals", "zzqa0000000000g1", person=journal.me, text="Goal", status="open")
    journal.put("wins", "zzqa0000000000w1", person=journal.me, text="Win", date="2026-01-01")
    with pytest.raises(ValidationError) as err:
        find_item(journal, "zzqa")
    assert "a goal 000000g1" in str(err.value) and "a win 000000w1" in str(err.value)
    assert err.value.field("candidates") == [("goals", "zzqa0000000000g1"),
                                             ("wins", "zzqa0000000000w1")]
    assert find_item(journal, "zzqa", ("goals",)) == ("goals", "zzqa0000000000g1")
    draft = add_talking_point(journal, "Studio or not")
    assert find_item(journal, draft[-8:-2]) == ("talking_point_drafts", draft)
    note = add_note(journal, "mine", private=True)
    with pytest.raises(NotFoundError):
        find_item(journal, note, ("goals",))  # a private note is not a goal


def test_a_win_happened_and_years_are_dates(journal: Journal) -> None:
    today = journal.today()
    with pytest.raises(ValidationError) as err:
        add_win(journal, "Signed", date="tomorrow")
    assert err.value.field("field") == "date"
    win = add_win(journal, "Signed", date="today")
    with pytest.raises(ValidationError):
        edit_item(journal, "wins", win, date="+1d")
    edit_item(journal, "wins", win, date="2026-01-05")
    assert parse_date("+1y", today) == today.replace(year=today.year + 1)
    assert parse_date("+2y", dt.date(2024, 2, 29)) == dt.date(2026, 2, 28)
    assert parse_date("+4y", dt.date(2024, 2, 29)) == dt.date(2028, 2, 29)
    with pytest.raises(ValidationError) as err:
        parse_date("+9999y", today)
    assert "too far ahead" in str(err.value)
    with pytest.raises(ValidationError) as err:
        parse_date("+1q", today)
    assert "+N d/w/m/y" in str(err.value)
