"""The check-in shared by two devices: lifecycle, one timer, feedback answers, the end step."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from comentor import model
from comentor.model import Journal
from comentor.model._timer import TimerEvent, fold_timer
from comentor.model.errors import ValidationError
from comentor.model.testing import FixedClock as Clock
from comentor.model.testing import sync_in_process

from .helpers import paired

NOW = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def pair(tmp_path: Path, clock: Clock) -> Iterator[tuple[Journal, Journal]]:
    ada, ben = paired(tmp_path, now=clock)
    ada.put("people", ben.me, name="Ben")
    sync_in_process(ada, ben)
    yield ada, ben
    ada.close()
    ben.close()


def _schedule(j: Journal) -> list[dt.datetime]:
    return model.upcoming_checkins(j)


def test_looking_at_the_checkin_writes_nothing(pair: tuple[Journal, Journal]) -> None:
    """What the screen reads (status, agenda, balance) changes neither the status nor the
    schedule: the next check-in stays at the cadence's time of day."""
    ada, _ = pair
    model.set_cadence(ada, at="12:00")
    before = (model.journal_status(ada), _schedule(ada), ada.conn.execute(
        "SELECT count(*) FROM ops").fetchone())
    status = model.checkin_status(ada)
    model.agenda(ada)
    model.time_balance(ada)
    assert status.phase == "planned" and status.session is None
    assert (model.journal_status(ada), _schedule(ada), ada.conn.execute(
        "SELECT count(*) FROM ops").fetchone()) == before
    assert all(d.astimezone().strftime("%H:%M") == "12:00" for d in _schedule(ada))


def test_starting_keeps_the_schedule_and_the_partner_sees_who_started(
        pair: tuple[Journal, Journal], clock: Clock) -> None:
    ada, ben = pair
    due = model.next_checkin(ada).due
    clock.tick(3 * 3600 + 51 * 60)  # started at 12:51, not at the cadence's 12:00
    session = model.start_checkin(ada)
    assert model.next_checkin(ada).due == due
    sync_in_process(ada, ben)
    status = model.checkin_status(ben)
    assert (status.phase, status.session, status.started_by_name) == ("started", session, "Ada")
    assert status.started_by_partner(ben.me)
    assert model.start_checkin(ben) == session  # joining is not a second check-in


def test_simultaneous_starts_are_one_checkin(pair: tuple[Journal, Journal]) -> None:
    ada, ben = pair
    a, b = model.start_checkin(ada), model.start_checkin(ben)
    sync_in_process(ada, ben)
    assert a == b
    assert model.checkin_status(ada).session == model.checkin_status(ben).session == a


def test_the_timer_is_shared(pair: tuple[Journal, Journal], clock: Clock) -> None:
    ada, ben = pair
    session = model.start_checkin(ada)
    model.timer_event(ada, session, "start")
    sync_in_process(ada, ben)
    assert model.timer_state(ben, session).running
    clock.tick(60)
    model.timer_event(ben, session, "hand_over")  # Ben takes the floor
    sync_in_process(ada, ben)
    state = model.timer_state(ada, session)
    assert state.speaker == ben.me and state.used_ms == {ada.me: 60_000}
    clock.tick(30)
    model.timer_event(ada, session, "pause")
    sync_in_process(ada, ben)
    assert model.timer_state(ben, session) == model.timer_state(ada, session)
    assert not model.timer_state(ben, session).running


def test_the_split_is_recorded_and_balanced_in_the_history(
        pair: tuple[Journal, Journal], clock: Clock) -> None:
    ada, ben = pair
    session = model.start_checkin(ada)
    model.timer_event(ada, session, "start")
    clock.tick(51)
    model.timer_event(ada, session, "hand_over")
    clock.tick(49)
    model.timer_event(ada, session, "pause")
    summary = model.end_checkin(ada, session)
    assert summary.split == {"Ada": 51, "Ben": 49}
    assert json.loads(ada.get("sessions", session)["split"]) == {ada.me: 51, ben.me: 49}
    balance = model.time_balance(ada)
    assert balance is not None
    assert balance.describe() == "last 1 check-in: you 51 %, your partner 49 %"


