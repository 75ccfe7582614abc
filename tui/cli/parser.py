"""The argument parser of the `comentor` command line (built without importing any handler).

Only `comentor` (no command) and `comentor demo` import Textual, and only when they open the
app, so every other command starts fast. Every failure the user can cause ends with a
one-line message on stderr and a non-zero exit; no traceback reaches the terminal unless
COMENTOR_DEBUG is set.
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
from collections.abc import Collection
from typing import Any, NoReturn

from . import commands_named  # (its home: main asks it before argparse loads)

__all__ = ["build_parser", "ADD_KINDS", "ADD_OPTIONS", "check_text_arguments",
           "commands_named", "add_first_run_arguments"]

# arguments that name files: any bytes the file system allows are fine there
_PATHS = frozenset({"journal", "output", "data", "dir", "file"})

ADD_KINDS = ("goal", "commitment", "ask", "challenge", "win", "note", "update", "feedback",
             "story", "skill", "point")

#: The options of `add`, each with the kinds that take it (declared once: the parser is
#: built from it, and `add` refuses an option given with another kind: tui/cli/items.py).
ADD_OPTIONS: tuple[tuple[str, tuple[str, ...], dict[str, Any]], ...] = (
    ("--horizon", ("goal",), {"choices": ["near", "long"],
                              "help": "goal horizon (default near)"}),
    ("--target", ("goal",), {"metavar": "DATE", "help": "goal target date"}),
    ("--due", ("commitment", "challenge"),
     {"metavar": "DATE", "help": "due date: YYYY-MM-DD, tomorrow, +2w, friday"}),
    ("--follow-up", ("commitment",),
     {"metavar": "TEXT", "help": "the question to ask at the next check-in"}),
    ("--kind", ("ask", "feedback"),
     {"dest": "ask_kind", "metavar": "KIND",
      "help": "ask: introduction|project|question|feedback|other; "
              "feedback: perspective|suggestion|push"}),
    ("--outcome", ("ask",), {"metavar": "TEXT", "help": "ask: the concrete outcome you want"}),
    ("--private", ("note",), {"action": "store_true",
                              "help": "note: keep it on this device only"}),
    ("--goal", ("update",), {"metavar": "ID", "help": "update: the goal it is about"}),
    ("--progress", ("update",), {"type": int, "metavar": "PERCENT",
                                 "help": "update: progress 0-100"}),
    ("--on", ("feedback",), {"metavar": "ID",
                             "help": "feedback: the goal, ask or story it is about"}),
    ("--date", ("win",), {"metavar": "DATE", "help": "win: when it happened (default today)"}),
    ("--grow", ("skill",), {"action": "store_true", "help": "skill: one you want to grow"}),
    ("--experience", ("skill",), {"action": "store_true",
                                  "help": "skill: an experience, not a skill"}),
    ("--share", ("point", "talking-point"),
     {"action": "store_true", "help": "point: share it with your partner now"}),
)


class _Version(argparse.Action):
    """`--version`: the installed release, read from the package's metadata only when asked
    (importing importlib.metadata would cost every command its time)."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: object, option_string: str | None = None) -> None:
        from importlib.metadata import PackageNotFoundError, version

        try:
            release = version("comentor")
        except PackageNotFoundError:  # run from a checkout without installing
            release = "(not installed)"
        print(f"comentor {release}")
        parser.exit()


