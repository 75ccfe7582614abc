"""Options that did something else than a user meant: a date that could not be cleared, an
option taken and ignored, `-o -` writing a file named "-", a text of invisible characters
kept as if written, a short concrete outcome called vague.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from comentor import model
from comentor.model._entities import required_text
from comentor.model.errors import ValidationError

from .helpers import refused, run, snapshot


@pytest.fixture
def jpath(tmp_path: Path) -> Path:
    path = tmp_path / "j.db"
    run(path, "init", "--name", "Ada")
    return path


def _item(jpath: Path, kind: str, text: str) -> dict[str, object]:
    items = json.loads(run(jpath, "list", kind, "--all", "--json").stdout)
    return next(i for i in items if i["text"] == text)


def test_an_empty_due_or_target_clears_it(jpath: Path) -> None:
    run(jpath, "add", "commitment", "Send the draft", "--due", "2030-01-02")
    run(jpath, "add", "goal", "Ship it", "--target", "2030-06-01")
    commitment, goal = _item(jpath, "commitment", "Send the draft"), _item(jpath, "goal", "Ship it")
    assert commitment["due"] == "2030-01-02" and goal["target"] == "2030-06-01"
    run(jpath, "edit", str(commitment["id"]), "--due", "")
    run(jpath, "edit", str(goal["id"]), "--target", "")
    assert _item(jpath, "commitment", "Send the draft")["due"] is None
    assert _item(jpath, "goal", "Ship it")["target"] is None


def test_an_empty_win_date_is_refused_and_keeps_it(jpath: Path) -> None:
    run(jpath, "add", "win", "Gave the talk", "--date", "2026-01-05")
    win = _item(jpath, "win", "Gave the talk")
    before = snapshot(jpath)
    refused(run(jpath, "edit", str(win["id"]), "--date", "", ok=False), "a win keeps its date")
    assert snapshot(jpath) == before


def test_export_to_dash_writes_stdout_not_a_file(jpath: Path, tmp_path: Path) -> None:
    run(jpath, "add", "goal", "Ship it")
    plain = json.loads(run(jpath, "export", "json", cwd=tmp_path).stdout)
    dashed = json.loads(run(jpath, "export", "json", "-o", "-", cwd=tmp_path).stdout)
    for export in (plain, dashed):  # the second each was made in may differ
        del export["exported_at"]
    assert dashed == plain and dashed["goals"]
    review = run(jpath, "review", "-o", "-", cwd=tmp_path).stdout
    assert review == run(jpath, "review", cwd=tmp_path).stdout and "Ship it" in review
    assert not (tmp_path / "-").exists() and not (tmp_path / "-.md").exists()


def test_private_is_refused_for_the_calendar(jpath: Path, tmp_path: Path) -> None:
    out = tmp_path / "c.ics"
    refused(run(jpath, "export", "ics", "--private", "-o", str(out), ok=False),
            "--private is for export md and export json")
    assert not out.exists()
    assert run(jpath, "export", "ics", "-o", str(out)).returncode == 0 and out.exists()


@pytest.mark.parametrize("text", ["\u200b", " \u200b\u200d ", "\ufeff", "\u2066\u2069",
                                  "\u200b\n\u200b", "\u3164", "\u2800", "\ufe0f"])
def test_a_text_of_invisible_characters_is_empty(jpath: Path, text: str) -> None:
    before = snapshot(jpath)
    refused(run(jpath, "add", "goal", text, ok=False), "the goal is empty")
    refused(run(jpath, "add", "note", text, ok=False), "empty")
    assert snapshot(jpath) == before
    assert model.is_blank(text)


def test_visible_text_is_not_blank() -> None:
    for text in ("a", "\u200bHi", "x\u200d", "家", "🙂", "line\nline"):
        assert not model.is_blank(text), text
    with pytest.raises(ValidationError):
        required_text("\u200b \u2060", "goal")
    assert required_text("  Ship\u200b ", "goal") == "Ship\u200b"


@pytest.mark.parametrize("outcome", ["a call", "an intro to Sam", "一次介绍", "a 30 min call",
                                     "review of my PR", "a CV", "my PR"])
def test_a_short_concrete_outcome_is_not_vague(outcome: str) -> None:
    assert not model.is_vague("Can we talk?", outcome)


@pytest.mark.parametrize("outcome", [None, "", "help", "some advice?", "any thoughts",
                                     "ok", "Help.", "\u200b", "ideas, stuff, etc"])
def test_an_outcome_of_filler_is_vague(outcome: str | None) -> None:
    assert model.is_vague("Can we talk?", outcome)


def test_an_invisible_outcome_is_stored_as_none(jpath: Path) -> None:
    run(jpath, "add", "ask", "Who should I call?", "--outcome", "\u200b")
    ask = _item(jpath, "ask", "Who should I call?")
    assert ask["outcome"] is None and ask["vague"] is True