def test_ending_shows_the_same_summary_on_both(pair: tuple[Journal, Journal]) -> None:
    ada, ben = pair
    c1 = model.add_commitment(ada, "Send the pitch")
    c2 = model.add_commitment(ben, "Call the editor")
    sync_in_process(ada, ben)
    session = model.start_checkin(ada)
    sync_in_process(ada, ben)
    model.cover_item(ada, session, "commitments", c1, "carried", due="+3w")
    model.cover_item(ben, session, "commitments", c2, "dropped")
    model.add_checkin_item(ben, "commitment", {"text": "Draft the budget", "person": ben.me},
                           session=session)
    sync_in_process(ada, ben)
    ended = model.end_checkin(ben, session)
    sync_in_process(ada, ben)
    assert model.checkin_status(ada, session).phase == "ended"
    assert model.checkin_status(ada).phase == "planned"  # "in progress" clears
    mine = model.end_summary(ada, session)
    assert mine == model.end_summary(ben, session) == ended
    assert (mine.carried, mine.dropped, mine.ended_by) == (
        ["Send the pitch"], ["Call the editor"], "Ben")
    assert mine.new_commitments == {"Ben": ["Draft the budget"]}
    assert mine.next_at.astimezone().strftime("%H:%M") == "12:00"


def test_feedback_comes_back_until_answered(pair: tuple[Journal, Journal],
                                            clock: Clock) -> None:
    ada, ben = pair
    fb = model.add_feedback(ada, "Put the price on the page", kind="suggestion",
                            to_person=ben.me)
    sync_in_process(ada, ben)
    for _ in range(2):  # unanswered: it comes back, like a commitment
        clock.tick(3600)
        session = model.start_checkin(ben)
        items = [i for i in model.agenda(ben, session) if i.table == "feedback"]
        assert [(i.id, i.person) for i in items] == [(fb, "Ben")]
        clock.tick(3600)
        model.end_checkin(ben, session)
    clock.tick(3600)
    session = model.start_checkin(ben)
    model.cover_item(ben, session, "feedback", fb, "will_try", note="next week")
    sync_in_process(ada, ben)
    seen = ada.get("feedback", fb) or {}
    assert (seen["response"], seen["response_text"]) == ("will_try", "next week")
    assert model.covered_items(ada, session)[("feedback", fb)] == "will try it: next week"
    clock.tick(3600)
    model.end_checkin(ben, session)
    sync_in_process(ada, ben)
    clock.tick(3600)
    later = model.start_checkin(ada)
    assert later != session
    assert not [i for i in model.agenda(ada, later) if i.table == "feedback"]
    with pytest.raises(ValidationError):
        model.answer_feedback(ada, fb, "maybe")


def test_feedback_given_in_this_checkin_waits_for_the_next(pair: tuple[Journal, Journal],
                                                           clock: Clock) -> None:
    ada, ben = pair
    session = model.start_checkin(ada)
    clock.tick(60)
    model.add_checkin_item(ada, "feedback", {"text": "Say no more often"}, session=session)
    assert not [i for i in model.agenda(ada, session) if i.table == "feedback"]


def test_a_new_goal_is_new_not_behind(pair: tuple[Journal, Journal], clock: Clock) -> None:
    ada, _ = pair
    clock.tick(-60 * 86400)
    old = model.add_goal(ada, "Write the book")
    clock.tick(60 * 86400 - 60)
    new = model.add_goal(ada, "Learn to say no")
    clock.tick(60)
    needing = [g["id"] for g in model.goals_needing_update(ada)]
    assert needing == [old]
    lines = {i.id: i.detail for i in model.agenda(ada) if i.table == "goals"}
    assert lines[new] == "new near-term goal" and "no recent update" in lines[old]


def test_agenda_says_who_added_what_and_who_offered_a_challenge(
        pair: tuple[Journal, Journal], clock: Clock) -> None:
    ada, ben = pair
    session = model.start_checkin(ada)
    sync_in_process(ada, ben)
    clock.tick(60)
    ch = model.propose_challenge(ben, "Teach a workshop", to_person=ada.me)
    sync_in_process(ada, ben)
    item = next(i for i in model.agenda(ada, session) if i.id == ch)
    assert (item.new, item.added_by, item.detail) == (True, "Ben", "offered by Ben")


