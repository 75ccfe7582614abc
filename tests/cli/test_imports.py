"""Commands import only what they run (issue 11): `comentor add` and the other quick
commands, run as real processes, never load asyncio, the network stack or Textual, and the
parser built for one command is the same as that command's part of the whole parser."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from comentor.tui.cli import _GROUPS, app_arguments
from comentor.tui.cli.parser import build_parser, commands_named

# what a quick command must not load: the event loop, the network, the app, the CRDT
# library, the relay's database and metrics, and (deferred, see tui/cli/deferred.py) inspect
HEAVY = ("asyncio", "websockets", "zeroconf", "textual", "rich", "pycrdt", "psycopg",
         "prometheus_client", "sqlite_utils", "numpy", "inspect")

# what `comentor add` does without on top of that (docs/performance.md, "Quick commands"):
# dataclasses (the records on its path are written out, model/_record.py), json (the
# epoch mark is read and written without it), threading, the date parser's calendar,
# zoneinfo, the text helpers' unicodedata (locale comes with argparse's gettext)
ADD_DOES_WITHOUT = ("dataclasses", "json", "threading", "calendar", "zoneinfo",
                    "unicodedata", "copy")

# runs the command line as `comentor` does, then writes which modules were really loaded
# (a module the deferral left unloaded is not) to the file named by argv[1], as a JSON list written without json (one of the things checked)
WRAPPER = """
import atexit, sys, types
out = sys.argv.pop(1)
def _write():
    loaded = sorted(n for n, m in sys.modules.items() if type(m) is types.ModuleType)
    with open(out, "w") as f:
        f.write("[" + ", ".join('"' + n + '"' for n in loaded) + "]")  # names need no escapes
