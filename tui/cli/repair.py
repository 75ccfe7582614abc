"""`comentor repair`: rebuild a damaged journal into a new file, and say what came back.

The model does the work (see model/_repair.py): it reads a copy of the damaged journal,
keeps every operation whose signature verifies, copies the local-only data it can read and
replays it all into a new file. The damaged file is never touched; putting the new file in
its place is left to the user, after a look at it.
"""

from __future__ import annotations

import argparse
from typing import Any

from comentor import model as m

from .common import journal_path

__all__ = ["HANDLERS"]

# tables every journal has a row or two of, or that only support others: not "items"
_BOOKKEEPING = ("partnership", "people", "devices", "schedule", "key_grants", "session_items",
                "text_updates", "timer_events")
_LOCAL_NAMES = {"private_notes": "private notes", "talking_point_drafts": "draft talking points",
                "settings": "settings", "local_meta": "journal settings",
                "local_keys": "this device's keys", "local_secrets": "the partnership key"}


def _plural(n: int, what: str) -> str:
    return f"{n} {what}" if n == 1 else f"{n} {what}s"


def cmd_repair(args: argparse.Namespace) -> int:
    source = journal_path(args)
    report = m.repair_journal(source, args.output)
    new = report.target
    if report.verdict == "ok":
        print(f"{source} passes SQLite's check; rebuilt it anyway into {new}")
    else:
        print(f"Rebuilt {source} into {new} (the damaged file is left as it was)")
    items = ", ".join(f"{n} {table.replace('_', ' ')}" for table, n in report.items.items()
                      if table not in _BOOKKEEPING) or "no items"
    print(f"Recovered {_plural(report.operations, 'operation')}, each signed by its device "
          f"and verified: {items}")
    if report.held:
        print(f"Kept {_plural(report.held, 'held-back operation')} (comentor quarantine)")
    notes = report.local.get("private_notes", 0)
    drafts = report.local.get("talking_point_drafts", 0)
    secret = ", the partnership key" if report.local.get("local_secrets") else ""
    print(f"Local data: this device's keys{secret}, {_plural(notes, 'private note')}, "
          f"{_plural(drafts, 'draft talking point')}, {_plural(report.local.get('settings', 0), 'setting')}")
    if report.missing:
        print(f"Not recovered: {_plural(report.missing, 'operation')} the journal had counted; "
              "a sync with your partner brings back every one they hold")
    if report.rejected:
        print(f"Left out: {_plural(report.rejected, 'damaged operation')} whose signature "
              "no longer verifies")
    if report.lost:
        print("Could not read: " + ", ".join(_LOCAL_NAMES.get(t, t) for t in report.lost))
    if not report.local.get("local_secrets"):
        print("The partnership key was not recovered: pair with your partner again to sync")
    print(f"Next: look at it (comentor list goal --journal {new}), then move the damaged file "
          f"aside and put {new.name} in its place; then sync with your partner")
    return 0


HANDLERS: dict[str, Any] = {"repair": cmd_repair}
