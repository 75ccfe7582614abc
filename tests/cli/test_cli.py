"""The command line, run as a real process: every command, and its errors."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from .helpers import run, snapshot


@pytest.fixture
def jpath(tmp_path: Path) -> Path:
    path = tmp_path / "j.db"
    run(path, "init", "--name", "Ada")
    return path


def test_add_list_done_drop_delete_undo(jpath: Path) -> None:
    c1 = run(jpath, "add", "commitment", "Send", "the", "pitch", "--due", "+1w",
             "--follow-up", "How did it go?").stdout.strip()
    c2 = run(jpath, "add", "commitment", "Call the bank").stdout.strip()
    items = json.loads(run(jpath, "list", "commitment", "--json").stdout)
    assert {i["text"] for i in items} == {"Send the pitch", "Call the bank"}
    assert all({"id", "text", "owner", "status"} <= set(i) for i in items)
    assert {i["owner"] for i in items} == {"Ada"}
    run(jpath, "done", c1[-8:], "--result", "went well")
    run(jpath, "drop", c2)
    assert json.loads(run(jpath, "list", "commitment", "--json").stdout) == []
    statuses = {i["id"]: i["status"] for i in json.loads(run(jpath, "list", "commitment", "--all", "--json").stdout)}
    assert statuses == {c1: "done", c2: "dropped"}
    g = run(jpath, "add", "goal", "Write the book", "--horizon", "long").stdout.strip()
    run(jpath, "delete", g)
    assert json.loads(run(jpath, "list", "goal", "--json").stdout) == []
    run(jpath, "undo-delete", g)
    assert json.loads(run(jpath, "list", "goal", "--json").stdout)[0]["id"] == g
    run(jpath, "edit", g, "Write the field guide")
    assert json.loads(run(jpath, "list", "goal", "--json").stdout)[0]["text"] == "Write the field guide"


def test_every_kind_can_be_added(jpath: Path) -> None:
    g = run(jpath, "add", "goal", "Ship").stdout.strip()
    run(jpath, "add", "update", "Half way", "--goal", g, "--progress", "50")
    ask = run(jpath, "add", "ask", "Any tips?")
    assert "no concrete outcome" in ask.stderr
    run(jpath, "add", "ask", "Intro to an editor", "--kind", "introduction",
        "--outcome", "one warm introduction")
    run(jpath, "add", "win", "Signed the library", "--date", "2026-01-05")
    run(jpath, "add", "note", "shared thought")
    run(jpath, "add", "note", "private thought", "--private")
    run(jpath, "add", "feedback", "Pick one story", "--kind", "push", "--on", g)
    run(jpath, "add", "story", "I help teams hear their users")
    run(jpath, "add", "skill", "Pricing", "--grow")
    run(jpath, "add", "point", "Studio or not")
    assert json.loads(run(jpath, "list", "private", "--json").stdout)[0]["text"] == "private thought"
    assert json.loads(run(jpath, "list", "draft", "--json").stdout)[0]["text"] == "Studio or not"
    assert len(json.loads(run(jpath, "list", "ask", "--json").stdout)) == 2
    # a challenge goes to a partner; without one it says so
    proc = run(jpath, "add", "challenge", "Teach a workshop", ok=False)
    assert proc.returncode == 1 and "pair first" in proc.stderr


def test_status_schedule_search_export(jpath: Path, tmp_path: Path) -> None:
    run(jpath, "schedule", "set", "--every", "2w", "--at", "13:00", "--minutes", "45")
    show = json.loads(run(jpath, "schedule", "show", "--json").stdout)
    assert show["every_days"] == 14 and show["at"] == "13:00" and len(show["upcoming"]) == 6
    st = json.loads(run(jpath, "status", "--json").stdout)
    assert st["drift"] in ("on_time", "due") and st["me"] == "Ada"
    assert "Next check-in" in run(jpath, "status").stdout
    run(jpath, "add", "goal", "Publish the field guide")
    hits = json.loads(run(jpath, "search", "field", "--json").stdout)
    assert hits and hits[0]["table"] == "goals"
    for fmt in ("md", "json", "ics"):
        out = tmp_path / f"export.{fmt}"
        run(jpath, "export", fmt, "-o", str(out))
        assert out.stat().st_size > 0
    from icalendar import Calendar

    cal = Calendar.from_ical((tmp_path / "export.ics").read_bytes())
    assert list(cal.walk("VEVENT"))[0]["RRULE"]["INTERVAL"] == [2]
    assert "Publish the field guide" in run(jpath, "export", "md").stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("add", "frog", "x"), "unknown kind"),
        (("add", "commitment", "x", "--due", "soonish"), "bad date"),
        (("list", "frogs"), "unknown kind"),
        (("done", "zzzzzz"), "no item"),
        (("add", "update", "x"), "--goal"),
        (("add", "update", "x", "--goal", "g", "--progress", "500"), "id"),
        (("schedule", "set", "--every", "often"), "bad cadence"),
        (("schedule", "set", "--at", "25:99"), "bad time"),
        (("quarantine", "--release", "nonsense"), "REPLICA:SEQ"),
        (("export", "md", "-o", "/nonexistent/dir/x.md"), "cannot write"),
    ],
)
def test_bad_input_is_one_line_and_changes_nothing(jpath: Path, args: tuple[str, ...], message: str) -> None:
    before = snapshot(jpath)
    proc = run(jpath, *args, ok=False)
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], proc.stderr
    assert snapshot(jpath) == before


def test_missing_not_a_journal_and_locked(tmp_path: Path, jpath: Path) -> None:
    proc = run(tmp_path / "none.db", "status", ok=False)
    assert proc.returncode == 1 and "comentor init" in proc.stderr
    other = tmp_path / "other.txt"
    other.write_text("not a database")
    proc = run(other, "list", "goal", ok=False)
    assert proc.returncode == 1 and "not a comentor journal" in proc.stderr
    assert other.read_text() == "not a database"
    proc = run(jpath, "init", "--name", "Again", ok=False)
    assert "a journal already exists" in proc.stderr
    proc = run(other, "init", "--name", "Ada", ok=False)  # something else: say so, keep it
    assert proc.returncode == 1 and "already exists and is not a journal" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and other.read_text() == "not a database"
    link = tmp_path / "link.db"
    link.symlink_to(tmp_path / "gone" / "j.db")
    proc = run(link, "init", "--name", "Ada", ok=False)
    assert proc.returncode == 1 and "which is not there" in proc.stderr and link.is_symlink()
    fifo = tmp_path / "pipe.db"
    os.mkfifo(fifo)
    proc = run(fifo, "init", "--name", "Ada", ok=False)
    assert proc.returncode == 1 and "not an ordinary file" in proc.stderr
    assert fifo.is_fifo()
    locker = sqlite3.connect(jpath, isolation_level=None)
    locker.execute("BEGIN IMMEDIATE")
    try:
        proc = run(jpath, "add", "goal", "blocked", ok=False)
        assert proc.returncode == 1 and "busy" in proc.stderr
    finally:
        locker.execute("ROLLBACK")
        locker.close()
    assert json.loads(run(jpath, "list", "goal", "--json").stdout) == []


def test_environment_variable_names_the_journal(tmp_path: Path) -> None:
    path = tmp_path / "env.db"
    env = dict(os.environ, COMENTOR_JOURNAL=str(path))
    subprocess.run([sys.executable, "-m", "comentor.tui.cli", "init", "--name", "Env"],
                   check=True, env=env, capture_output=True)
    assert path.exists()


def test_noninteractive_commands_do_not_import_textual(jpath: Path) -> None:
    code = ("import sys; from comentor.tui.cli import main; main(['--journal', sys.argv[1], "
            "'status', '--json']); assert 'textual' not in sys.modules, 'textual imported'")
    subprocess.run([sys.executable, "-c", code, str(jpath)], check=True, capture_output=True)


def test_locked_device_key_needs_its_passphrase(tmp_path: Path) -> None:
    path = tmp_path / "locked.db"
    run(path, "init", "--name", "Ada", "--lock", env={"COMENTOR_PASSPHRASE": "correct horse"})
    assert run(path, "status", env={"COMENTOR_PASSPHRASE": "correct horse"}).returncode == 0
    proc = run(path, "status", ok=False, env={"COMENTOR_PASSPHRASE": "wrong"})
    assert "wrong passphrase" in proc.stderr
    proc = run(path, "status", ok=False)
    assert "locked" in proc.stderr


def test_edit_is_one_change_and_answers_only_asks(jpath: Path) -> None:
    g = run(jpath, "add", "goal", "Ship").stdout.strip()
    before = snapshot(jpath)
    proc = run(jpath, "edit", g, "--answer", "hi", ok=False)
    assert "--answer is for asks" in proc.stderr and snapshot(jpath) == before
    ask = run(jpath, "add", "ask", "Intro", "--outcome", "one warm introduction").stdout.strip()
    before = snapshot(jpath)
    proc = run(jpath, "edit", ask, "--answer", "yes", "--due", "tomorrow", ok=False)
    assert "no field 'due'" in proc.stderr and snapshot(jpath) == before
    run(jpath, "edit", ask, "--answer", "Talk to Priya")
    item = json.loads(run(jpath, "list", "ask", "--all", "--json").stdout)[0]
    assert item["status"] == "answered" and item["answer"] == "Talk to Priya"


def test_the_partnership_records_are_not_items(jpath: Path) -> None:
    device = json.loads(run(jpath, "list", "device", "--json").stdout)[0]["id"]
    proc = run(jpath, "delete", device, ok=False)
    assert "no item" in proc.stderr
    assert json.loads(run(jpath, "list", "people", "--json").stdout)[0]["text"] == "Ada"


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`comentor ARGS` with no --journal added before the command."""
    proc = subprocess.run([sys.executable, "-m", "comentor.tui.cli", *args], capture_output=True,
                          text=True, env=dict(os.environ, **(env or {})), timeout=60)
    assert "Traceback" not in proc.stderr
    return proc


