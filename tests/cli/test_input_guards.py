"""Input a user types or points at, refused in one line before anything reads or writes.

Each case once made comentor hang, eat memory, answer "unexpected error" (exit 70) or quietly
do something else than asked: a pipe or a device where a file belongs, a folder SQLite
cannot make a file in, digits of another script, an empty path.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import resource
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from comentor import model
from comentor.model.errors import NotAJournalError, ReadOnlyJournalError, ValidationError
from comentor.tui.cli.remind import parse_within

from .helpers import refused, run

# what a process of the old code read from /dev/zero before MemoryError: kept small here
_MEMORY = 1024 ** 3


def _memory_capped() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (_MEMORY, _MEMORY))


def comentor(cwd: Path, *args: str, env: dict[str, str] | None = None,
             ) -> subprocess.CompletedProcess[str]:
    """`comentor ARGS` exactly as given (`run` always passes --journal PATH itself), in
    `cwd`: a path of spaces read as a file name lands there, never in the checkout."""
    proc = subprocess.run([sys.executable, "-m", "comentor.tui.cli", *args],
                          capture_output=True, text=True, env=dict(os.environ, **(env or {})),
                          timeout=60, stdin=subprocess.DEVNULL, cwd=cwd)
    assert "Traceback" not in proc.stderr
    return proc


def default_journal() -> Path:
    """The default journal's place (in the test's own data folder: see tests/conftest.py)."""
    return Path(os.environ["XDG_DATA_HOME"]) / "comentor" / "journal.db"


@pytest.fixture
def jpath(tmp_path: Path) -> Path:
    path = tmp_path / "j.db"
    run(path, "init", "--name", "Ada")
    return path


@pytest.fixture
def fifo(tmp_path: Path) -> Path:
    path = tmp_path / "pipe.db"
    os.mkfifo(path)
    return path


# ---------------------------------------------------------------- 1. a pipe or a device
@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero here")
def test_restore_from_a_device_is_refused_without_reading_it(tmp_path: Path) -> None:
    target = tmp_path / "restored.db"
    proc = run(target, "restore", "/dev/zero", ok=False, preexec_fn=_memory_capped)
    refused(proc, "/dev/zero is not an ordinary file")
    assert not target.exists()
    with pytest.raises(NotAJournalError):
        model.restore_backup("/dev/zero", target)


def test_restore_from_a_pipe_is_refused_without_waiting(tmp_path: Path, fifo: Path) -> None:
    target = tmp_path / "restored.db"
    refused(run(target, "restore", str(fifo), ok=False), "pipe.db is not an ordinary file")
    assert not target.exists() and fifo.is_fifo()


def test_restore_onto_a_pipe_is_refused_before_it_starts(jpath: Path, tmp_path: Path,
                                                          fifo: Path) -> None:
    backup = tmp_path / "b.db"
    run(jpath, "backup", "-o", str(backup))
    refused(run(fifo, "restore", str(backup), ok=False),
            "pipe.db is not an ordinary file: name the journal file to restore to")
    assert fifo.is_fifo()


def test_a_pipe_as_the_journal_is_refused_without_waiting(fifo: Path) -> None:
    for command in (["status"], ["list", "goal"], ["add", "note", "x"], ["repair"]):
        refused(run(fifo, *command, ok=False), "pipe.db is not an ordinary file")
    with pytest.raises(NotAJournalError):
        model.Journal.open(fifo)
    assert fifo.is_fifo()


# ---------------------------------------------------------------- 2. SQLite cannot make it
def test_init_where_sqlite_cannot_make_the_file_says_so(tmp_path: Path) -> None:
    # a name that fits but whose hidden building name beside it does not: SQLITE_CANTOPEN,
    # as a folder that cannot be written gives it (root writes any folder)
    target = tmp_path / ("a" * 240 + ".db")
    proc = run(target, "init", "--name", "Ada", ok=False)
    refused(proc, "SQLite cannot open a file of the journal")
    assert "is its folder there and writable" in proc.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into a read-only folder")
def test_init_in_a_read_only_folder_says_so(tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        refused(run(folder / "new.db", "init", "--name", "Ada", ok=False),
                "SQLite cannot open a file of the journal")
        assert list(folder.iterdir()) == []
    finally:
        folder.chmod(0o755)


def test_sqlite_cannot_open_is_told_by_its_code(tmp_path: Path) -> None:
    path = tmp_path / "missing" / "j.db"
    with pytest.raises(sqlite3.OperationalError) as raised:
        sqlite3.connect(path)
    assert raised.value.sqlite_errorcode & 0xFF == sqlite3.SQLITE_CANTOPEN
    assert isinstance(model.explain_sqlite_error(raised.value, path), ReadOnlyJournalError)


# ---------------------------------------------------------------- 3. remind --within
@pytest.mark.parametrize("window", ["²", "³0", "١h", "٣٠", "１h"])
def test_within_takes_ascii_digits_only(jpath: Path, window: str) -> None:
    with pytest.raises(ValidationError):
        parse_within(window)
    proc = run(jpath, "remind", "--within", window, ok=False)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and len(lines) == 1 and "bad --within" in lines[0]


# ---------------------------------------------------------------- 4. folder use / show
@pytest.mark.parametrize("given", ["", "   "])
def test_folder_use_with_no_folder_is_refused(jpath: Path, given: str) -> None:
    refused(run(jpath, "folder", "use", given, ok=False), "no sync folder given")
    assert json.loads(run(jpath, "folder", "show", "--json").stdout) == {"sync_folder": None}


def test_the_root_folder_is_no_sync_folder(jpath: Path) -> None:
    refused(run(jpath, "folder", "use", "/", ok=False), "/ is not a folder of its own")
    from comentor.sync._options import check_folder  # what `sync-folder DIR` checks too
    from comentor.sync.errors import TransportError

    with pytest.raises(TransportError, match="/ is not a folder of its own"):
        check_folder("/")
    assert json.loads(run(jpath, "folder", "show", "--json").stdout) == {"sync_folder": None}


def test_folder_paths_never_drive_the_terminal(jpath: Path, tmp_path: Path) -> None:
    folder = tmp_path / "a\x1b[31mb"
    folder.mkdir()
    for proc in (run(jpath, "folder", "use", str(folder)), run(jpath, "folder", "show")):
        assert "\x1b" not in proc.stdout and "a\\x1b[31mb" in proc.stdout
    assert json.loads(run(jpath, "folder", "show", "--json").stdout) == {
        "sync_folder": str(folder)}


# ---------------------------------------------------------------- 5. an empty --journal
@pytest.mark.parametrize("given", [["--journal", ""], ["--journal", "  "], ["--journal="]])
def test_an_empty_journal_option_is_refused_not_the_default(tmp_path: Path,
                                                           given: list[str]) -> None:
    for command in (["init", "--name", "Ada"], ["add", "note", "x"], ["status"],
                    ["demo", "--status"]):
        refused(comentor(tmp_path, *given, *command), "--journal is empty")
    assert not default_journal().parent.exists() and list(tmp_path.iterdir()) == []


def test_an_empty_journal_variable_is_unset_and_one_of_spaces_is_refused(
        tmp_path: Path) -> None:
    refused(comentor(tmp_path, "init", "--name", "Ada", env={"COMENTOR_JOURNAL": " "}),
            "COMENTOR_JOURNAL holds only spaces")
    assert not default_journal().exists() and list(tmp_path.iterdir()) == []
    proc = comentor(tmp_path, "init", "--name", "Ada", env={"COMENTOR_JOURNAL": ""})
    assert proc.returncode == 0, proc.stderr
    assert default_journal().exists()


# ---------------------------------------------------------------- 6. digits of another script
@pytest.mark.parametrize("at", ["١٢:٣٠", "12:٣٠", "١٢:30", "１２:００"])
def test_a_time_takes_ascii_digits_only(jpath: Path, at: str) -> None:
    with pytest.raises(ValidationError):
        model.parse_time(at)
    refused(run(jpath, "schedule", "set", "--at", at, ok=False), "bad time")
    assert json.loads(run(jpath, "schedule", "show", "--json").stdout)["at"] == "12:00"


def test_dates_and_cadences_take_ascii_digits_only(jpath: Path) -> None:
    for text in ("+٢w", "+２d", "٢٠٢٦-٠٣-٠٢"):
        with pytest.raises(ValidationError):
            model.parse_date(text, dt.date(2026, 3, 2))
    for text in ("٣w", "2١d"):
        with pytest.raises(ValidationError):
            model.parse_every(text)
    assert model.parse_time("9:05") == "09:05" and model.parse_every("3w") == 21
    refused(run(jpath, "schedule", "set", "--every", "٣w", ok=False), "bad cadence")
    refused(run(jpath, "add", "commitment", "x", "--due", "+٢w", ok=False), "bad date")


def test_version_says_the_installed_release(tmp_path: Path) -> None:
    from importlib.metadata import version

    proc = comentor(tmp_path, "--version")
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, f"comentor {version('comentor')}\n", "")
    assert list(tmp_path.iterdir()) == []  # no journal made, nothing written


@pytest.mark.parametrize("args, says", [
    (["add"], "comentor add: error: the following arguments are required: KIND, TEXT "
              "(see `comentor add --help`)"),
    (["add", "goal"], "required: TEXT (see `comentor add --help`)"),
    (["devices", "revoke"], "required: ID (see `comentor devices revoke --help`)"),
    (["frobnicate"], "invalid choice: 'frobnicate'"),
    (["add", "goal", "x", "--bogus"], "comentor add: error: unrecognized arguments: --bogus "
                                      "(see `comentor add --help`)"),
    (["schedule", "set", "--bogus"], "unrecognized arguments: --bogus "
                                     "(see `comentor schedule set --help`)"),
    (["--bogus"], "comentor: error: unrecognized arguments: --bogus (see `comentor --help`)"),
])
def test_a_missing_or_unknown_argument_is_one_line(tmp_path: Path, args: list[str],
                                                   says: str) -> None:
    """argparse's own error prints the whole usage first (seven lines for `add`)."""
    done = comentor(tmp_path, *args)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and says in done.stderr, done.stderr
    assert "usage:" not in done.stderr and done.stdout == ""
