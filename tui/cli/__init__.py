"""The `comentor` command line: quick capture and scripting, in the manner of jrnl and git.

`parser` builds the arguments; each command group lives in its own module (`items`,
`reports`, `open_app`, `sync`, `pair`, `relay`), imported only when one of its commands
runs, so `comentor add` never loads asyncio, the network stack or Textual. Every failure the
user can cause ends with one line on stderr and a non-zero exit; no traceback reaches the
terminal unless COMENTOR_DEBUG is set.
"""

from __future__ import annotations

import errno
import gc
import importlib
import os
import sys
from collections.abc import Sequence
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import argparse

    from comentor.model.errors import ComentorError

__all__ = ["main", "commands_named", "app_arguments"]

# which module handles each command (None: no command, open the app)
_GROUPS: dict[str | None, str] = {
    **dict.fromkeys(("init", "add", "list", "done", "drop", "delete", "undo-delete", "edit"),
                    "items"),
    **dict.fromkeys(("status", "schedule", "export", "search", "conflicts", "quarantine"),
                    "reports"),
    **dict.fromkeys(("demo", None), "open_app"),
    **dict.fromkeys(("serve", "sync"), "sync"),
    **dict.fromkeys(("invite", "join"), "pair"),
    "devices": "devices",
    **dict.fromkeys(("relay", "folder", "sync-relay", "sync-folder"), "relay"),
    "repair": "repair",
    "review": "review",
    "remind": "remind",
    **dict.fromkeys(("backup", "restore"), "backup"),
}

# groups whose commands run on one thread, start to end, and should start fast
_QUICK = frozenset({"items", "reports", "remind"})


def commands_named(argv: Sequence[str]) -> frozenset[str] | None:
    """The command `argv` names, as the set of parsers to build: empty when it names none (the
    app opens), None (build them all) when it asks for help, or names a command or an option
    this quick look does not know: the whole parser then answers, with its usual words.
    (Here, not in parser.py: `main` asks before argparse is loaded; see deferred.py.)"""
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--journal":
            i += 2
        elif arg.startswith("--journal="):
            i += 1
        elif arg.startswith("-"):
            return None
        else:
            return frozenset({arg}) if arg in _GROUPS else None
    return frozenset()


def app_arguments(argv: Sequence[str]) -> SimpleNamespace | None:
    """The arguments of a command line that only opens the app (`comentor`, `comentor
    --journal PATH`, `comentor --journal=PATH`), as argparse would give them; None for any
    other shape (help, a command, a mistake: the parser answers those, with its usual words).

    The app's start skips argparse (its import, with gettext, and the parser's build: some
    3 ms of CPU before the first frame), not its answers: a value that looks like an option after
    `--journal ` is left to argparse, which refuses it as before. PATH is any bytes (file
    names are never checked as text)."""
    if not argv:
        return SimpleNamespace(command=None, journal=None)
    if len(argv) == 1 and argv[0].startswith("--journal="):
        return SimpleNamespace(command=None, journal=argv[0].partition("=")[2])
    if len(argv) == 2 and argv[0] == "--journal" and not argv[1].startswith("-"):
        return SimpleNamespace(command=None, journal=argv[1])
    return None


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns the process exit status."""
    given = sys.argv[1:] if argv is None else argv
    args: Any = app_arguments(given)
    quick = False
    collecting = gc.isenabled()
    if args is not None:
        # The app: no collection until its first frame (run_app turns the collector back on
        # after it): what loads by then (the model, Textual) lives as long as the process,
        # and the collector's passes over it while it loads are wasted (see bench/startup.py).
        gc.disable()
    else:
        commands = commands_named(given)
        quick = bool(commands) and all(_GROUPS[name] in _QUICK for name in commands or ())
        if quick:
            from .deferred import defer

            defer()  # before argparse and the model are imported: see deferred.py
        from .parser import build_parser

        args = build_parser(commands).parse_args(argv)
    from comentor.model.errors import ComentorError

    try:
        if args.command is not None:
            from .parser import check_text_arguments

            check_text_arguments(args)  # bytes that are not UTF-8: one line, not a Python error
        module = importlib.import_module(f".{_GROUPS[args.command]}", __name__)
        result: int = module.HANDLERS[args.command](args)
        if quick and result == 0 and argv is None:  # this process's own command, done
            from .deferred import spare_exit_collection

            spare_exit_collection()
        return result
    except ComentorError as exc:
        from .wording import word

        print(f"comentor: {word(exc)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("comentor: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except OSError as exc:
        reason = _OUTPUT_ERRORS.get(exc.errno or 0)
        if reason is None or os.environ.get("COMENTOR_DEBUG"):
            return _unexpected(exc, args)
        _drop_stdout()  # what is still buffered would fail again as the process exits
        print(f"comentor: cannot write: {reason}", file=sys.stderr)
        return 1
    except Exception as exc:  # last line of defence: one line, never a traceback
        return _unexpected(exc, args)
    finally:
        if collecting:
            gc.enable()


# errors of writing the output (stdout full, a failing disk or pipe), in words
_OUTPUT_ERRORS = {errno.ENOSPC: "the disk is full", errno.EDQUOT: "the disk quota is used up",
                  errno.EFBIG: "the file would be too large", errno.EIO: "an input/output error"}


def _unexpected(exc: Exception, args: Any) -> int:
    """The last line of defence: one line, never a traceback (with COMENTOR_DEBUG, the
    traceback)."""
    if os.environ.get("COMENTOR_DEBUG"):
        raise exc
    known = _journal_state(exc, args)
    if known is not None:  # SQLite's error about the journal file, told by its code
        from .wording import word

        print(f"comentor: {word(known)}", file=sys.stderr)
        return 1
    print(f"comentor: unexpected error: {type(exc).__name__}: {exc}", file=sys.stderr)
    return 70


def _drop_stdout() -> None:
    """Point stdout at /dev/null, so that the interpreter's final flush of what could not
    be written does not print a second, Python-worded error."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):  # no real stdout (a test's capture)
        pass


def _journal_state(exc: Exception, args: argparse.Namespace) -> ComentorError | None:
    """A SQLite error that escaped the journal's own translation (damaged, full disk,
    read-only, locked), as the journal's error; None for anything else."""
    import sqlite3

    if not isinstance(exc, sqlite3.DatabaseError):
        return None
    from comentor.model import explain_sqlite_error
    from comentor.model.errors import ValidationError

    from .common import journal_path

    try:
        path = journal_path(args)
    except ValidationError:  # an empty --journal: not a journal's error to explain
        return None
    return explain_sqlite_error(exc, path)