def build_parser(commands: Collection[str] | None = None) -> argparse.ArgumentParser:
    """The parser; with `commands`, only those commands' parsers are built (see
    :func:`commands_named`), so that `comentor add` neither builds the forty others nor
    imports the modules that define them (asyncio, the network stack, Textual)."""
    p = _Parser(
        prog="comentor",
        description="A private, end-to-end encrypted workspace for two co-mentors.",
    )
    p.add_argument("--journal", metavar="PATH",
                   help="journal file (default: $COMENTOR_JOURNAL or the user data directory)")
    p.add_argument("--version", action=_Version, nargs=0, help="print the release and exit")
    real = p.add_subparsers(dest="command", metavar="COMMAND")
    sub: Any = real if commands is None else _Only(real, commands)

    s = sub.add_parser("init", help="create a journal for you and this device")
    s.add_argument("--name", required=True, help="your name, as your partner will see it")
    s.add_argument("--lock", action="store_true", help="seal the device key with a passphrase")
    add_first_run_arguments(s)

    s = sub.add_parser("add", help="add an item: " + ", ".join(ADD_KINDS))
    s.add_argument("kind", metavar="KIND", help=", ".join(ADD_KINDS))
    s.add_argument("text", metavar="TEXT", nargs="+")
    for flag, _kinds, options in ADD_OPTIONS:
        s.add_argument(flag, **options)

    s = sub.add_parser("list", help="list items of one kind")
    s.add_argument("kind", metavar="KIND")
    s.add_argument("--json", action="store_true")
    s.add_argument("--all", action="store_true", help="include done, dropped and closed items")
    s.add_argument("--deleted", action="store_true",
                   help="deleted items only: who deleted them and when (undo-delete ID)")

    for name, text in (("done", "mark a commitment done, a goal met, a challenge done, "
                                "an ask closed"),
                       ("drop", "drop a commitment or goal, decline a challenge, close an ask"),
                       ("delete", "delete an item (undo with undo-delete)"),
                       ("undo-delete", "bring a deleted item back")):
        s = sub.add_parser(name, help=text)
        s.add_argument("id", metavar="ID")
        if name in ("done", "drop"):
            s.add_argument("--result", metavar="TEXT", help="how it went")

    s = sub.add_parser("edit", help="change an item's text or dates")
    s.add_argument("id", metavar="ID")
    s.add_argument("text", metavar="TEXT", nargs="*")
    s.add_argument("--due", metavar="DATE",
                   help='commitment or challenge: its due date ("" clears it)')
    s.add_argument("--target", metavar="DATE", help='goal: its target date ("" clears it)')
    s.add_argument("--date", metavar="DATE", help="win: when it happened")
    s.add_argument("--outcome", metavar="TEXT")
    s.add_argument("--answer", metavar="TEXT", help="ask: your answer")

    s = sub.add_parser("status", help="next check-in, drift and open items")
    s.add_argument("--json", action="store_true")

    s = sub.add_parser("schedule", help="the check-in cadence")
    ssub = s.add_subparsers(dest="action", metavar="ACTION")
    t = ssub.add_parser("set", help="set the cadence")
    t.add_argument("--every", metavar="N", help="3w, 21d, 2 weeks")
    t.add_argument("--at", metavar="HH:MM")
    t.add_argument("--minutes", type=int)
    t.add_argument("--zone", metavar="ZONE",
                   help="IANA time zone of the check-in time, like Europe/Berlin "
                        "(default: this machine's)")
    t.add_argument("--alarm", type=int, metavar="MINUTES",
                   help="calendar reminder this many minutes before (default 10)")
    t = ssub.add_parser("show", help="show the cadence and the next dates")
    t.add_argument("--json", action="store_true")

    s = sub.add_parser("export", help="export as Markdown, JSON or iCalendar")
    s.add_argument("format", choices=["md", "json", "ics"])
    s.add_argument("-o", "--output", metavar="FILE",
                   help="write to FILE instead of stdout (- is stdout)")
    s.add_argument("--private", action="store_true", help="md, json: include private notes")
    s.add_argument("--todos", action="store_true",
                   help="ics: commitments and challenges with a due date as to-dos")
    s.add_argument("--no-agenda", action="store_true",
                   help="ics: leave the next check-in's agenda out of the event")

    s = sub.add_parser("remind", help="one line when a check-in is due (exit 0), else exit 1: "
                                      "for cron or a systemd timer")
    s.add_argument("--within", metavar="TIME", default="1h",
                   help="how far ahead counts as due: 30m, 1h, 1h30m, 2d (default 1h)")
    s.add_argument("--verbose", action="store_true",
                   help="also say when the next check-in is, when it is not due")

    s = sub.add_parser("search", help="full-text search")
    s.add_argument("query", nargs="*",  # (none: cmd_search says what to give; see
                   # _search_words_kept for how a `-word` stays a word)
                   help="words that must all match (the last as a prefix); A OR B; -WORD "
                        "to leave out; a phrase in double quotes inside single ones: "
                        "'\"field guide\"'")
    s.add_argument("--limit", type=int, default=50, metavar="N",
                   help="show at most N results (default 50)")
    s.add_argument("--json", action="store_true")

    s = sub.add_parser("conflicts", help="texts edited on two devices at once")
    s.add_argument("--json", action="store_true")

    s = sub.add_parser("quarantine", help="operations held back for a clock far ahead")
    s.add_argument("--release", metavar="REPLICA:SEQ",
                   help="apply one now (as listed), or `all` to apply every one")
    s.add_argument("--json", action="store_true")

    s = sub.add_parser("demo", help="open the app on a demo partnership")
    s.add_argument("--status", action="store_true", help="print its status instead of opening")
    s.add_argument("--seed", type=int, default=None)

    s = sub.add_parser("repair", help="rebuild a damaged journal into a new file")
    s.add_argument("-o", "--output", metavar="NEW",
                   help="where to write the rebuilt journal (default: NAME-repaired.db beside it)")

    s = sub.add_parser("backup", help="write a copy of the whole journal (private notes and "
                                      "keys included) to restore later")
    s.add_argument("-o", "--output", metavar="FILE", required=True, help="the backup file")
    s.add_argument("--passphrase", action="store_true",
                   help="seal it with a passphrase (asked, or $COMENTOR_PASSPHRASE)")

    s = sub.add_parser("restore", help="put a backup in place as this journal (a restored copy)")
    s.add_argument("file", metavar="FILE", help="a file written by `comentor backup`")
    s.add_argument("--force", action="store_true",
                   help="replace an existing journal (kept as NAME.before-restore)")

    s = sub.add_parser("review", help="where we started, where we are: baselines, goals, story, "
                                      "wins, commitments, asks, check-ins, time balance")
    s.add_argument("--since", metavar="DATE",
                   help="first day: YYYY-MM-DD or a time ago, like 1y (a year in review) or 6m "
                        "(default: the beginning)")
    s.add_argument("-o", "--output", metavar="FILE",
                   help="write FILE.md (Markdown) or FILE.html (one self-contained page) "
                        "instead of printing (- prints)")

    import importlib

    from . import _GROUPS

    for group in ("sync", "pair", "devices", "relay"):  # their modules import more: only if asked
        if commands is None or any(_GROUPS.get(name) == group for name in commands):
            importlib.import_module(f".{group}", __package__).add_parsers(sub)
    _journal_everywhere(real)
    return p


