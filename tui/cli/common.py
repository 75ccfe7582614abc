"""What every command shares: where the journal is, opening it (asking for a passphrase
when the device key is sealed), and printing JSON. Imports nothing heavy."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from comentor.model import Journal
from comentor.model.errors import PassphraseError, ValidationError

if TYPE_CHECKING:
    import argparse  # the app's start has none (see main): the arguments' shape is enough

__all__ = ["journal_path", "given_journal", "default_dir", "open_journal", "passphrase", "out", "text_arg",
           "columns_left"]


def default_dir() -> Path:
    """The platform's user data directory for comentor."""
    import platformdirs

    return Path(platformdirs.user_data_dir("comentor", appauthor=False))


def given_journal(args: argparse.Namespace) -> str | None:
    """--journal as given, or None when it was left out; an empty one is refused."""
    given: str | None = getattr(args, "journal", None)
    if given is not None and not given.strip():
        raise ValidationError("--journal is empty: give the journal file's path, or leave "
                              "the option out to use the default journal", option="journal")
    return given


def journal_path(args: argparse.Namespace) -> Path:
    """--journal, then $COMENTOR_JOURNAL, then the platform's user data directory.

    An empty --journal is refused, never read as "not given": a script whose variable came
    out empty (`--journal "$J"`) would otherwise write to the default, real journal. An
    empty $COMENTOR_JOURNAL stays "not set", as shells write it (`COMENTOR_JOURNAL= cmd`);
    one of only spaces names no file anyone meant, and is refused too.
    """
    given = given_journal(args)
    env = os.environ.get("COMENTOR_JOURNAL")
    if not given and env and not env.strip():
        raise ValidationError("COMENTOR_JOURNAL holds only spaces: set it to the journal "
                              "file's path, or unset it to use the default journal",
                              option="journal")
    given = given or env
    if given:
        return Path(given).expanduser()
    return default_dir() / "journal.db"


def passphrase(prompt: str = "Passphrase: ",
               env: tuple[str, ...] = ("COMENTOR_PASSPHRASE",)) -> str | None:
    """The first of the `env` variables that is set, else a prompt when a terminal is there
    to answer, else None."""
    for name in env:
        value = os.environ.get(name)
        if value is not None:
            return value
    if sys.stdin.isatty():
        import getpass  # here: only a sealed key asks

        return getpass.getpass(prompt)
    return None


def open_journal(args: argparse.Namespace) -> Journal:
    """Open the journal the arguments name, unlocking a sealed device key if needed."""
    path = journal_path(args)
    try:
        return Journal.open(path)
    except PassphraseError:
        secret = passphrase()
        if secret is None:
            raise PassphraseError(
                "this device's key is locked: set COMENTOR_PASSPHRASE or run in a terminal"
            ) from None
        return Journal.open(path, passphrase=secret)


def out(obj: Any) -> None:
    """Print an object as indented JSON (dates and the like as strings); control characters
    are escaped (JSON escapes C0 itself; C1 too here), so item text never drives a terminal."""
    import json  # here: only --json prints it

    from ..text import escape_controls

    print(escape_controls(json.dumps(obj, indent=2, ensure_ascii=False, default=str), json=True))


def text_arg(args: argparse.Namespace) -> str:
    """The TEXT words of a command, joined."""
    return " ".join(args.text).strip()


def columns_left(used: int) -> int | None:
    """How many columns the last field of a line may take when the output is a terminal:
    its width less the `used` columns before it (at least 20). None when the output goes
    to a pipe or a file, which keeps every line whole for grep (``--json`` for programs)."""
    try:
        if not os.isatty(sys.stdout.fileno()):
            return None
        width = os.get_terminal_size(sys.stdout.fileno()).columns
    except (OSError, ValueError, AttributeError):  # no real stdout (captured, closed)
        return None
    given = os.environ.get("COLUMNS", "")
    return max(20, (int(given) if given.isdigit() else width) - used)
