"""`comentor backup` and `comentor restore`: a copy of the whole journal, and getting it back.

The model does the work (see model/_backup.py): a consistent copy through SQLite's backup
API, private notes and keys included, optionally sealed with a passphrase; a restore puts
it in place as a copy that writes under a new replica id, and keeps any journal it replaces
beside it. These handlers ask for passphrases and say what happened.
"""

from __future__ import annotations

import argparse
import os
from typing import Any

from comentor import model as m
from comentor.model.errors import PassphraseError, ValidationError

from ..text import one_line
from .common import journal_path
from .common import passphrase as ask_passphrase
from .repair import describe_items, describe_local

__all__ = ["HANDLERS"]

_ENV = "COMENTOR_PASSPHRASE"
# a backup's own passphrase, when it differs from the device key's (a cron job backing up
# a locked journal needs both): else $COMENTOR_PASSPHRASE answers for the backup too
_BACKUP_ENV = "COMENTOR_BACKUP_PASSPHRASE"
_ENVS = {"backup": (_BACKUP_ENV, _ENV), "device": (_ENV,)}
_PROMPTS = {"backup": "Passphrase of the backup: ", "device": "Passphrase of this device's key: "}


def _new_passphrase() -> str:
    """The passphrase to seal a backup with: $COMENTOR_BACKUP_PASSPHRASE, else
    $COMENTOR_PASSPHRASE, else typed twice."""
    secret = ask_passphrase("Passphrase for the backup: ", _ENVS["backup"])
    if secret is None:
        raise PassphraseError(f"--passphrase needs a passphrase: set {_BACKUP_ENV} (or "
                              f"{_ENV}) or run in a terminal")
    if not secret:
        raise ValidationError("an empty passphrase seals nothing: nothing was written",
                              option="passphrase")
    typed = not any(name in os.environ for name in _ENVS["backup"])
    if typed and ask_passphrase("The same passphrase again: ") != secret:
        raise ValidationError("the two passphrases differ: nothing was written",
                              option="passphrase")
    return secret


def _ask(what: str) -> str | None:
    secret = ask_passphrase(_PROMPTS.get(what, "Passphrase: "), _ENVS.get(what, (_ENV,)))
    if secret is None:
        sealed = "the backup is sealed" if what == "backup" else "its device key is locked"
        raise PassphraseError(f"{sealed}: set {_ENVS.get(what, (_ENV,))[0]} or run in a "
                              "terminal")
    return secret


def _size(n: int) -> str:
    return f"{n / 1024 / 1024:.1f} MB" if n >= 1024 * 1024 else f"{max(1, round(n / 1024))} KB"


def cmd_backup(args: argparse.Namespace) -> int:
    source = journal_path(args)
    if args.output == "-":
        raise ValidationError("a backup is written to a file: name one with -o (only an "
                              "export writes to standard output)", option="output")
    secret = _new_passphrase() if args.passphrase else None
    report = m.backup_journal(source, args.output, passphrase=secret)
    how = "sealed with a passphrase" if report.sealed else "not sealed"
    print(f"Backed up {one_line(source)} to {one_line(report.target)} ({_size(report.size)}, {how})")
    print(f"It holds {describe_items(report.items)}; {describe_local(report.local)}")
    if not report.sealed:
        print("Anyone who has this file can read your private notes and use this device's "
              "keys: keep it where only you can read it, or back up with --passphrase")
    print(f"To bring it back: comentor restore {one_line(report.target)}")
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    target = journal_path(args)
    report = m.restore_backup(args.file, target, ask=_ask, force=args.force)
    made = f", made {report.made_at}" if report.made_at else ""
    print(f"Restored {one_line(report.source)}{made} to {one_line(report.target)}: "
          f"{one_line(report.person)}'s journal on {one_line(report.device)}")
    print(f"It holds {describe_items(report.items)}; {describe_local(report.local)}")
    if report.before is not None:
        print(f"The journal it replaced is kept as {one_line(report.before)}")
    print(f"This copy writes under a new replica id ({report.replica}), so nothing it writes "
          "can clash with what this device wrote after the backup")
    print("Next: sync with your partner (comentor sync, sync-folder or sync-relay) to bring "
          "back everything that changed since the backup")
    return 0


HANDLERS: dict[str, Any] = {"backup": cmd_backup, "restore": cmd_restore}