def add_first_run_arguments(s: Any, joining: bool = False) -> None:
    """The cadence and the peer checklist, asked at `init` and confirmed at `join` (on a
    terminal they are asked for when not given; without one these flags answer)."""
    keep = "default: your partner's" if joining else ""
    s.add_argument("--every", metavar="N",
                   help=f"check-in cadence: 3w, 21d, 2 weeks ({keep or 'default: 3w'})")
    s.add_argument("--at", metavar="HH:MM",
                   help=f"check-in time of day ({keep or 'default: 12:00'})")
    s.add_argument("--minutes", type=int, metavar="N",
                   help=f"check-in length ({keep or 'default: 30'})")
    s.add_argument("--zone", metavar="ZONE", help="IANA time zone of the check-in time, like "
                   "Europe/Berlin (" + (keep or "default: this machine's") + ")")
    s.add_argument("--tick", action="append", metavar="BOX",
                   help="tick a box of the peer checklist: outside_company, outside_market, "
                        "similar_stage, all or none (repeatable; what you tick is recorded)")


class _Sink:
    """Stands in for the parser of a command that is not being built: takes every call."""

    def __getattr__(self, name: str) -> Any:
        return lambda *args, **kwargs: self


class _Only:
    """The subparsers action, building only the named commands (the rest go to a sink)."""

    def __init__(self, real: Any, names: Collection[str]) -> None:
        self._real, self._names = real, names

    def add_parser(self, name: str, **kwargs: Any) -> Any:
        return self._real.add_parser(name, **kwargs) if name in self._names else _Sink()


class _Formatter(argparse.HelpFormatter):
    """argparse's formatter, measuring the terminal without importing shutil (which pulls in
    bz2 and lzma): argparse makes one for every argument added, help or not."""

    def __init__(self, prog: str, indent_increment: int = 2, max_help_position: int = 24,
                 width: int | None = None) -> None:
        super().__init__(prog, indent_increment, max_help_position,
                         _columns() - 2 if width is None else width)