def test_journal_after_the_command(jpath: Path) -> None:
    goal = cli("add", "goal", "Ship", "--journal", str(jpath))
    assert goal.returncode == 0, goal.stderr
    listed = cli("list", "goal", "--json", "--journal", str(jpath))
    assert [g["id"] for g in json.loads(listed.stdout)] == [goal.stdout.strip()]


def test_demo_never_opens_the_journal_named_by_the_environment(jpath: Path) -> None:
    before = snapshot(jpath)
    proc = cli("demo", "--status", env={"COMENTOR_JOURNAL": str(jpath)})
    assert proc.returncode == 0, proc.stderr
    assert "Maya Okafor" in proc.stdout and "Ada" not in proc.stdout
    assert snapshot(jpath) == before


def test_demo_refuses_a_real_journal_given_explicitly(jpath: Path, tmp_path: Path) -> None:
    before = snapshot(jpath)
    for proc in (run(jpath, "demo", "--status", ok=False),
                 cli("demo", "--status", "--journal", str(jpath))):
        lines = proc.stderr.strip().splitlines()
        assert proc.returncode == 1 and len(lines) == 1 and "not a demo" in lines[0], proc.stderr
        assert proc.stdout == ""
    assert snapshot(jpath) == before
    demo = tmp_path / "my-demo.db"
    for _ in range(2):  # made the first time, opened again the second
        proc = cli("demo", "--status", "--journal", str(demo))
        assert proc.returncode == 0 and "Maya Okafor" in proc.stdout, proc.stderr
