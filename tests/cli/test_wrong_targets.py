"""Found by a QA pass: what a command was told to do and did otherwise, silently.

An export over a journal or a backup, how-it-went text that no kind keeps, an answer that
reopened a closed ask, a release number Python reads and SQLite cannot hold, and paths
printed raw in the lines that say what was done."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from .helpers import run


@pytest.fixture
def jpath(tmp_path: Path) -> Path:
    path = tmp_path / "j.db"
    run(path, "init", "--name", "Ada")
    return path


def test_an_export_never_replaces_a_journal_or_a_backup(jpath: Path, tmp_path: Path) -> None:
    other = tmp_path / "partner.db"
    run(other, "init", "--name", "Ben")
    plain = tmp_path / "plain.bak"
    run(jpath, "backup", "-o", str(plain))
    sealed = tmp_path / "sealed.bak"
    run(jpath, "backup", "--passphrase", "-o", str(sealed),
        env={"COMENTOR_PASSPHRASE": "correct horse battery staple"})
    for target, fmt in ((other, "md"), (plain, "json"), (sealed, "ics")):
        before = target.read_bytes()
        proc = run(jpath, "export", fmt, "-o", str(target), ok=False)
        assert proc.returncode != 0 and proc.stdout == ""
        assert proc.stderr.count("\n") == 1 and "an export never replaces" in proc.stderr
        assert target.read_bytes() == before  # nothing lost
    named_md = tmp_path / "notes.md"  # a journal whatever its name
    shutil.copy(other, named_md)
    proc = run(jpath, "review", "-o", str(named_md), ok=False)
    assert proc.returncode != 0 and "an export never replaces" in proc.stderr
    # an older export is replaced as before, and a backup still replaces an older backup
    md = tmp_path / "journal.md"
    md.write_text("last week's export\n")
    run(jpath, "export", "md", "-o", str(md))
    assert "last week's export" not in md.read_text()
    run(jpath, "backup", "-o", str(plain))


@pytest.mark.parametrize(("kind", "command", "refusal"), [
    ("goal", "done", "a goal keeps no result"),
    ("goal", "drop", "a goal keeps no result"),
    ("ask", "done", "an ask keeps no result"),
    ("challenge", "drop", "a declined challenge keeps no result"),
])
def test_how_it_went_is_refused_where_it_would_be_dropped(
        tmp_path: Path, kind: str, command: str, refusal: str) -> None:
    from comentor.model.testing import paired_journals

    paired_journals(tmp_path, ("Ada", "Ben"), close=True)  # a challenge needs a partner
    jpath = tmp_path / "ada.db"
    row = run(jpath, "add", kind, "Something to do").stdout.strip()
    proc = run(jpath, command, row, "--result", "how it went: great", ok=False)
    assert proc.returncode != 0 and refusal in proc.stderr
    assert proc.stderr.count("\n") == 1
    listed = json.loads(run(jpath, "list", kind, "--all", "--json").stdout)
    assert [i["status"] for i in listed if i["id"] == row] == [listed[0]["status"]]
    assert listed[0]["status"] not in ("met", "dropped", "closed", "declined")
    # without the text, the same command closes it
    run(jpath, command, row)


def test_a_result_is_kept_where_it_belongs(jpath: Path) -> None:
    row = run(jpath, "add", "commitment", "Send the pitch").stdout.strip()
    run(jpath, "done", row, "--result", "sent, and they said yes")
    listed = json.loads(run(jpath, "list", "commitment", "--all", "--json").stdout)
    assert "sent, and they said yes" in json.dumps(listed)


def test_answering_a_closed_ask_keeps_it_closed(jpath: Path) -> None:
    row = run(jpath, "add", "ask", "Who knows a good accountant in Leeds?").stdout.strip()
    run(jpath, "done", row)
    run(jpath, "edit", row, "--answer", "Priya, at Leeds Books")
    ask = json.loads(run(jpath, "list", "ask", "--all", "--json").stdout)[0]
    assert ask["status"] == "closed" and ask["answer"] == "Priya, at Leeds Books"
    # an open one is answered, as before
    other = run(jpath, "add", "ask", "Who reviews contracts?").stdout.strip()
    run(jpath, "edit", other, "--answer", "Sam does")
    statuses = {i["id"]: i["status"] for i in
                json.loads(run(jpath, "list", "ask", "--all", "--json").stdout)}
    assert statuses[other] == "answered"


@pytest.mark.parametrize("release", ["abc:²", "abc:99999999999999999999999", "abc:", ":12"])
def test_a_release_that_is_not_replica_and_number_is_one_line(jpath: Path, release: str) -> None:
    proc = run(jpath, "quarantine", "--release", release, ok=False)
    assert proc.returncode not in (0, 70)
    assert proc.stderr.count("\n") == 1 and "REPLICA:SEQ" in proc.stderr


def test_paths_in_the_lines_that_say_what_was_done_are_inert(jpath: Path, tmp_path: Path) -> None:
    out = tmp_path / "\x1b[31mred.bak"
    backup = run(jpath, "backup", "-o", str(out))
    assert "\x1b" not in backup.stdout and "\\x1b[31mred.bak" in backup.stdout
    repaired = tmp_path / "\x1b]0;title\x07.db"
    repair = run(jpath, "repair", "-o", str(repaired))
    assert "\x1b" not in repair.stdout and "\x07" not in repair.stdout
    restored = tmp_path / "\x1b[2Jrestored.db"
    restore = run(restored, "restore", str(out))
    assert "\x1b" not in restore.stdout


def test_bidirectional_overrides_in_user_text_are_shown_escaped(jpath: Path) -> None:
    run(jpath, "add", "goal", "pay\u202eevil\u202c invoice")
    listed = run(jpath, "list", "goal").stdout
    assert "\u202e" not in listed and "\\u202e" in listed
    found = run(jpath, "search", "invoice").stdout
    assert "\u202e" not in found
    for printed in (run(jpath, "export", "md").stdout, run(jpath, "export", "json").stdout):
        assert "\u202e" not in printed and "\\u202e" in printed
    json.loads(run(jpath, "export", "json").stdout)  # still valid JSON