@functools.cache
def _columns() -> int:
    """The terminal's width as shutil.get_terminal_size gives it: $COLUMNS, the terminal, 80
    (asked once: argparse makes a formatter for every argument)."""
    try:
        return int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        pass
    stdout = sys.__stdout__
    try:
        return (os.get_terminal_size(stdout.fileno()).columns or 80) if stdout else 80
    except (AttributeError, ValueError, OSError):
        return 80


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose help formatter (and its subcommands') is :class:`_Formatter`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", _Formatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        """One line, as every other error of ours: what is wrong and where the help is (the
        usage argparse prints first is most of a screen for `add`)."""
        self.exit(2, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")

    def parse_args(self, args: Any = None, namespace: Any = None) -> Any:
        """As argparse, but an argument no command takes is reported by the innermost
        command the line names, whose help says what it takes: `comentor add: error:
        unrecognized arguments: --bogus (see `comentor add --help`)`, not the top level's.
        (argparse does not say at which level a leftover was typed: `comentor --bogus add
        goal x` is reported by `add` too.)"""
        argv = _search_words_kept(list(sys.argv[1:] if args is None else args))
        parsed, extras = self.parse_known_args(argv, namespace)
        if extras:
            self._chosen(parsed).error("unrecognized arguments: " + " ".join(extras))
        return parsed

    def _chosen(self, parsed: argparse.Namespace) -> argparse.ArgumentParser:
        """The innermost subcommand's parser that `parsed` went through."""
        parser: argparse.ArgumentParser = self
        while True:
            subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
            name = getattr(parsed, subs[0].dest, None) if subs else None
            if not isinstance(name, str) or name not in subs[0].choices:
                return parser
            parser = subs[0].choices[name]


# the options of `search` (and whether each takes a value): every other `-word` is a word
_SEARCH_OPTIONS = {"--limit": True, "--json": False, "--journal": True, "--help": False,
                   "-h": False}


def _option(arg: str, options: Collection[str]) -> str | None:
    """The option `arg` names (`--lim` for `--limit`, as argparse takes an unambiguous
    start of one; `--limit=5` too), or None."""
    name = arg.split("=", 1)[0]
    if name in options:
        return name
    if not name.startswith("--") or len(name) < 3:
        return None
    found = [o for o in options if o.startswith(name)]
    return found[0] if len(found) == 1 else None


def _command_at(argv: list[str]) -> int | None:
    """Where the command is in `argv`: the first word that is not a top-level option."""
    at = 0
    while at < len(argv):
        if _option(argv[at], ("--journal",)) and "=" not in argv[at]:
            at += 2
        elif argv[at].startswith("-"):
            at += 1
        else:
            return at
    return None


def _search_words_kept(argv: list[str]) -> list[str]:
    """`comentor search field -trip --limit 5 guide`: after `search`, a `-word` is a word
    to leave out of the results, not an option. The options (and their values) go first
    and the words after a `--`, in the order typed, so argparse reads every word as one of
    the query's (also after an option, and a word that looks like one)."""
    at = _command_at(argv)
    if at is None or argv[at] != "search":
        return argv
    options: list[str] = []
    words: list[str] = []
    rest = iter(argv[at + 1:])
    for arg in rest:
        if arg == "--":  # what follows is words, as typed
            words.extend(rest)
            break
        name = _option(arg, _SEARCH_OPTIONS)
        if name is not None or arg.startswith("--"):  # an option, or one argparse refuses
            options.append(arg)
            if name is not None and _SEARCH_OPTIONS[name] and "=" not in arg:
                value = next(rest, None)  # its value (none: argparse says one is expected)
                if value is not None:
                    options.append(value)
        else:
            words.append(arg)
    return argv[:at + 1] + options + (["--", *words] if words else [])


def _journal_everywhere(sub: Any) -> None:
    """Accept --journal after the command too (`comentor list goal --journal X`).

    The subcommand's copy defaults to SUPPRESS, so it overrides the top-level value only
    when it is given.
    """
    for parser in sub.choices.values():
        if not any("--journal" in a.option_strings for a in parser._actions):
            parser.add_argument("--journal", metavar="PATH", default=argparse.SUPPRESS,
                                help="journal file (as before the command)")
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                _journal_everywhere(action)


def check_text_arguments(args: argparse.Namespace) -> None:
    """Refuse an argument that is not valid UTF-8 text, with one line naming it.

    Python hands such bytes over as lone surrogates ("surrogateescape"), which no text field
    can store: they would fail deep inside with a Python error. File names may hold any
    bytes, so the options that name files are left alone.
    """
    from comentor.model.errors import ValidationError

    for name, value in vars(args).items():
        if name in _PATHS:
            continue
        for text in value if isinstance(value, list) else [value]:
            if isinstance(text, str) and not _is_utf8(text):
                shown = text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
                raise ValidationError(f'"{shown}" is not valid UTF-8 text: set the terminal to '
                                      "UTF-8 (LANG=C.UTF-8) and type it again", option=name)


def _is_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
