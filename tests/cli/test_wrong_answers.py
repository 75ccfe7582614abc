"""Issue 8, points 7 and 8, as real processes: every smaller wrong answer answered right.

A partner's text never drives the terminal and keeps `list` at one line per item; bytes
that are not UTF-8 get one line, not a Python error; a folder is not "a journal"; an
ambiguous id says so; empty or impossible values are refused; "+1y" is a date; counts
agree with their nouns.
"""

from __future__ import annotations

import datetime as dt
import json
import unicodedata
from pathlib import Path

import pytest

from comentor.model import Journal, add_goal, write_story
from comentor.model.testing import pair_in_process, sync_in_process

from .helpers import refused, run, snapshot


@pytest.fixture
def jpath(tmp_path: Path) -> Path:
    path = tmp_path / "j.db"
    run(path, "init", "--name", "Ada")
    return path


HOSTILE = "Ship\x1b[2J\x1b]0;owned\x07 it\nsecond line\r\n\x9b31mthird\x00"


def controls(text: str) -> list[str]:
    """Every control character in `text` except the line breaks between printed lines."""
    return [c for c in text if unicodedata.category(c) == "Cc" and c != "\n"]


# ---------------------------------------------------------------- inert text (point 7)
def test_a_partners_text_never_drives_the_terminal(tmp_path: Path) -> None:
    ada_path, ben_path = tmp_path / "ada.db", tmp_path / "ben.db"
    ada = Journal.create(ada_path, "Ada")
    ben = Journal.create(ben_path, "Ben\x1b[31m\nEvil", joining=True)
    pair_in_process(ada, ben)
    add_goal(ada, "Plain goal")
    add_goal(ben, HOSTILE)
    write_story(ben, "A story\x1b[5m\nin two lines")
    sync_in_process(ada, ben)
    ada.close()
    ben.close()

    listed = run(ada_path, "list", "goal").stdout
    assert controls(listed) == []
    lines = listed.splitlines()
    assert len(lines) == 2, listed  # one line per item, whatever the text holds
    assert any("Ship\\x1b[2J" in line and "⏎ second line" in line for line in lines)
    for args in (("list", "story"), ("search", "ship"), ("search", "story"), ("status",),
                 ("list", "goal", "--json"), ("export", "md")):
        printed = run(ada_path, *args).stdout
        assert controls(printed) == [], args
    assert len(run(ada_path, "list", "story").stdout.splitlines()) == 1
    goals = json.loads(run(ada_path, "list", "goal", "--json").stdout)
    assert HOSTILE in {g["text"] for g in goals}  # the JSON still holds the exact text


# ---------------------------------------------------------------- smaller wrong answers
def test_an_argument_that_is_not_utf8_gets_one_line(jpath: Path, tmp_path: Path) -> None:
    before = snapshot(jpath)
    refused(run(jpath, "add", "goal", "caf\udcc3\udca9 \udcff", ok=False), "not valid UTF-8")
    refused(run(jpath, "search", "\udcff", ok=False), "not valid UTF-8")
    refused(run(tmp_path / "new.db", "init", "--name", "\udcff", ok=False), "not valid UTF-8")
    assert snapshot(jpath) == before and not (tmp_path / "new.db").exists()
    odd = tmp_path / "j\udcff.db"  # a file name may hold any bytes: that is fine
    run(odd, "init", "--name", "Ada")
    run(odd, "add", "goal", "Ship")


def test_init_on_a_folder_says_it_is_a_folder(tmp_path: Path) -> None:
    folder = tmp_path / "journals"
    folder.mkdir()
    proc = run(folder, "init", "--name", "Ada", ok=False)
    refused(proc, "is a folder")
    assert "already exists" not in proc.stderr and list(folder.iterdir()) == []


def test_an_ambiguous_id_is_never_settled_by_guessing(jpath: Path) -> None:
    j = Journal.open(jpath)
    j.put("goals", "zzqa0000000000g1", person=j.me, text="Goal", status="open")
    j.put("wins", "zzqa0000000000w1", person=j.me, text="Win A", date="2026-01-01")
    j.put("wins", "zzqb0000000000w1", person=j.me, text="Win B", date="2026-01-02")
    j.put("wins", "zzqb0000000000w2", person=j.me, text="Win C", date="2026-01-03")
    j.close()
    before = snapshot(jpath)
    refused(run(jpath, "done", "zzqa", ok=False), "ambiguous")  # a goal and a win
    refused(run(jpath, "drop", "zzqb", ok=False), "give more characters")  # two wins
    refused(run(jpath, "delete", "zzqb", ok=False), "ambiguous")
    refused(run(jpath, "done", "zzqb0000000000w1", ok=False), "a win is not closed")
    assert snapshot(jpath) == before
    assert "met" in run(jpath, "done", "zzqa0000000000g").stdout


def test_feedback_on_nothing_is_refused(jpath: Path) -> None:
    before = snapshot(jpath)
    refused(run(jpath, "add", "feedback", "Pick one", "--on", "", ok=False), "--on is empty")
    refused(run(jpath, "add", "feedback", "Pick one", "--on", " ", ok=False), "--on is empty")
    assert snapshot(jpath) == before


