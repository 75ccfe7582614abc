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

from ..text import counted, one_line
from .common import journal_path

__all__ = ["HANDLERS", "describe_items", "describe_local"]

# tables every journal has a row or two of, or that only support others: not "items"
_BOOKKEEPING = ("partnership", "people", "devices", "schedule", "key_grants", "session_items",
                "text_updates", "timer_events")
_LOCAL_NAMES = {"private_notes": "private notes", "talking_point_drafts": "draft talking points",
                "settings": "settings", "local_meta": "journal settings",
                "local_keys": "this device's keys", "local_secrets": "the partnership key"}


def describe_items(items: dict[str, int]) -> str:
    """The items a journal holds, per kind, in one line (bookkeeping rows left out)."""
    return ", ".join(counted(n, _singular(table), table.replace("_", " "))
                     for table, n in items.items() if table not in _BOOKKEEPING) or "no items"


def _singular(table: str) -> str:
    """One row of a table, named: "goals" -> "goal", "stories" -> "story"."""
    name = table.replace("_", " ")
    if name.endswith("ies"):
        return name[:-3] + "y"
    return name[:-1] if name.endswith("s") else name


def describe_local(local: dict[str, int]) -> str:
    """The local-only data a journal holds (rows per local table), in one line."""
    notes = local.get("private_notes", 0)
    drafts = local.get("talking_point_drafts", 0)
    keys = "this device's keys" if local.get("local_keys", 1) else "no device keys"
    secret = ", the partnership key" if local.get("local_secrets") else ""
    return (f"{keys}{secret}, {counted(notes, 'private note')}, "
            f"{counted(drafts, 'draft talking point')}, "
            f"{counted(local.get('settings', 0), 'setting')}")


def cmd_repair(args: argparse.Namespace) -> int:
    source = journal_path(args)
    report = m.repair_journal(source, args.output)
    new = report.target
    if report.verdict == "ok":
        print(f"{one_line(source)} passes SQLite's check; rebuilt it anyway into {one_line(new)}")
    else:
        print(f"Rebuilt {one_line(source)} into {one_line(new)} (the damaged file is left as it was)")
    print(f"Recovered {counted(report.operations, 'operation')}, each signed by its device "
          f"and verified: {describe_items(report.items)}")
    if report.held:
        print(f"Kept {counted(report.held, 'held-back operation')} (comentor quarantine)")
    print(f"Local data: {describe_local(report.local)}")
    if report.missing:
        print(f"Not recovered: {counted(report.missing, 'operation')} the journal had counted; "
              "a sync with your partner brings back every one they hold")
    if report.rejected:
        print(f"Left out: {counted(report.rejected, 'damaged operation')} whose signature "
              "no longer verifies")
    if report.lost:
        print("Could not read: " + ", ".join(_LOCAL_NAMES.get(t, t) for t in report.lost))
    if not report.local.get("local_secrets"):
        print("The partnership key was not recovered: pair with your partner again to sync")
    print(f"Next: look at it (comentor list goal --journal {one_line(new)}), then move the "
          f"damaged file aside and put {one_line(new.name)} in its place; then sync with your "
          "partner")
    return 0


HANDLERS: dict[str, Any] = {"repair": cmd_repair}