def test_everything_can_be_added_from_the_checkin(pair: tuple[Journal, Journal]) -> None:
    ada, ben = pair
    session = model.start_checkin(ada)
    goal = model.add_checkin_item(ada, "goal", {"text": "Ship v2"}, session=session)
    made = {
        "update": {"goal": goal, "text": "Half way", "progress": 50},
        "ask": {"text": "An intro to an editor", "outcome": "one warm introduction"},
        "commitment": {"text": "Send the draft"},
        "feedback": {"text": "Narrow the offer", "about": f"goals:{goal}", "to_person": ada.me},
        "challenge": {"text": "Give a talk", "to_person": ben.me},
        "win": {"text": "First paying client"},
        "story": {"text": "The researcher who ships"},
        "skill": {"text": "Pricing", "direction": "grow"},
        "note": {"text": "We agreed on Fridays"},
        "talking_point": {"text": "Studio or not"},
    }
    assert set(made) | {"goal"} == set(model.NEW_ITEM_KINDS)
    ids = {kind: model.add_checkin_item(ada, kind, fields, session=session)
           for kind, fields in made.items()}
    update = ada.get("updates", ids["update"]) or {}
    assert (update["goal"], update["session"], update["person"]) == (goal, session, ada.me)
    fb = ada.get("feedback", ids["feedback"]) or {}
    assert (fb["target_table"], fb["target_id"], fb["person"]) == ("goals", goal, ben.me)
    assert (ada.get("notes", ids["note"]) or {})["session"] == session
    assert (ada.get("talking_points", ids["talking_point"]) or {})["shared_at"]


def test_timer_needs_a_started_checkin(pair: tuple[Journal, Journal]) -> None:
    ada, _ = pair
    session = model.start_checkin(ada)
    model.end_checkin(ada, session)
    with pytest.raises(ValidationError):
        model.timer_event(ada, session, "start")


# ---------------------------------------------------------------------- property

press = st.tuples(st.integers(0, 1), st.sampled_from(["start", "pause", "hand_over"]),
                  st.integers(0, 1), st.integers(0, 5000))
presses = st.lists(st.one_of(press, st.just(("sync",))), min_size=1, max_size=25)


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(script=presses)
def test_timer_events_fold_to_one_state_on_both(tmp_path_factory: pytest.TempPathFactory,
                                                script: list[tuple]) -> None:  # type: ignore[type-arg]
    """Random interleavings of presses on two devices (the same moment included), synced
    at random points: once both hold every event, both fold the same state."""
    clocks = [Clock(), Clock()]
    tmp = tmp_path_factory.mktemp("timer")
    ada, ben = paired(tmp, now=clocks)
    try:
        ada.put("people", ben.me, name="Ben")
        sync_in_process(ada, ben)
        session = model.start_checkin(ada)
        sync_in_process(ada, ben)
        js, people = (ada, ben), (ada.me, ben.me)
        for step in script:
            if step == ("sync",):
                sync_in_process(ada, ben)
                continue
            who, kind, to, ms = step
            clocks[who].tick(ms / 1000)
            model.timer_event(js[who], session, kind,
                              speaker=people[to] if kind == "hand_over" else None)
        sync_in_process(ada, ben)
        a, b = model.timer_state(ada, session), model.timer_state(ben, session)
        assert a == b
        assert all(v >= 0 for v in a.used_ms.values())
    finally:
        ada.close()
        ben.close()


@given(st.lists(st.tuples(st.integers(1, 10**6), st.sampled_from(["start", "pause", "hand_over"]),
                          st.sampled_from(["p1", "p2"])), max_size=30), st.randoms())
def test_the_fold_ignores_arrival_order(raw: list[tuple[int, str, str]], rnd) -> None:  # type: ignore[no-untyped-def]
    events = [TimerEvent(ms << 16, f"e{n}", kind, who) for n, (ms, kind, who) in enumerate(raw)]
    shuffled = list(events)
    rnd.shuffle(shuffled)
    assert fold_timer(events, "p1") == fold_timer(shuffled, "p1")