atexit.register(_write)
sys.argv[0] = "comentor"
from comentor.tui.cli import main
sys.exit(main())
"""


@pytest.fixture
def journal_file(tmp_path: Path) -> Path:
    path = tmp_path / "j.db"
    subprocess.run([sys.executable, "-m", "comentor.tui.cli", "--journal", str(path), "init",
                    "--name", "Ada"], check=True, capture_output=True, timeout=60)
    subprocess.run([sys.executable, "-m", "comentor.tui.cli", "--journal", str(path), "add",
                    "goal", "Ship the thing", "--target", "+2w"],
                   check=True, capture_output=True, timeout=60)
    return path


def _loaded(tmp_path: Path, journal: Path, *args: str) -> set[str]:
    out = tmp_path / "modules.json"
    env = dict(os.environ, COMENTOR_JOURNAL=str(journal))
    proc = subprocess.run([sys.executable, "-c", WRAPPER, str(out), *args], env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return {name.split(".")[0] for name in json.loads(out.read_text())}


@pytest.mark.parametrize("args", [("add", "win", "Shipped it"), ("list", "goal"), ("status",),
                                  ("search", "ship"), ("list", "goal", "--json")])
def test_quick_commands_load_nothing_heavy(tmp_path: Path, journal_file: Path,
                                           args: tuple[str, ...]) -> None:
    loaded = _loaded(tmp_path, journal_file, *args)
    assert "comentor" in loaded and "sqlite3" in loaded  # it did run the command
    heavy = sorted(set(HEAVY) & loaded)
    assert not heavy, (f"`comentor {' '.join(args)}` loaded {heavy}: import them inside the "
                       "handler that needs them (a dataclass without a docstring loads inspect)")


def test_add_loads_only_what_a_write_needs(tmp_path: Path, journal_file: Path) -> None:
    loaded = _loaded(tmp_path, journal_file, "add", "win", "Shipped it")
    assert "comentor" in loaded and "nacl" in loaded  # it did sign
    extra = sorted(set(ADD_DOES_WITHOUT) & loaded)
    assert not extra, f"`comentor add` loaded {extra}: load them where they are used"


def test_a_quick_command_that_skips_the_exit_collection_still_closes_its_journal(
        tmp_path: Path, journal_file: Path) -> None:
    """deferred.py spares a successful quick command the collector's passes at exit: the
    journal must still be closed by then (its -wal folded back and gone), the item kept."""
    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "comentor.tui.cli", "--journal",
                               str(journal_file), *args], capture_output=True, text=True,
                              timeout=60)

    added = cli("add", "win", "Shipped it")
    assert added.returncode == 0 and added.stderr == ""
    assert sorted(p.name for p in journal_file.parent.iterdir() if p.name.startswith("j.db")) \
        == ["j.db"]
    listed = cli("list", "win")
    assert listed.returncode == 0 and "Shipped it" in listed.stdout


@pytest.mark.parametrize("args", [("list", "goal"), ("search", "ship")])
def test_list_and_search_build_no_dataclasses(tmp_path: Path, journal_file: Path,
                                              args: tuple[str, ...]) -> None:
    assert "dataclasses" not in _loaded(tmp_path, journal_file, *args)


def test_one_commands_parser_is_that_command_of_the_whole(tmp_path: Path) -> None:
    whole = build_parser()
    choices = whole._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    named = {name for name in _GROUPS if name is not None}
    assert set(choices) == named  # every command has a module, and every module's command a parser
    for name in sorted(named):
        alone = build_parser(frozenset({name}))
        only = alone._subparsers._group_actions[0].choices  # type: ignore[union-attr]
        assert set(only) == {name}
        assert only[name].format_help() == choices[name].format_help(), name


@pytest.mark.parametrize(("argv", "expected"), [
    ([], frozenset()),
    (["--journal", "x.db"], frozenset()),
    (["add", "win", "x"], frozenset({"add"})),
    (["--journal", "x.db", "status", "--json"], frozenset({"status"})),
    (["--journal=x.db", "list", "goal"], frozenset({"list"})),
    (["--help"], None),
    (["-h", "add"], None),
    (["no-such-command"], None),
    (["--jour", "x.db", "add"], None),  # an abbreviation argparse knows: the whole parser
])
def test_which_parsers_a_command_line_needs(argv: list[str], expected: frozenset[str] | None,
                                            ) -> None:
    assert commands_named(argv) == expected


def test_help_and_mistakes_still_name_every_command(tmp_path: Path) -> None:
    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "comentor.tui.cli", *args],
                              capture_output=True, text=True, timeout=60)

    helped = cli("--help")
    assert helped.returncode == 0 and "sync-relay" in helped.stdout and "add" in helped.stdout
    wrong = cli("ad", "win", "x")
    assert wrong.returncode == 2 and "sync-relay" in wrong.stderr and "Traceback" not in wrong.stderr
    one = cli("add", "--help")
    assert one.returncode == 0 and "--horizon" in one.stdout


@pytest.mark.parametrize(("argv", "journal"), [
    ([], None),
    (["--journal", "x.db"], "x.db"),
    (["--journal=x.db"], "x.db"),
    (["--journal="], ""),
    (["--journal", ""], ""),
    (["--journal=-odd.db"], "-odd.db"),  # after "=" argparse takes any value too
])
def test_a_command_line_that_only_opens_the_app_skips_argparse(
        argv: list[str], journal: str | None) -> None:
    args = app_arguments(argv)
    assert args is not None and args.command is None and args.journal == journal
    parsed = build_parser().parse_args(argv)  # what argparse would have made of it
    assert (parsed.command, parsed.journal) == (args.command, args.journal)


@pytest.mark.parametrize("argv", [
    ["--journal"], ["--journal", "-x"], ["--journal", "a", "--journal", "b"], ["--jour", "a"],
    ["--help"], ["-h"], ["status"], ["--journal", "x.db", "status"], ["x.db"],
])
def test_every_other_command_line_goes_through_argparse(argv: list[str]) -> None:
    assert app_arguments(argv) is None


def test_a_mistake_beside_the_app_path_gets_argparses_words(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "comentor.tui.cli", "--journal"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "expected one argument" in proc.stderr


def _run_app_in_a_terminal(argv: list[str], env: dict[str, str], marker: bytes) -> int:
    """Run `argv` in a 120x36 pseudo-terminal until `marker` is on the screen, then press
    ctrl+q; its exit status (the terminal's output is drained all along)."""
    import fcntl
    import select
    import struct
    import termios
    import time

    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 36, 120, 0, 0))
    proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env,
                            start_new_session=True)
    os.close(slave)
    seen = bytearray()
    try:
        deadline = time.monotonic() + 60  # a guard against a hang, not a measurement
        quit_sent = False
        while proc.poll() is None and time.monotonic() < deadline:
            if select.select([master], [], [], 0.2)[0]:
                try:
                    seen += os.read(master, 1 << 16)
                except OSError:
                    break
            if not quit_sent and marker in seen:
                os.write(master, b"\x11")  # ctrl+q
                quit_sent = True
        assert quit_sent, bytes(seen[-2000:])
        return proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)


def test_the_app_opens_without_argparse(tmp_path: Path, journal_file: Path) -> None:
    """`comentor --journal X` draws the dashboard and quits, never having loaded argparse
    (nor gettext, which comes with it): the app's start takes the direct path in main."""
    out = tmp_path / "modules.json"
    env = dict(os.environ, TERM="xterm-256color")
    env.pop("TEXTUAL", None)
    status = _run_app_in_a_terminal(
        [sys.executable, "-c", WRAPPER, str(out), "--journal", str(journal_file)], env,
        b"weeks at ")  # the cadence, read from the journal (the title comes before)
    assert status == 0
    loaded = {name.split(".")[0] for name in json.loads(out.read_text())}
    assert "textual" in loaded  # it did open the app
    assert not {"argparse", "gettext"} & loaded
