"""Entities and the queries the screens need: agenda, drift, skills matrix, timeline, search."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from comentor.model import _checkin as checkin
from comentor.model import _entities as e
from comentor.model import _queries as queries
from comentor.model import _schedule as schedule
from comentor.model._journal import Journal
from comentor.model._search import fts_query, search
from comentor.model.errors import ValidationError

from .helpers import paired, sync_pair


@pytest.mark.parametrize(
    ("offset", "state", "late"),
    [(-1, "on_time", -1), (0, "due", 0), (1, "overdue", 1), (21, "overdue", 21), (22, "lapsed", 22)],
)
def test_drift_states_at_their_boundaries(offset: int, state: str, late: int) -> None:
    due = dt.date(2026, 3, 10)
    assert schedule.drift_state(due, due + dt.timedelta(days=offset), 21) == (state, late)


def test_next_checkin_follows_the_last_one_and_the_cadence(journal: Journal, clock) -> None:  # type: ignore[no-untyped-def]
    schedule.set_cadence(journal, every="2w", at="10:30", minutes=45)
    session = checkin.start_session(journal)
    summary = checkin.end_session(journal, session)
    assert summary.next_at.date() == journal.today() + dt.timedelta(days=14)
    nxt = schedule.next_checkin(journal)
    assert nxt.state == "on_time" and nxt.due.strftime("%H:%M") == "10:30"
    clock.advance(days=15)
    assert schedule.next_checkin(journal).state == "overdue"
    clock.advance(days=14)
    assert schedule.next_checkin(journal).state == "lapsed"


def test_cadence_validation(journal: Journal) -> None:
    for bad in ({"every": "often"}, {"at": "25:00"}, {"minutes": 2}, {}):
        with pytest.raises(ValidationError):
            schedule.set_cadence(journal, **bad)  # type: ignore[arg-type]


def test_agenda_carries_commitments_until_done(tmp_path: Path, clock) -> None:  # type: ignore[no-untyped-def]
    a, b = paired(tmp_path, now=clock)
    c = e.add_commitment(a, "Send the pitch", follow_up="How did the pitch go?")
    ask = e.add_ask(b, "Intro to an editor", kind="introduction", outcome="one warm intro")
    goal = e.add_goal(a, "Write the book")
    tp = e.add_talking_point(b, "Pricing", shared=True)
    draft = e.add_talking_point(a, "private draft")
    sync_pair(a, b)
    items = {(i.section, i.id) for i in checkin.agenda(a)}
    assert {("commitments", c), ("asks", ask), ("goals", goal), ("talking_points", tp)} <= items
    assert all(i.id != draft for i in checkin.agenda(a))
    session = checkin.start_session(a)
    e.carry_commitment(a, c, "+3w", result="half done")
    checkin.cover(a, session, "commitments", c, "carried")
    e.add_update(a, goal, "Chapter one", progress=20, session=session)
    checkin.cover(a, session, "goals", goal, "updated")
    checkin.end_session(a, session)
    clock.advance(days=22)
    items = {(i.section, i.id) for i in checkin.agenda(a)}
    assert ("commitments", c) in items  # carried over: back on the next agenda
    e.close_commitment(a, c, "done", "went well")
    assert ("commitments", c) not in {(i.section, i.id) for i in checkin.agenda(a)}
    assert queries.goal_progress(a, goal) == [("2026-03-02", 20)]


def test_first_checkin_and_baselines(journal: Journal) -> None:
    assert checkin.is_first_checkin(journal)
    e.record_baseline(journal, role="Researcher", situation="Solo", concentration="high")
    with pytest.raises(ValidationError):
        e.record_baseline(journal, role="", situation="x")
    with pytest.raises(ValidationError):
        e.record_baseline(journal, role="x", situation="x", concentration="extreme")


def test_vague_asks_are_flagged(journal: Journal) -> None:
    assert e.is_vague("Any tips?", "")
    assert e.is_vague("Help", "help")
    assert not e.is_vague("Intro", "one warm introduction to an editor")
    e.add_ask(journal, "Any tips?")
    assert queries.list_items(journal, "ask")[0]["vague"] is True
    with pytest.raises(ValidationError, match="must be one of"):
        e.add_ask(journal, "x", kind="bribe")


def test_skills_matrix_meets_strength_with_growth(tmp_path: Path, clock) -> None:  # type: ignore[no-untyped-def]
    a, b = paired(tmp_path, now=clock)
    e.add_skill(a, "Pricing and proposals", direction="strength")
    e.add_skill(b, "Pricing software", direction="grow")
    e.add_skill(b, "Gardening", direction="strength")
    e.add_skill(a, "Public speaking", direction="grow")
    sync_pair(a, b)
    m = queries.skills_matrix(a)
    assert [(x.helper, x.learner) for x in m.matches] == [("Ada", "Ben")]
    assert m.strengths["Ben"] == ["Gardening"] and m.grows["Ada"] == ["Public speaking"]
    assert queries.suggest_helpers(b, "how should I price this?") == []
    assert queries.suggest_helpers(b, "pricing question") == [("Ada", "Pricing and proposals")]


def test_challenges_flow_between_partners(tmp_path: Path, clock) -> None:  # type: ignore[no-untyped-def]
    a, b = paired(tmp_path, now=clock)
    sync_pair(a, b)
    ch = e.propose_challenge(a, "Teach a workshop")
    sync_pair(a, b)
    assert (b.get("challenges", ch) or {})["person"] == b.me
    e.respond_challenge(b, ch, True)
    e.complete_challenge(b, ch, "Scary and useful")
    sync_pair(a, b)
    assert [t["kind"] for t in queries.timeline(a)] == ["challenge done"]


def test_timeline_and_on_this_day(journal: Journal, clock) -> None:  # type: ignore[no-untyped-def]
    e.add_win(journal, "Signed the library", date="2026-03-01")
    g = e.add_goal(journal, "Ship")
    e.set_goal_status(journal, g, "met")
    assert [t["kind"] for t in queries.timeline(journal)] == ["goal met", "win"]
    clock.advance(days=365)
    assert [x["text"] for x in queries.on_this_day(journal)] == ["Signed the library"]


def test_search_covers_text_fields_and_private_notes(journal: Journal) -> None:
    g = e.add_goal(journal, "Publish the field guide", detail="remote interviews")
    journal.add_private_note("worried about the publisher")
    hits = search(journal, "publ")
    assert {h.table for h in hits} == {"goals", "private_notes"}
    assert search(journal, "interv")[0].row == g
    journal.delete("goals", g)
    assert [h.table for h in search(journal, "publ")] == ["private_notes"]
    journal.undelete("goals", g)
    assert len(search(journal, "field guide")) == 1
    for nasty in ('"', "*", "a:b", "NEAR(", ")", "", "   "):
        search(journal, nasty)  # never an FTS syntax error
    assert fts_query('say "hi" -x') == '("say" AND "hi") NOT "x"'


def test_status_counts_open_items(journal: Journal) -> None:
    e.add_commitment(journal, "one")
    done = e.add_commitment(journal, "two")
    e.close_commitment(journal, done, "done")
    st = queries.status(journal)
    assert st["open"]["Ada"]["commitments"] == 1 and st["paired"] is False


def test_dates_people_type(journal: Journal) -> None:
    from comentor.model._dates import parse_date, parse_every

    today = dt.date(2026, 3, 2)  # a Monday
    assert parse_date("friday", today) == dt.date(2026, 3, 6)
    assert parse_date("+2w", today) == dt.date(2026, 3, 16)
    assert parse_date("2026-04-01", today) == dt.date(2026, 4, 1)
    assert parse_every("3 weeks") == 21
    for bad in ("someday", "2026-13-01", "+", "2026-1-1"):
        with pytest.raises(ValidationError, match="bad date"):
            parse_date(bad, today)


def test_the_next_checkin_is_within_reason(journal: Journal) -> None:
    session = checkin.start_session(journal)
    with pytest.raises(ValidationError, match="within three years"):
        checkin.end_session(journal, session, next_at=schedule.parse_when(journal, "9999-12-01"))
    assert checkin.current_session(journal) is not None  # nothing stored
