"""The typed reads the interfaces use instead of SQL: the dashboard read model, the one
timeline, partnership state and the lists behind the goal, feedback and wins screens."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from comentor import model
from comentor.model import Journal
from comentor.model.errors import NotAJournalError

from .helpers import paired, sync_pair

DEMO_NOW = dt.datetime(2026, 11, 26, 12, 0, tzinfo=dt.UTC)


def test_dashboard_of_the_demo(demo_path: Path) -> None:
    j = Journal.open(demo_path, now=lambda: DEMO_NOW)
    try:
        d = model.dashboard(j)
        state = model.partnership_state(j)
    finally:
        j.close()
    assert isinstance(d, model.Dashboard)
    assert (d.me, d.partner, d.demo) == ("Maya Okafor", "Jonas Berg", True)
    assert d.paired == state.paired and d.names == state.names
    assert d.mine and all(c["person"] == state.me for c in d.mine)
    assert d.theirs and all(c["person"] == state.partner for c in d.theirs)
    assert [c["due"] or "9999" for c in d.mine] == sorted(c["due"] or "9999" for c in d.mine)
    assert [a["text"] for a in d.asks_mine if a["vague"]] == ["Any tips?"]
    assert len(d.wins) == 6
    assert [(w["date"], w["id"]) for w in d.wins] == sorted(((w["date"], w["id"]) for w in d.wins),
                                                            reverse=True)
    assert d.next.state in ("on_time", "due", "overdue", "lapsed") and d.cadence
    assert (d.conflicts, d.quarantined) == (0, 0)


def test_dashboard_splits_mine_and_the_partners(tmp_path: Path, clock: Any) -> None:
    a, b = paired(tmp_path, now=clock)
    mine = model.add_commitment(a, "Send the pitch", due="+1w")
    model.add_commitment(b, "Call the bank")
    model.add_ask(a, "Any tips?")
    model.add_ask(b, "Intro to an editor", outcome="one warm introduction")
    model.add_win(a, "Signed the library")
    sync_pair(a, b)
    d = model.dashboard(a)
    assert (d.me, d.partner, d.demo, d.paired) == ("Ada", "Ben", False, True)
    assert [c["id"] for c in d.mine] == [mine]
    assert [c["text"] for c in d.theirs] == ["Call the bank"]
    assert [(x["text"], x["vague"]) for x in d.asks_mine] == [("Any tips?", True)]
    assert [(x["text"], x["vague"]) for x in d.asks_theirs] == [("Intro to an editor", False)]
    assert [w["text"] for w in d.wins] == ["Signed the library"]  # sparse: the whole timeline


def test_one_timeline_newest_first_and_since_a_day(journal: Journal, clock: Any) -> None:
    old = model.add_win(journal, "Old win", date="2025-01-10")
    goal = model.add_goal(journal, "Ship")
    model.set_goal_status(journal, goal, "met")
    new = model.add_win(journal, "New win", date="2026-03-01")
    events = model.timeline(journal)
    assert [(e["kind"], e["id"]) for e in events] == [("goal met", goal), ("win", new), ("win", old)]
    assert all(e["person"] == "Ada" for e in events)
    recent = model.timeline(journal, since=dt.date(2026, 1, 1))
    assert [e["id"] for e in recent] == [goal, new]
    assert model.timeline(journal, limit=1)[0]["id"] == goal


def test_partnership_state(tmp_path: Path, clock: Any) -> None:
    alone = Journal.create(tmp_path / "alone.db", "Cleo", now=clock)
    state = model.partnership_state(alone)
    assert (state.partner, state.paired, state.demo) == (None, False, False)
    assert state.people == [(alone.me, "Cleo")] and state.name(None) == "?"
    alone.close()
    a, b = paired(tmp_path, now=clock)
    sync_pair(a, b)
    state = model.partnership_state(a)
    assert state.paired and state.partner == b.me
    assert state.people == [(a.me, "Ada"), (b.me, "Ben")]


def test_goal_updates_feedback_and_stories(tmp_path: Path, clock: Any) -> None:
    a, b = paired(tmp_path, now=clock)
    goal = model.add_goal(a, "Ship")
    first = model.add_update(a, goal, "started", progress=10)
    clock.advance(days=1)
    second = model.add_update(a, goal, "half way", progress=50)
    assert [u["id"] for u in model.updates_of(a, goal)] == [second, first]
    sync_pair(a, b)
    fb = model.add_feedback(b, "Set a date", kind="push", target_table="goals", target_id=goal)
    own = model.add_feedback(a, "Note to self", target_table="goals", target_id=goal)
    sync_pair(a, b)
    on_goal = {f["id"]: f for f in model.feedback_on(a, "goals", goal)}
    assert set(on_goal) == {fb, own}
    # feedback goes to whoever owns the item, or to the partner when it is the giver's own
    assert on_goal[fb]["to_person"] == a.me and on_goal[own]["to_person"] == b.me
    v1 = model.write_story(a, "I run tests")
    clock.advance(days=1)
    v2 = model.write_story(a, "I help teams hear users")
    model.write_story(b, "I write docs")
    sync_pair(a, b)
    assert [s["id"] for s in model.stories(a, a.me)] == [v2, v1]
    assert len(model.stories(a)) == 3
    targets = {(t.table, t.id): t for t in model.feedback_targets(a)}
    assert targets[("goals", goal)].person == "Ada"
    assert ("stories", v2) in targets and ("stories", v1) not in targets
    model.close_ask(a, ask := model.add_ask(a, "Intro"))
    assert ("asks", ask) not in {(t.table, t.id) for t in model.feedback_targets(a)}


def test_missing_baselines_and_owning_item(tmp_path: Path, clock: Any) -> None:
    a, b = paired(tmp_path, now=clock)
    sync_pair(a, b)
    assert model.missing_baselines(a) == [a.me, b.me]
    model.record_baseline(a, role="researcher", situation="solo")
    assert model.missing_baselines(a) == [b.me]
    goal = model.add_goal(a, "Ship")
    update = model.add_update(a, goal, "half way")
    assert model.owning_item(a, "updates", update) == ("goals", goal)
    assert model.owning_item(a, "asks", "abc") == ("asks", "abc")


def test_is_demo_journal(demo_path: Path, journal: Journal, tmp_path: Path) -> None:
    assert model.is_demo_journal(demo_path)
    assert not model.is_demo_journal(journal.path)
    other = tmp_path / "other.txt"
    other.write_text("not a database")
    with pytest.raises(NotAJournalError):
        model.is_demo_journal(other)
    assert other.read_text() == "not a database"


def test_rows_takes_no_sql_outside_the_model(journal: Journal) -> None:
    model.add_goal(journal, "Ship")
    assert [g["text"] for g in journal.rows("goals")] == ["Ship"]
    with pytest.raises(TypeError):
        journal.rows("goals", "status = 'open'")  # type: ignore[misc]
    assert not hasattr(journal, "count")
