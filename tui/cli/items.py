"""Capture and change items: init, add, list, done, drop, delete, undo-delete, edit.

Printing here; the rules (which status a kind closes with, defaults, validation) live in
the model.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from comentor.model import _entities as e
from comentor.model import _queries as queries
from comentor.model._find import find_item
from comentor.model._journal import Journal
from comentor.model.errors import ValidationError

from .common import journal_path, open_journal, out, text_arg
from .common import passphrase as ask_passphrase

__all__ = ["HANDLERS"]


def cmd_init(args: argparse.Namespace) -> int:
    passphrase = None
    if args.lock:
        passphrase = ask_passphrase("New passphrase: ")
        if not passphrase:
            raise ValidationError("--lock needs a passphrase (COMENTOR_PASSPHRASE or a terminal)")
    path = journal_path(args)
    j = Journal.create(path, args.name, passphrase=passphrase)
    print(f"Created the journal for {args.name} at {path}")
    print(f"This device: {j.device_id}")
    print("Next: `comentor invite` to pair with your partner, or `comentor` to open the app.")
    j.close()
    return 0


def cmd_add(args: argparse.Namespace) -> int:
    kind = args.kind.lower()
    with open_journal(args) as j:
        text = text_arg(args)
        if kind == "goal":
            new = e.add_goal(j, text, horizon=args.horizon, target=args.target)
        elif kind == "commitment":
            new = e.add_commitment(j, text, due=args.due, follow_up=args.follow_up)
        elif kind == "ask":
            new = e.add_ask(j, text, kind=args.ask_kind or "question", outcome=args.outcome)
            if e.is_vague(text, args.outcome):
                print("note: this ask has no concrete outcome; add one with "
                      f"`comentor edit {new[:8]} --outcome TEXT`", file=sys.stderr)
        elif kind == "challenge":
            new = e.propose_challenge(j, text, due=args.due)
        elif kind == "win":
            new = e.add_win(j, text, date=args.date)
        elif kind == "note":
            new = e.add_note(j, text, private=args.private)
        elif kind == "update":
            if not args.goal:
                raise ValidationError("an update needs --goal ID")
            goal = find_item(j, args.goal, ("goals",))[1]
            new = e.add_update(j, goal, text, progress=args.progress)
        elif kind == "feedback":
            target_table, target_id = "", None
            if args.on:
                target_table, target_id = find_item(j, args.on, ("goals", "asks", "stories"))
            new = e.add_feedback(j, text, kind=args.ask_kind or "perspective",
                                 target_table=target_table, target_id=target_id)
        elif kind == "story":
            new = e.write_story(j, text)
        elif kind == "skill":
            new = e.add_skill(j, text, direction="grow" if args.grow else "strength",
                              kind="experience" if args.experience else "skill")
        elif kind in ("point", "talking-point"):
            new = e.add_talking_point(j, text, shared=args.share)
        else:
            raise ValidationError(f"unknown kind {args.kind!r}: add one of "
                                  "goal, commitment, ask, challenge, win, note, update, feedback, "
                                  "story, skill, point")
        print(new)
    return 0


def _short(value: Any, width: int) -> str:
    text = str(value or "")
    return text if len(text) <= width else text[: width - 1] + "…"


def cmd_list(args: argparse.Namespace) -> int:
    with open_journal(args) as j:
        items = queries.list_items(j, args.kind, all_=args.all)
        if args.json:
            out(items)
            return 0
        if not items:
            print(f"no {args.kind} items" + ("" if args.all else " open (--all shows every one)"))
        for it in items:
            extra = f" due {it['due']}" if it.get("due") else ""
            flag = " [vague]" if it.get("vague") else ""
            print(f"{it['id'][:8]}  {_short(it.get('owner'), 14):14}  {_short(it['status'], 9):9}  "
                  f"{_short(it['text'], 70)}{extra}{flag}")
    return 0


_DONE = {"commitments": "done", "goals": "met", "challenges": "done", "asks": "closed"}
_DROP = {"commitments": "dropped", "goals": "dropped", "challenges": "declined", "asks": "closed"}


def cmd_done_drop(args: argparse.Namespace) -> int:
    table_map = _DONE if args.command == "done" else _DROP
    with open_journal(args) as j:
        table, row = find_item(j, args.id, tuple(table_map))
        status = table_map[table]
        if table == "commitments":
            e.close_commitment(j, row, status, args.result)
        elif table == "goals":
            e.set_goal_status(j, row, status)
        elif table == "challenges":
            if status == "done":
                e.complete_challenge(j, row, args.result)
            else:
                e.respond_challenge(j, row, False)
        else:
            e.close_ask(j, row)
        print(f"{table.rstrip('s')} {row[:8]} {status}")
    return 0


def cmd_delete(args: argparse.Namespace) -> int:
    with open_journal(args) as j:
        table, row = find_item(j, args.id)
        deleting = args.command == "delete"
        if table == "private_notes":
            j.set_private_note_deleted(row, deleting)
        elif deleting:
            j.delete(table, row)
        else:
            j.undelete(table, row)
        verb = "deleted" if deleting else "restored"
        hint = f" (undo: comentor undo-delete {row[:8]})" if deleting else ""
        print(f"{table.rstrip('s')} {row[:8]} {verb}{hint}")
    return 0


def cmd_edit(args: argparse.Namespace) -> int:
    with open_journal(args) as j:
        table, row = find_item(j, args.id)
        text = text_arg(args)
        if table == "private_notes":
            j.edit_private_note(row, text)
            return 0
        fields: dict[str, Any] = {}
        if text:
            fields["text"] = text
        if args.due:
            from comentor.model._dates import parse_date

            fields["due"] = parse_date(args.due, j.today()).isoformat()
        if args.outcome is not None:
            fields["outcome"] = args.outcome
        if args.answer:
            if table != "asks":
                raise ValidationError(f"--answer is for asks; {row[:8]} is a {table.rstrip('s')}")
            fields.update(answer=args.answer.strip(), status="answered", answered_by=j.me,
                          answered_at=j.now_iso())
        if not fields:
            raise ValidationError("nothing to change: give new text, --due, --outcome or --answer")
        j.put(table, row, **fields)  # one operation: all of it, or (on a bad field) none
        print(f"{table.rstrip('s')} {row[:8]} changed")
    return 0


HANDLERS: dict[str, Any] = {
    "init": cmd_init, "add": cmd_add, "list": cmd_list, "done": cmd_done_drop,
    "drop": cmd_done_drop, "delete": cmd_delete, "undo-delete": cmd_delete, "edit": cmd_edit,
}