def test_an_option_of_another_kind_is_refused_never_dropped(jpath: Path) -> None:
    """`add win --private` used to add a win shared with the partner: an option the kind
    does not take is refused, and nothing is written."""
    before = snapshot(jpath)
    refused(run(jpath, "add", "win", "Shipped", "--private", ok=False),
            "--private does not apply to a win: it is for a note")
    refused(run(jpath, "add", "goal", "Ship", "--due", "+1w", ok=False),
            "--due does not apply to a goal: it is for a commitment or a challenge")
    refused(run(jpath, "add", "story", "Mine", "--progress", "0", ok=False),
            "--progress does not apply to a story")
    refused(run(jpath, "add", "win", "Shipped", "--horizon", "near", ok=False),
            "--horizon does not apply to a win")
    assert snapshot(jpath) == before
    run(jpath, "add", "note", "Mine alone", "--private")
    run(jpath, "add", "goal", "Ship", "--horizon", "long", "--target", "+1y")
    run(jpath, "add", "feedback", "Push", "--kind", "push")
    assert [n["text"] for n in json.loads(run(jpath, "list", "private", "--json").stdout)] == [
        "Mine alone"]
    assert json.loads(run(jpath, "list", "goal", "--json").stdout)[0]["horizon"] == "long"


def test_a_deleted_item_is_not_changed(jpath: Path) -> None:
    """Editing an item in the bin is refused, as closing it is: undo the deletion first."""
    goal = run(jpath, "add", "goal", "Ship").stdout.strip()
    note = run(jpath, "add", "note", "Mine", "--private").stdout.strip()
    for item in (goal, note):
        run(jpath, "delete", item)
    before = snapshot(jpath)
    for item in (goal, note):
        refused(run(jpath, "edit", item, "Changed", ok=False), "is deleted: bring it back first")
    assert snapshot(jpath) == before
    run(jpath, "undo-delete", goal)
    assert "changed" in run(jpath, "edit", goal, "Changed").stdout


def test_a_draft_talking_point_is_edited_like_a_shared_one(jpath: Path) -> None:
    """A draft has text; `edit` used to say it had no field 'text'."""
    draft = run(jpath, "add", "point", "Ask about the offsite").stdout.strip()
    assert run(jpath, "edit", draft, "Ask about the spring offsite").stdout.startswith("draft ")
    drafts = json.loads(run(jpath, "list", "draft", "--json").stdout)
    assert [d["text"] for d in drafts] == ["Ask about the spring offsite"]
    refused(run(jpath, "edit", draft, " ", ok=False), "nothing to change")
    run(jpath, "delete", draft)  # discarded
    refused(run(jpath, "edit", draft, "Again", ok=False), "was shared or discarded")


def test_an_id_of_another_kind_is_named_as_such(jpath: Path) -> None:
    """`add update --goal <a win's id>` said "no item with id": the item is there, of
    another kind, and the message says so; an id that is nowhere still says that."""
    win = run(jpath, "add", "win", "Signed").stdout.strip()[-8:]
    before = snapshot(jpath)
    refused(run(jpath, "add", "update", "Moved", "--goal", win, ok=False),
            f"{win} is a win, not a goal")
    refused(run(jpath, "add", "feedback", "Try it", "--on", win, ok=False),
            f"{win} is a win, not a goal, an ask or a story")
    refused(run(jpath, "add", "update", "Moved", "--goal", "zzzz9999", ok=False),
            "no item with id zzzz9999")
    assert snapshot(jpath) == before


def test_a_win_cannot_be_dated_tomorrow(jpath: Path) -> None:
    before = snapshot(jpath)
    refused(run(jpath, "add", "win", "Signed", "--date", "tomorrow", ok=False),
            "cannot be after today")
    assert snapshot(jpath) == before
    win = run(jpath, "add", "win", "Signed", "--date", "today").stdout.strip()
    refused(run(jpath, "edit", win, "--date", "+1w", ok=False), "cannot be after today")
    run(jpath, "edit", win, "--date", "2026-01-05")
    assert json.loads(run(jpath, "list", "win", "--json").stdout)[0]["date"] == "2026-01-05"


def test_years_are_a_date_like_months(jpath: Path) -> None:
    today = dt.datetime.now(dt.UTC).date()
    run(jpath, "add", "commitment", "Renew", "--due", "+1y")
    due = json.loads(run(jpath, "list", "commitment", "--json").stdout)[0]["due"]
    day = 28 if (today.month, today.day) == (2, 29) else today.day
    assert due == dt.date(today.year + 1, today.month, day).isoformat()
    goal = run(jpath, "add", "goal", "Ship").stdout.strip()
    proc = run(jpath, "edit", goal, "--due", "+3m", ok=False)
    refused(proc, "use its target date (--target)")
    run(jpath, "edit", goal, "--target", "+2y")
    assert json.loads(run(jpath, "list", "goal", "--json").stdout)[0]["target"].startswith(
        str(today.year + 2))


def test_counts_agree_with_their_nouns(jpath: Path) -> None:
    run(jpath, "add", "commitment", "Call the bank")
    run(jpath, "add", "ask", "Intro", "--outcome", "one warm introduction")
    run(jpath, "add", "goal", "Ship")
    line = next(x for x in run(jpath, "status").stdout.splitlines() if x.startswith("Ada:"))
    assert line == "Ada: 1 open commitment, 1 open ask, 1 goal, 0 challenges"
    run(jpath, "add", "ask", "Another", "--outcome", "a second introduction")
    assert "2 open asks" in run(jpath, "status").stdout
