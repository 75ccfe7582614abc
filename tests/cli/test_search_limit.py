"""`comentor search` shows one page of results (--limit, default 50) and says how many
there are in all."""

from __future__ import annotations

import json
from pathlib import Path

from comentor.model._journal import Journal

from .helpers import refused, run


def _journal(path: Path, wins: int) -> Path:
    j = Journal.create(path, "Ada")
    j.write([("wins", f"w{i:05d}", {"text": f"lantern win {i}"}) for i in range(wins)])
    j.close()
    return path


def test_search_shows_a_page_and_says_how_many_there_are(tmp_path: Path) -> None:
    path = _journal(tmp_path / "j.db", 60)
    lines = run(path, "search", "lantern").stdout.splitlines()
    assert len(lines) == 51
    assert lines[-1] == "showing 50 of 60 — use --limit N to see more"
    assert len(json.loads(run(path, "search", "lantern", "--json").stdout)) == 50
    lines = run(path, "search", "lantern", "--limit", "7").stdout.splitlines()
    assert len(lines) == 8 and lines[-1].startswith("showing 7 of 60 ")
    lines = run(path, "search", "lantern", "--limit", "100").stdout.splitlines()
    assert len(lines) == 60 and not any(line.startswith("showing") for line in lines)
    assert len({line.split()[0] for line in lines}) == 60


def test_a_bad_limit_is_one_clear_line(tmp_path: Path) -> None:
    path = _journal(tmp_path / "j.db", 3)
    proc = run(path, "search", "lantern", "--limit", "0", ok=False)
    refused(proc, "the limit must be a whole number from 1 to 10,000")


def test_words_to_leave_out_are_words_not_options(tmp_path: Path) -> None:
    path = tmp_path / "j.db"
    run(path, "init", "--name", "Ada")
    run(path, "add", "goal", "Publish the field guide")
    run(path, "add", "goal", "Plan the field trip")
    run(path, "add", "goal", "Take the guide home")
    for args in (("field", "-trip"), ("-trip", "field"), ("field", "-\"field trip\""),
                 ("field", "-trip", "guide"), ("field", "-home", "-trip"), ("--limit", "5", "field", "-trip"),
                 ("field", "--json", "-trip"), ("field", "--limit", "5", "-trip", "guide"),
                 ("field", f"--journal={path}", "-trip"), ("field", "--lim", "5", "-trip"),
                 ("--", "field", "-trip"), ("field -trip",),  # the whole query in one argument
                 ('"field guide"',), ("field", "-trip", "--json")):
        found = json.loads(run(path, "search", "--json", *args).stdout)
        assert [h["snippet"].strip() for h in found] == ["Publish the field guide"], args
    assert "usage: comentor search" in run(path, "search", "-h").stdout  # help, still
    both = json.loads(run(path, "search", "guide", "OR", "trip", "--json").stdout)
    assert len(both) == 3  # the guide, the trip, and taking the guide home
    assert json.loads(run(path, "search", "guide OR trip", "--json").stdout) == both
    anywhere = json.loads(run(path, "search", "field guide", "--json").stdout)  # not a phrase:
    assert len(anywhere) == 1  # a shell's quotes only keep the words together
    top = run(path, "--jour", str(path), "search", "field", "-trip").stdout  # (abbreviated)
    assert "Publish the [field] guide" in top
    refused(run(path, "search", ok=False), "give the words to search for")
    bogus = run(path, "search", "field", "--bogus", ok=False)  # an option still is one
    assert bogus.returncode == 2 and "unrecognized arguments: --bogus" in bogus.stderr
    assert "\x00" not in bogus.stderr
    assert run(path, "search", "-trip").stdout.strip() == "no matches"  # nothing to look for
