"""The argument parser of the `comentor` command line (built without importing any handler).

Only `comentor` (no command) and `comentor demo` import Textual, and only when they open the
app, so every other command starts fast. Every failure the user can cause ends with a
one-line message on stderr and a non-zero exit; no traceback reaches the terminal unless
COMENTOR_DEBUG is set.
"""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["build_parser", "ADD_KINDS", "check_text_arguments"]

# arguments that name files: any bytes the file system allows are fine there
_PATHS = frozenset({"journal", "output", "data", "dir", "file"})

ADD_KINDS = ("goal", "commitment", "ask", "challenge", "win", "note", "update", "feedback",
             "story", "skill", "point")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="comentor",
        description="A private, end-to-end encrypted workspace for two co-mentors.",
    )
    p.add_argument("--journal", metavar="PATH",
                   help="journal file (default: $COMENTOR_JOURNAL or the user data directory)")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    s = sub.add_parser("init", help="create a journal for you and this device")
    s.add_argument("--name", required=True, help="your name, as your partner will see it")
    s.add_argument("--lock", action="store_true", help="seal the device key with a passphrase")

    s = sub.add_parser("add", help="add an item: " + ", ".join(ADD_KINDS))
    s.add_argument("kind", metavar="KIND", help=", ".join(ADD_KINDS))
    s.add_argument("text", metavar="TEXT", nargs="+")
    s.add_argument("--horizon", choices=["near", "long"], default="near", help="goal horizon")
    s.add_argument("--target", metavar="DATE", help="goal target date")
    s.add_argument("--due", metavar="DATE", help="due date: YYYY-MM-DD, tomorrow, +2w, friday")
    s.add_argument("--follow-up", metavar="TEXT", help="the question to ask at the next check-in")
    s.add_argument("--kind", dest="ask_kind", metavar="KIND",
                   help="ask: introduction|project|question|feedback|other; "
                        "feedback: perspective|suggestion|push")
    s.add_argument("--outcome", metavar="TEXT", help="ask: the concrete outcome you want")
    s.add_argument("--private", action="store_true", help="note: keep it on this device only")
    s.add_argument("--goal", metavar="ID", help="update: the goal it is about")
    s.add_argument("--progress", type=int, metavar="PERCENT", help="update: progress 0-100")
    s.add_argument("--on", metavar="ID", help="feedback: the goal, ask or story it is about")
    s.add_argument("--date", metavar="DATE", help="win: when it happened (default today)")
    s.add_argument("--grow", action="store_true", help="skill: one you want to grow")
    s.add_argument("--experience", action="store_true", help="skill: an experience, not a skill")
    s.add_argument("--share", action="store_true", help="point: share it with your partner now")

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
    s.add_argument("--due", metavar="DATE", help="commitment or challenge: its due date")
    s.add_argument("--target", metavar="DATE", help="goal: its target date")
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
    t = ssub.add_parser("show", help="show the cadence and the next dates")
    t.add_argument("--json", action="store_true")

    s = sub.add_parser("export", help="export as Markdown, JSON or iCalendar")
    s.add_argument("format", choices=["md", "json", "ics"])
    s.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of stdout")
    s.add_argument("--private", action="store_true", help="include private notes")

    s = sub.add_parser("search", help="full-text search")
    s.add_argument("query", nargs="+")
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

    from . import devices, pair, relay, sync

    sync.add_parsers(sub)
    pair.add_parsers(sub)
    devices.add_parsers(sub)
    relay.add_parsers(sub)
    _journal_everywhere(sub)
    return p


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
