"""The check-in's rules in the model: what each outcome does, new items' defaults, notes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from comentor import model
from comentor.model import Journal
from comentor.model.errors import ValidationError

from .helpers import paired

NOW = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
NEXT = "2026-03-23"  # the cadence's proposal for the next check-in, three weeks on


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[tuple[Journal, Journal]]:
    ada, ben = paired(tmp_path, now=lambda: NOW)
    yield ada, ben
    ada.close()
    ben.close()


@pytest.fixture
def ada(pair: tuple[Journal, Journal]) -> Journal:
    return pair[0]


@pytest.fixture
def session(ada: Journal) -> str:
    return model.start_checkin(ada)


def _line(j: Journal, session: str, table: str, item: str) -> str | None:
    return model.covered_items(j, session).get((table, item))


def test_the_proposed_date_is_the_cadence(ada: Journal) -> None:
    assert model.propose_next_checkin(ada).date().isoformat() == NEXT


# ---------------------------------------------------------------- commitments
def test_a_commitment_done_is_closed_with_how_it_went(ada: Journal, session: str) -> None:
    c = model.add_commitment(ada, "Ship the plan")
    model.cover_item(ada, session, "commitments", c, "done", note=" Shipped Monday ")
    row = ada.get("commitments", c)
    assert row is not None and row["status"] == "done" and row["result"] == "Shipped Monday"
    assert _line(ada, session, "commitments", c) == "done: Shipped Monday"


def test_a_commitment_is_done_by_default(ada: Journal, session: str) -> None:
    c = model.add_commitment(ada, "Ship the plan")
    model.cover_item(ada, session, "commitments", c)
    assert (ada.get("commitments", c) or {})["status"] == "done"
    assert _line(ada, session, "commitments", c) == "done"


def test_a_carried_commitment_stays_open_with_the_new_date(ada: Journal, session: str) -> None:
    c = model.add_commitment(ada, "Raise the day rate", due="2026-03-01")
    model.cover_item(ada, session, "commitments", c, "carried", note="Half way", due="+2w")
    row = ada.get("commitments", c) or {}
    assert row["status"] == "open" and row["due"] == "2026-03-16"
    assert _line(ada, session, "commitments", c) == "carried to 2026-03-16: Half way"


def test_a_carried_commitment_is_due_by_the_next_checkin(ada: Journal, session: str) -> None:
    c = model.add_commitment(ada, "Raise the day rate", due="2026-03-01")
    model.cover_item(ada, session, "commitments", c, "carried")
    assert (ada.get("commitments", c) or {})["due"] == NEXT
    assert _line(ada, session, "commitments", c) == f"carried to {NEXT}"


def test_a_dropped_commitment(ada: Journal, session: str) -> None:
    c = model.add_commitment(ada, "Learn Rust")
    model.cover_item(ada, session, "commitments", c, "dropped")
    assert (ada.get("commitments", c) or {})["status"] == "dropped"
    assert _line(ada, session, "commitments", c) == "dropped"


def test_an_unknown_outcome_writes_nothing(ada: Journal, session: str) -> None:
    c = model.add_commitment(ada, "Learn Rust")
    with pytest.raises(ValidationError) as caught:
        model.cover_item(ada, session, "commitments", c, "answered")
    assert caught.value.field("option") == "outcome"
    assert (ada.get("commitments", c) or {})["status"] == "open"
    assert _line(ada, session, "commitments", c) is None


# ---------------------------------------------------------------- asks
def test_an_ask_is_answered_by_the_other_partner(ada: Journal, session: str) -> None:
    mine = model.add_ask(ada, "Read my pricing page?", outcome="comments by Friday")
    theirs = model.add_ask(ada, "An intro to a studio?", person=ada.partner())
    model.cover_item(ada, session, "asks", mine, "answered", note="Yes, send it")
    model.cover_item(ada, session, "asks", theirs, "answered", note="I know one")
    first, second = ada.get("asks", mine) or {}, ada.get("asks", theirs) or {}
    assert first["status"] == "answered" and first["answer"] == "Yes, send it"
    assert first["answered_by"] == ada.partner()
    assert second["answered_by"] == ada.me
    assert _line(ada, session, "asks", mine) == "answered"


def test_an_answered_ask_needs_the_answer(ada: Journal, session: str) -> None:
    ask = model.add_ask(ada, "Read my pricing page?")
    with pytest.raises(ValidationError) as caught:
        model.cover_item(ada, session, "asks", ask, "answered", note="  ")
    assert caught.value.field("option") == "answer"
    assert (ada.get("asks", ask) or {})["status"] == "open"
    assert _line(ada, session, "asks", ask) is None


def test_an_ask_still_open_or_closed(ada: Journal, session: str) -> None:
    still, done = model.add_ask(ada, "One"), model.add_ask(ada, "Two")
    model.cover_item(ada, session, "asks", still, "open")
    model.cover_item(ada, session, "asks", done, "closed")
    assert (ada.get("asks", still) or {})["status"] == "open"
    assert _line(ada, session, "asks", still) == "still open"
    assert (ada.get("asks", done) or {})["status"] == "closed"
    assert _line(ada, session, "asks", done) == "closed"


# ---------------------------------------------------------------- challenges
@pytest.mark.parametrize(("outcome", "status"),
                         [("accepted", "accepted"), ("declined", "declined"), ("done", "done")])
def test_a_challenge_outcome(ada: Journal, session: str, outcome: str, status: str) -> None:
    ch = model.propose_challenge(ada, "Teach a workshop")
    model.cover_item(ada, session, "challenges", ch, outcome, note="went well")
    row = ada.get("challenges", ch) or {}
    assert row["status"] == status
    assert (row["follow_up"] == "went well") == (outcome == "done")
    assert _line(ada, session, "challenges", ch) == f"{outcome}: went well"


# ---------------------------------------------------------------- goals and talking points
def test_a_goal_gets_an_update_from_its_owner(ada: Journal, session: str) -> None:
    goal = model.add_goal(ada, "Two direct clients", person=ada.partner())
    model.cover_item(ada, session, "goals", goal, note="Signed one", progress=40)
    updates = [u for u in ada.rows("updates") if u["goal"] == goal]
    assert [(u["text"], u["progress"], u["person"], u["session"]) for u in updates] == [
        ("Signed one", 40, ada.partner(), session)]
    assert _line(ada, session, "goals", goal) == "updated: 40%"


def test_a_goal_update_needs_its_text(ada: Journal, session: str) -> None:
    goal = model.add_goal(ada, "Two direct clients")
    with pytest.raises(ValidationError):
        model.cover_item(ada, session, "goals", goal, progress=10)
    assert _line(ada, session, "goals", goal) is None
    model.cover_item(ada, session, "goals", goal, note="Moving")
    assert _line(ada, session, "goals", goal) == "updated"


def test_a_talking_point_is_covered_with_what_was_agreed(ada: Journal, session: str) -> None:
    agreed = model.add_talking_point(ada, "Studio or not", shared=True)
    plain = model.add_talking_point(ada, "Hiring", shared=True)
    model.cover_item(ada, session, "talking_points", agreed, note="Run the numbers first")
    model.cover_item(ada, session, "talking_points", plain)
    assert _line(ada, session, "talking_points", agreed) == "Run the numbers first"
    assert _line(ada, session, "talking_points", plain) == "covered"
    assert (ada.get("talking_points", plain) or {})["status"] == "covered"


def test_only_agenda_items_of_a_real_checkin_are_covered(ada: Journal, session: str) -> None:
    win = model.add_win(ada, "Signed the lease")
    with pytest.raises(ValidationError):
        model.cover_item(ada, session, "wins", win)
    with pytest.raises(ValidationError) as caught:
        model.cover_item(ada, "nosuchsession", "commitments", model.add_commitment(ada, "x"))
    assert caught.value.field("session") == "nosuchsession"


def test_the_outcome_vocabulary_defaults_first() -> None:
    assert model.COVER_OUTCOMES["commitments"][0] == "done"
    assert model.COVER_OUTCOMES["asks"][0] == "answered"
    assert model.COVER_OUTCOMES["challenges"][0] == "accepted"


# ---------------------------------------------------------------- new items
def test_feedback_for_me_comes_from_my_partner(ada: Journal) -> None:
    partner = ada.partner()
    for_me = model.new_item_defaults(ada, "feedback", {"text": "x", "to_person": ada.me})
    assert for_me["person"] == partner
    for_them = model.new_item_defaults(ada, "feedback", {"text": "x", "to_person": partner})
    assert for_them["person"] == ada.me
    default = model.new_item_defaults(ada, "feedback", {"text": "x"})
    assert (default["to_person"], default["person"]) == (partner, ada.me)


def test_without_a_partner_feedback_is_mine(tmp_path: Path) -> None:
    alone = Journal.create(tmp_path / "alone.db", "Ada", now=lambda: NOW)
    try:
        got = model.new_item_defaults(alone, "feedback", {"text": "x", "to_person": alone.me})
        assert got["person"] == alone.me
    finally:
        alone.close()


def test_a_challenge_for_me_was_proposed_by_my_partner(ada: Journal) -> None:
    partner = ada.partner()
    for_me = model.new_item_defaults(ada, "challenge", {"text": "x", "to_person": ada.me})
    assert for_me["proposer"] == partner
    for_them = model.new_item_defaults(ada, "challenge", {"text": "x"})
    assert (for_them["to_person"], for_them["proposer"]) == (partner, ada.me)


def test_a_new_commitment_is_due_by_the_next_checkin(ada: Journal) -> None:
    got = model.new_item_defaults(ada, "commitment", {"text": "x", "due": None,
                                                      "follow_up": ""}, session="s1")
    assert got["due"].isoformat() == NEXT
    assert got["follow_up"] == "How did it go?" and got["session"] == "s1"
    kept = model.new_item_defaults(ada, "commitment", {"text": "x", "due": "2026-04-01",
                                                       "follow_up": "Done?"})
    assert (kept["due"], kept["follow_up"], kept["session"]) == ("2026-04-01", "Done?", None)


def test_goals_and_asks_are_as_typed(ada: Journal) -> None:
    fields = {"text": "x", "horizon": "long", "person": ada.partner()}
    assert model.new_item_defaults(ada, "goal", fields, session="s1") == fields


def test_an_unknown_kind_is_refused(ada: Journal) -> None:
    with pytest.raises(ValidationError) as caught:
        model.new_item_defaults(ada, "meeting", {"text": "x"})
    assert caught.value.field("kind") == "meeting"


def test_items_added_in_a_checkin(ada: Journal, session: str) -> None:
    partner = ada.partner()
    c = model.add_checkin_item(ada, "commitment", {"text": "Draft the budget", "due": None,
                                                   "follow_up": None, "person": partner},
                               session=session)
    row = ada.get("commitments", c) or {}
    assert (row["person"], row["due"], row["session"], row["follow_up"]) == (
        partner, NEXT, session, "How did it go?")
    f = model.add_checkin_item(ada, "feedback", {"text": "Push on pricing", "kind": "push",
                                                 "to_person": ada.me})
    fb = ada.get("feedback", f) or {}
    assert (fb["person"], fb["to_person"], fb["kind"]) == (partner, ada.me, "push")
    ch = model.add_checkin_item(ada, "challenge", {"text": "Teach a workshop",
                                                   "to_person": partner, "due": "+6w"})
    assert (ada.get("challenges", ch) or {})["proposer"] == ada.me
    g = model.add_checkin_item(ada, "goal", {"text": "Raise rates", "horizon": "near",
                                             "target": None, "person": ada.me})
    assert (ada.get("goals", g) or {})["text"] == "Raise rates"
    a = model.add_checkin_item(ada, "ask", {"text": "An intro?", "kind": "introduction",
                                            "outcome": None, "person": ada.me})
    assert (ada.get("asks", a) or {})["kind"] == "introduction"


# ---------------------------------------------------------------- notes
def test_checkin_notes_shared_and_private(ada: Journal, session: str) -> None:
    ops = ada.conn.execute("SELECT count(*) FROM ops").fetchone()[0]
    model.set_checkin_notes(ada, session, private="He sounded better")
    assert [n["text"] for n in ada.private_notes(session)] == ["He sounded better"]
    assert ada.conn.execute("SELECT count(*) FROM ops").fetchone()[0] == ops  # never synced
    model.set_checkin_notes(ada, session, shared="Good call")
    assert (ada.get("sessions", session) or {})["notes"] == "Good call"
    model.set_checkin_notes(ada, session, private="Better still")
    assert [n["text"] for n in ada.private_notes(session)] == ["Better still"]
    model.set_checkin_notes(ada, session, private="  ")  # emptied: deleted
    assert ada.private_notes(session) == []
    model.set_checkin_notes(ada, session, private="Back")
    assert [n["text"] for n in ada.private_notes(session)] == ["Back"]
    assert (ada.get("sessions", session) or {})["notes"] == "Good call"  # None: unchanged
    with pytest.raises(ValidationError):
        model.set_checkin_notes(ada, "nosuchsession", shared="x")
