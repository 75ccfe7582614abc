"""Capture and change items: init, add, list, done, drop, delete, undo-delete, edit.

Printing here; the rules (which status a kind closes with, defaults, validation) live in
the model. What only some commands use (the text helpers, `find_item`) loads in them, so
`add` pays for neither.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from comentor import model as m
from comentor.model import Journal
from comentor.model.errors import ValidationError

from .common import columns_left, journal_path, open_journal, out, text_arg
from .common import passphrase as ask_passphrase
from .parser import ADD_KINDS, ADD_OPTIONS

__all__ = ["HANDLERS"]


def cmd_init(args: argparse.Namespace) -> int:
    from ..text import one_line

    passphrase = None
    if args.lock:
        passphrase = ask_passphrase("New passphrase: ")
        if not passphrase:
            raise ValidationError("--lock needs a passphrase (COMENTOR_PASSPHRASE or a terminal)")
    path = journal_path(args)
    if path.is_dir():
        raise ValidationError(f"{path} is a folder: name a file for the journal, like "
                              f"{path / 'journal.db'}", option="journal")
    from .onboarding import check_first_run, first_run

    check_first_run(args)  # a bad --every or --tick: said before anything is created
    j = Journal.create(path, args.name, passphrase=passphrase)
    print(f"Created the journal for {one_line(args.name)} at {one_line(path)}")
    print(f"This device: {j.device_id}")
    first_run(args, j)  # the cadence and the peer checklist (asked on a terminal)
    print("Next: `comentor invite` to pair with your partner, or `comentor` to open the app.")
    j.close()
    return 0


def _check_add_options(kind: str, args: argparse.Namespace) -> None:
    """Refuse an unknown kind, or an option that the kind does not take (parser.ADD_OPTIONS
    says which take which), before anything is written: an option given with another kind
    is never dropped (a win added with --private would otherwise be shared)."""
    if kind not in (*ADD_KINDS, "talking-point"):
        raise ValidationError(f"unknown kind {args.kind!r}: add one of {', '.join(ADD_KINDS)}")
    for flag, kinds, options in ADD_OPTIONS:
        dest = options.get("dest") or flag[2:].replace("-", "_")
        value = getattr(args, dest, None)
        if value is None or value is False or kind in kinds:
            continue
        takes = " or ".join(_a(k) for k in kinds if k != "talking-point")
        raise ValidationError(f"{flag} does not apply to {_a(kind)}: it is for {takes}",
                              option=dest)


def _a(kind: str) -> str:
    """`kind` with its article, as a sentence names it ("an update", but "feedback")."""
    if kind == "feedback":
        return kind
    return ("an " if kind[0] in "aeiou" else "a ") + ("point" if kind == "talking-point" else kind)


def cmd_add(args: argparse.Namespace) -> int:
    kind = args.kind.lower()
    _check_add_options(kind, args)
    with open_journal(args) as j:
        text = text_arg(args)
        if kind == "goal":
            new = m.add_goal(j, text, horizon=args.horizon or "near", target=args.target)
        elif kind == "commitment":
            new = m.add_commitment(j, text, due=args.due, follow_up=args.follow_up)
        elif kind == "ask":
            new = m.add_ask(j, text, kind=args.ask_kind or "question", outcome=args.outcome)
            if m.is_vague(text, args.outcome):
                print("note: this ask has no concrete outcome; add one with "
                      f"`comentor edit {m.short_id(new)} --outcome TEXT`", file=sys.stderr)
        elif kind == "challenge":
            new = m.propose_challenge(j, text, due=args.due)
        elif kind == "win":
            new = m.add_win(j, text, date=args.date)
        elif kind == "note":
            new = m.add_note(j, text, private=args.private)
        elif kind == "update":
            if not args.goal:
                raise ValidationError("an update needs --goal ID")
            goal = m.find_item(j, args.goal, ("goals",))[1]
            new = m.add_update(j, goal, text, progress=args.progress)
        elif kind == "feedback":
            target_table, target_id = "", None
            if args.on is not None:
                if not args.on.strip():
                    raise ValidationError("--on is empty: give the id of a goal, ask or story, "
                                          "or leave --on out", option="on")
                target_table, target_id = m.find_item(j, args.on, ("goals", "asks", "stories"))
            new = m.add_feedback(j, text, kind=args.ask_kind or "perspective",
                                 target_table=target_table, target_id=target_id)
        elif kind == "story":
            new = m.write_story(j, text)
        elif kind == "skill":
            new = m.add_skill(j, text, direction="grow" if args.grow else "strength",
                              kind="experience" if args.experience else "skill")
        else:  # point or talking-point: _check_add_options refused every other word
            new = m.add_talking_point(j, text, shared=args.share)
        print(new)
    return 0


def _cell(value: Any, width: int) -> str:
    """One column of a list: on one line, inert, `width` terminal columns wide (cut with
    "…", or padded)."""
    from ..text import cell, one_line

    return cell(one_line(value or ""), width)


def cmd_list(args: argparse.Namespace) -> int:
    from ..text import clip, columns, one_line

    if args.deleted:
        return _list_deleted(args)
    with open_journal(args) as j:
        items = m.list_items(j, args.kind, all_=args.all)
        if args.json:
            out(items)
            return 0
        if not items:
            print(f"no {one_line(args.kind)} items"
                  + ("" if args.all else " open (--all shows every one)"))
        for it in items:
            extra = f" due {one_line(it['due'])}" if it.get("due") else ""
            flag = " [vague]" if it.get("vague") else ""
            text = clip(one_line(it["text"] or ""), columns_left(37 + columns(extra + flag)))
            print(f"{m.short_id(it['id'])}  {_cell(it.get('owner'), 14)}  {_cell(it['status'], 9)}  "
                  f"{text}{extra}{flag}")
    return 0


def _list_deleted(args: argparse.Namespace) -> int:
    """`list KIND --deleted`: what was deleted, by whom and when; each can come back."""
    from ..text import clip, counted, one_line

    with open_journal(args) as j:
        gone = m.deleted_items(j, args.kind)
    if args.json:
        out([d.as_dict() for d in gone])
        return 0
    if not gone:
        print(f"no deleted {one_line(args.kind)} items")
        return 0
    for d in gone:
        when = d.deleted_at[:16].replace("T", " ") if d.deleted_at else "on this device"
        print(f"{m.short_id(d.id)}  {_cell(d.owner, 14)}  deleted {when:16} by {_cell(d.deleted_by, 14)}"
              f"  {clip(one_line(d.text or ''), columns_left(70))}")
    print(f"bring one back: comentor undo-delete ID ({counted(len(gone), 'deleted item')})")
    return 0


def cmd_done_drop(args: argparse.Namespace) -> int:
    how: m.Close = "done" if args.command == "done" else "drop"
    with open_journal(args) as j:
        # every item is searched, so a prefix that fits a win and a goal is ambiguous,
        # and an id of an item that is not closed is told so (never "no item")
        table, row = m.find_item(j, args.id)
        status = m.close_item(j, table, row, how, args.result)
        print(f"{m.item_kind(table)} {m.short_id(row)} {status}")
    return 0


def cmd_delete(args: argparse.Namespace) -> int:
    with open_journal(args) as j:
        table, row = m.find_item(j, args.id)
        deleting = args.command == "delete"
        if deleting:
            m.delete_item(j, table, row)
        else:
            m.restore_item(j, table, row)
        verb = "deleted" if deleting else "restored"
        hint = f" (undo: comentor undo-delete {m.short_id(row)})" if deleting else ""
        print(f"{m.item_kind(table)} {m.short_id(row)} {verb}{hint}")
    return 0


def cmd_edit(args: argparse.Namespace) -> int:
    with open_journal(args) as j:
        table, row = m.find_item(j, args.id)
        text = text_arg(args)
        changes: dict[str, str | None] = {}
        if text:
            changes["text"] = text
        for name in ("due", "target", "date"):
            value = getattr(args, name, None)
            if value is None:
                continue
            if table == "wins" and name == "date" and not value.strip():
                raise ValidationError("a win keeps its date: give the day it happened",
                                      field="date")
            changes[name] = value  # "" clears a due or target date
        if args.outcome is not None:
            changes["outcome"] = args.outcome
        if args.answer:
            changes["answer"] = args.answer
        if not changes:
            raise ValidationError("nothing to change: give new text, --due, --target, --date, "
                                  "--outcome or --answer")
        try:
            m.edit_item(j, table, row, **changes)  # one operation: all of it, or none
        except ValidationError as exc:
            if exc.field("field") == "answer" and table != "asks":
                raise ValidationError(f"--answer is for asks; {m.short_id(row)} is "
                                      f"{m.item_kind(table, article=True)}", field="answer") from None
            raise
        print(f"{m.item_kind(table)} {m.short_id(row)} changed")
    return 0


HANDLERS: dict[str, Any] = {
    "init": cmd_init, "add": cmd_add, "list": cmd_list, "done": cmd_done_drop,
    "drop": cmd_done_drop, "delete": cmd_delete, "undo-delete": cmd_delete, "edit": cmd_edit,
}
