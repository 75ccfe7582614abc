"""The calendar, right (issue 10): two partners whose machines run in Europe/Berlin and
America/New_York export the same series, read back by an independent parser
(recurring-ical-events): the same instants across daylight-saving changes, one UID, a
SEQUENCE that grows when the series moves, a reminder, a VTIMEZONE, the agenda, to-dos,
and no property injected by user text."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import recurring_ical_events
from icalendar import Calendar

from comentor import model
from comentor.model import Journal
from comentor.model.errors import ValidationError
from comentor.model.testing import FixedClock, paired_journals, sync_in_process


def run(journal: Path, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """`comentor --journal JOURNAL ARGS` as a real process with its own environment."""
    proc = subprocess.run([sys.executable, "-m", "comentor.tui.cli", "--journal", str(journal),
                           *args], capture_output=True, text=True, timeout=60,
                          env=dict(os.environ, **env))
    assert proc.returncode == 0, proc.stderr
    return proc

BERLIN, NEW_YORK = ZoneInfo("Europe/Berlin"), ZoneInfo("America/New_York")
# 2026-03-02 09:00 UTC: before New York (8 March) and Berlin (29 March) move to summer time
START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


@contextmanager
def machine_zone(name: str) -> Iterator[None]:
    """Run as a machine whose local zone is `name` (TZ and the C library's idea of it)."""
    before = os.environ.get("TZ")
    os.environ["TZ"] = name
    time.tzset()
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = before
        time.tzset()


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[tuple[Journal, Journal, FixedClock]]:
    clock = FixedClock(START)
    with machine_zone("Europe/Berlin"):  # Ada invites from Berlin
        ada, ben = paired_journals(tmp_path, now=clock)
    yield ada, ben, clock  # type: ignore[misc]
    ada.close()  # type: ignore[attr-defined]
    ben.close()  # type: ignore[attr-defined]


def export(j: Journal, zone: str, **kw: bool) -> Calendar:
    with machine_zone(zone):
        return Calendar.from_ical(model.export_ics(j, **kw))


def the_event(cal: Calendar) -> object:
    events = list(cal.walk("VEVENT"))
    assert len(events) == 1
    return events[0]


def occurrences(cal: Calendar, count: int = 10) -> list[dt.datetime]:
    """The next `count` starts as instants (UTC), as an independent parser expands them."""
    found = recurring_ical_events.of(cal).between(START - dt.timedelta(days=1),
                                                  START + dt.timedelta(days=800))
    starts = []
    for event in found:
        start = event["DTSTART"].dt
        assert start.tzinfo is not None  # never floating time: one instant for everyone
        starts.append(start.astimezone(dt.UTC))
    starts.sort()
    assert len(starts) >= count
    return starts[:count]


def test_both_partners_export_the_same_instants_across_summer_time(pair) -> None:  # type: ignore[no-untyped-def]
    ada, ben, _ = pair
    with machine_zone("America/New_York"):  # the zone stays Ada's, whoever edits
        cad = model.set_cadence(ben, every="3w", at="12:00")
    assert cad.zone == "Europe/Berlin"
    sync_in_process(ada, ben)
    cal_ada = export(ada, "Europe/Berlin")
    cal_ben = export(ben, "America/New_York")
    mine, theirs = occurrences(cal_ada), occurrences(cal_ben)
    assert mine == theirs
    # 12:00 in Berlin on every date, winter and summer alike (11:00 UTC, then 10:00 UTC)
    assert [d.astimezone(BERLIN).strftime("%H:%M") for d in mine] == ["12:00"] * 10
    assert mine[0] == dt.datetime(2026, 3, 2, 11, 0, tzinfo=dt.UTC)
    assert mine[2] == dt.datetime(2026, 4, 13, 10, 0, tzinfo=dt.UTC)
    assert {d.astimezone(BERLIN).utcoffset() for d in mine} == {dt.timedelta(hours=1),
                                                               dt.timedelta(hours=2)}
    # what the schedule says agrees with what the calendars show, on either machine
    with machine_zone("America/New_York"):
        assert [d.astimezone(dt.UTC) for d in model.upcoming_checkins(ben, 10)] == mine
        assert model.next_checkin(ben).due.tzinfo == BERLIN
    with machine_zone("Europe/Berlin"):
        assert [d.astimezone(dt.UTC) for d in model.upcoming_checkins(ada, 10)] == mine
    ev_ada, ev_ben = the_event(cal_ada), the_event(cal_ben)
    assert str(ev_ada["UID"]) == str(ev_ben["UID"])  # one event in a shared calendar
    assert ev_ada["DTSTART"].params["TZID"] == "Europe/Berlin"
    zones = [str(z["TZID"]) for z in cal_ben.walk("VTIMEZONE")]
    assert zones == ["Europe/Berlin"]
    assert str(ev_ada["SUMMARY"]) == str(ev_ben["SUMMARY"])


def test_the_series_version_grows_when_it_moves_and_agrees_on_both(pair) -> None:  # type: ignore[no-untyped-def]
    ada, ben, clock = pair
    before = int(the_event(export(ada, "Europe/Berlin"))["SEQUENCE"])
    # saving the cadence as it already is (the schedule screen's Save) moves nothing
    model.set_cadence(ada, every="3w", at="12:00", minutes=30, zone="Europe/Berlin")
    sync_in_process(ada, ben)
    first = the_event(export(ben, "America/New_York"))
    assert int(first["SEQUENCE"]) == before
    clock.advance(hours=1)
    model.set_cadence(ben, at="13:00")  # the partner moves it
    sync_in_process(ada, ben)
    moved = the_event(export(ada, "Europe/Berlin"))
    assert int(moved["SEQUENCE"]) > int(first["SEQUENCE"])
    assert moved["LAST-MODIFIED"].dt == START + dt.timedelta(hours=1)
    assert moved["DTSTART"].dt.strftime("%H:%M") == "13:00"
    # a check-in held plans the next one: the series moves again
    clock.advance(hours=3)
    session = model.start_checkin(ada)
    clock.advance(minutes=30)
    model.end_checkin(ada, session)
    sync_in_process(ada, ben)
    held = the_event(export(ada, "Europe/Berlin"))
    again = the_event(export(ben, "America/New_York"))
    assert int(held["SEQUENCE"]) > int(moved["SEQUENCE"])
    assert int(again["SEQUENCE"]) == int(held["SEQUENCE"])
    assert again["LAST-MODIFIED"].dt == held["LAST-MODIFIED"].dt
    assert held["DTSTART"].dt.date() == dt.date(2026, 3, 23)
    # exporting again changes nothing: the version only moves with the series
    assert int(the_event(export(ada, "Europe/Berlin"))["SEQUENCE"]) == int(held["SEQUENCE"])


def test_a_reminder_and_the_agenda_ride_along(pair) -> None:  # type: ignore[no-untyped-def]
    ada, ben, _ = pair
    model.set_cadence(ada, zone="Europe/Berlin")
    model.add_commitment(ada, "Send the pitch deck")
    event = the_event(export(ada, "Europe/Berlin"))
    alarms = event.walk("VALARM")  # type: ignore[attr-defined]
    assert len(alarms) == 1 and alarms[0]["TRIGGER"].dt == dt.timedelta(minutes=-10)
    assert str(alarms[0]["ACTION"]) == "DISPLAY"
    assert "Send the pitch deck" in str(event["DESCRIPTION"])
    model.set_cadence(ada, alarm=45)
    event = the_event(export(ada, "Europe/Berlin"))
    assert event.walk("VALARM")[0]["TRIGGER"].dt == dt.timedelta(minutes=-45)  # type: ignore[attr-defined]
    assert "Send the pitch deck" not in str(
        the_event(Calendar.from_ical(model.export_ics(ada, with_agenda=False)))["DESCRIPTION"])


def test_todos_carry_due_commitments_and_challenges_and_no_text_escapes(pair) -> None:  # type: ignore[no-untyped-def]
    ada, ben, _ = pair
    hostile = "Call the bank; then\nEND:VEVENT\nBEGIN:VEVENT\nSUMMARY:pwned"
    model.add_commitment(ada, hostile, due="2026-03-20", follow_up="Did it work?\nX-EVIL:1;a,b")
    model.add_commitment(ada, "No date, no to-do")
    done = model.add_commitment(ada, "Write the brief", due="2026-03-10")
    model.close_commitment(ada, done, "done")
    model.propose_challenge(ada, "Teach a workshop", due="2026-05-01")
    sync_in_process(ada, ben)
    assert list(export(ada, "Europe/Berlin").walk("VTODO")) == []  # only when asked
    raw = model.export_ics(ben, todos=True)
    cal = Calendar.from_ical(raw)
    assert len(list(cal.walk("VEVENT"))) == 1
    assert b"\nSUMMARY:pwned" not in raw.replace(b"\r\n", b"\n")
    assert b"\nX-EVIL" not in raw.replace(b"\r\n", b"\n")
    todos = {str(t["SUMMARY"]): t for t in cal.walk("VTODO")}
    assert set(todos) == {
        "Commitment (Ada): Call the bank; then END:VEVENT BEGIN:VEVENT SUMMARY:pwned",
        "Commitment (Ada): Write the brief", "Challenge (Ben): Teach a workshop"}
    bank = todos["Commitment (Ada): Call the bank; then END:VEVENT BEGIN:VEVENT SUMMARY:pwned"]
    assert str(bank["DESCRIPTION"]) == "Follow-up: Did it work?\nX-EVIL:1;a,b"  # exact, escaped
    assert bank["DUE"].dt == dt.date(2026, 3, 20)
    assert str(todos["Commitment (Ada): Write the brief"]["STATUS"]) == "COMPLETED"
    # the same to-do on both partners' exports
    mine = {str(t["UID"]) for t in Calendar.from_ical(model.export_ics(ada, todos=True)).walk("VTODO")}
    assert mine == {str(t["UID"]) for t in cal.walk("VTODO")}


def test_control_characters_typed_never_reach_the_file(pair) -> None:  # type: ignore[no-untyped-def]
    """RFC 5545 TEXT holds no control character but a tab: one in a partner's text would make
    a calendar refuse the whole file. Each becomes U+FFFD; tabs and line breaks are kept
    (a line break written escaped), a CR LF typed reads as one line break."""
    ada, ben, _ = pair
    model.add_commitment(ada, "Bell\x07 and\x1b[31m red\x7f", due="2026-03-20",
                         follow_up="one\r\ntwo\tcols\x00")
    model.add_commitment(ada, "Clean one", due="2026-03-21")
    sync_in_process(ada, ben)
    raw = model.export_ics(ben, todos=True)
    body = raw.replace(b"\r\n", b"")  # the file's own line ends (and folds) aside
    assert [b for b in body if b < 0x20 and b != 0x09 or b == 0x7F] == []
    todos = {str(t["SUMMARY"]): t for t in Calendar.from_ical(raw).walk("VTODO")}
    bell = todos["Commitment (Ada): Bell\ufffd and\ufffd[31m red\ufffd"]
    assert str(bell["DESCRIPTION"]) == "Follow-up: one\ntwo\tcols\ufffd"
    assert "Commitment (Ada): Clean one" in todos


def test_a_bad_zone_or_alarm_is_one_clear_line_and_changes_nothing(journal: Journal) -> None:
    model.set_cadence(journal, every="2w", zone="America/New_York")
    before = journal.conn.execute("SELECT count(*) FROM ops").fetchone()
    # "localtime" is a file in many zoneinfo folders, but names whatever zone the machine
    # reading it runs in: two partners would read one cadence in two zones
    for bad in ({"zone": "Mars/Olympus"}, {"zone": "../etc/passwd"}, {"zone": ""},
                {"zone": "Europe"}, {"zone": "localtime"}, {"zone": "Factory"},
                {"alarm": -1}, {"alarm": 100_000}):
        with pytest.raises(ValidationError) as err:
            model.set_cadence(journal, **bad)  # type: ignore[arg-type]
        assert "\n" not in str(err.value)
    assert journal.conn.execute("SELECT count(*) FROM ops").fetchone() == before
    assert model.cadence(journal).zone == "America/New_York"


def test_the_system_zone_is_found_by_its_iana_name() -> None:
    for tz, want in (("Europe/Berlin", "Europe/Berlin"), (":America/New_York", "America/New_York"),
                     ("/usr/share/zoneinfo/Asia/Tokyo", "Asia/Tokyo")):
        with machine_zone(tz):
            assert model.system_zone() == want
    with machine_zone("CET-1CEST,M3.5.0,M10.5.0/3"):  # a POSIX rule has no name
        assert model.system_zone()  # the machine's file, or UTC: never the rule itself
        assert "," not in model.system_zone()


def test_the_first_cadence_has_the_zone_of_whoever_made_the_partnership(tmp_path: Path) -> None:
    clock = FixedClock(START)
    with machine_zone("America/New_York"):  # Ben invites: the default cadence is his
        ben, ada = paired_journals(tmp_path, ("Ben", "Ada"), now=clock)
    with machine_zone("Europe/Berlin"):
        assert model.cadence(ada).zone == "America/New_York"
        due = model.next_checkin(ada).due
        assert due.tzinfo == NEW_YORK and due.strftime("%H:%M") == "12:00"
        # the other side reads its own time beside the cadence's
        assert "America/New_York, 18:00 here" in model.next_checkin(ada).describe(ada.today())
        # changing the time keeps the zone shown beside it; naming one changes it
        assert model.set_cadence(ada, at="11:00").zone == "America/New_York"
        assert model.set_cadence(ada, zone="Europe/Berlin").zone == "Europe/Berlin"
    sync_in_process(ada, ben)
    with machine_zone("America/New_York"):
        assert model.cadence(ben).describe() == "every 3 weeks at 11:00 Europe/Berlin, 30 minutes"
    ada.close()
    ben.close()


def test_whole_processes_in_two_zones_agree(tmp_path: Path) -> None:
    """The honest variant: each partner's export and schedule run as a real process with its
    machine's TZ, on journals set up across the March changes."""
    clock = FixedClock(START)
    with machine_zone("Europe/Berlin"):
        ada, ben = paired_journals(tmp_path, now=clock)
        model.set_cadence(ada, every="3w", at="12:00", start=dt.date(2026, 3, 2))
    sync_in_process(ada, ben)
    ada.close()
    ben.close()
    cals = {}
    for name, zone in (("ada", "Europe/Berlin"), ("ben", "America/New_York")):
        out = tmp_path / f"{name}.ics"
        run(tmp_path / f"{name}.db", "export", "ics", "-o", str(out), env={"TZ": zone})
        cals[name] = Calendar.from_ical(out.read_bytes())
    assert occurrences(cals["ada"]) == occurrences(cals["ben"])
    assert str(the_event(cals["ada"])["UID"]) == str(the_event(cals["ben"])["UID"])
    shown = json.loads(run(tmp_path / "ben.db", "schedule", "show", "--json",
                           env={"TZ": "America/New_York"}).stdout)
    assert shown["zone"] == "Europe/Berlin"
    # after Berlin's change the offset changes, the wall-clock time does not
    assert shown["upcoming"][:3] == ["2026-03-02T12:00+01:00", "2026-03-23T12:00+01:00",
                                     "2026-04-13T12:00+02:00"]
    instants = [dt.datetime.fromisoformat(d).astimezone(dt.UTC) for d in shown["upcoming"]]
    assert instants == occurrences(cals["ben"], len(instants))


def test_dates_typed_for_the_next_checkin_are_in_the_cadence_zone(journal: Journal) -> None:
    model.set_cadence(journal, at="12:00", zone="Europe/Berlin")
    assert model.parse_when(journal, "2026-04-13") == dt.datetime(2026, 4, 13, 12, 0,
                                                                   tzinfo=BERLIN)
    assert model.parse_when(journal, "2026-04-13").utcoffset() == dt.timedelta(hours=2)
    typed = model.parse_when(journal, "2026-04-13 09:30 America/New_York")
    assert typed.astimezone(dt.UTC) == dt.datetime(2026, 4, 13, 13, 30, tzinfo=dt.UTC)
    # a time skipped when the clocks go forward is read as RFC 5545 reads it
    assert model.parse_when(journal, "2026-03-29 02:30").strftime("%H:%M %Z") == "03:30 CEST"
    proposed = model.propose_next_checkin(journal, dt.date(2026, 3, 20))
    assert (proposed.date(), proposed.strftime("%H:%M"), proposed.utcoffset()) == (
        dt.date(2026, 4, 10), "12:00", dt.timedelta(hours=2))
    for bad in ("2026-04-13 09:30 Atlantis/Nowhere", "2026-04-13 Atlantis", "a b c d"):
        with pytest.raises(ValidationError):
            model.parse_when(journal, bad)


def test_a_zone_typed_in_any_case_is_kept_as_the_database_spells_it(journal: Journal) -> None:
    assert model.set_cadence(journal, zone="europe/berlin").zone == "Europe/Berlin"
    sequence = model.cadence(journal).sequence
    assert model.set_cadence(journal, zone="EUROPE/BERLIN").sequence == sequence  # no move


def test_a_cadence_kept_without_a_zone_says_so_until_it_is_saved(tmp_path: Path) -> None:
    """A journal from before zones were kept: each machine reads the cadence in its own zone,
    so the schedule says so and what to do, and the next save keeps one for both."""
    with machine_zone("Europe/Berlin"):
        j = Journal.create(tmp_path / "old.db", "Ada", now=FixedClock(START), joining=True)
        j.put("schedule", "cadence", every_days=21, at="12:00", minutes=30)  # as 0.1 stored it
        cad = model.cadence(j)
        assert (cad.zone, cad.zone_stored) == ("Europe/Berlin", False)
        assert "No time zone is kept" in cad.zone_note() and "--zone" in cad.zone_note()
        saved = model.set_cadence(j, every="3w")  # the interval as it was: the zone is new
        assert (saved.zone, saved.zone_stored, saved.zone_note()) == ("Europe/Berlin", True, "")
        assert saved.sequence == 1
    j.close()


def test_a_stored_time_that_is_not_hh_mm_reads_as_noon_and_opens_everything(
    tmp_path: Path,
) -> None:
    """A synced time of day is only checked as text: a hand-made one (escape sequences,
    "25:99"), or "12:٣٠" from a release whose check took any script's digits, must not
    stop the dashboard and the next check-in from being read."""
    j = Journal.create(tmp_path / "j.db", "Ada", now=FixedClock(START))
    for bad in ("12:00\x1b[5m", "25:99", "noon", "12:\u0663\u0660"):
        j.put("schedule", "cadence", every_days=21, at=bad, minutes=30, zone="UTC")
        assert model.cadence(j).at == "12:00"
        assert model.next_checkin(j).due.strftime("%H:%M") == "12:00"
        model.dashboard(j)
    j.put("schedule", "cadence", every_days=21, at="09:30", minutes=30, zone="UTC")
    assert model.cadence(j).at == "09:30"
    j.close()


def test_a_partners_odd_time_of_day_does_not_stop_their_later_changes(tmp_path: Path) -> None:
    """Through a real folder sync (every operation decoded and checked as it arrives): the
    odd time is taken in as text, what the partner wrote after it arrives too, and both
    journals open their dashboards."""
    from comentor.sync.mailbox.folder import FolderSync

    ada, ben = paired_journals(tmp_path, sync=False)
    shared = tmp_path / "shared"
    shared.mkdir()
    for j in (ada, ben, ada, ben):
        FolderSync(j.path, shared, heartbeat=0).sync_once()
    ada.put("schedule", "cadence", every_days=21, at="12:\u0663\u0660", minutes=30, zone="UTC")
    model.add_goal(ada, "after the odd time")
    FolderSync(ada.path, shared, heartbeat=0).sync_once()
    got = FolderSync(ben.path, shared, heartbeat=0).sync_once()
    assert not got.rejected, got.rejected
    assert "after the odd time" in {g["text"] for g in ben.rows("goals")}
    for j in (ada, ben):
        assert model.cadence(j).at == "12:00"
        model.dashboard(j)
