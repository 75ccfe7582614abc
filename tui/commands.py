"""What each non-interactive command does; printing here, logic in the model."""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from pathlib import Path
from typing import Any

from comentor.model import entities as e
from comentor.model import queries, schedule
from comentor.model.errors import JournalError, PassphraseError, ValidationError
from comentor.model.find import find_item
from comentor.model.journal import Journal
from comentor.sync.errors import SyncError

__all__ = ["dispatch", "ERRORS", "journal_path", "open_journal"]

ERRORS = (JournalError, SyncError)


def journal_path(args: argparse.Namespace) -> Path:
    """--journal, then $COMENTOR_JOURNAL, then the platform's user data directory."""
    given = getattr(args, "journal", None) or os.environ.get("COMENTOR_JOURNAL")
    if given:
        return Path(given).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir("comentor", appauthor=False)) / "journal.db"


def _passphrase(prompt: str = "Passphrase: ") -> str | None:
    env = os.environ.get("COMENTOR_PASSPHRASE")
    if env is not None:
        return env
    if sys.stdin.isatty():
        return getpass.getpass(prompt)
    return None


def open_journal(args: argparse.Namespace) -> Journal:
    path = journal_path(args)
    try:
        return Journal.open(path)
    except PassphraseError:
        secret = _passphrase()
        if secret is None:
            raise PassphraseError(
                "this device's key is locked: set COMENTOR_PASSPHRASE or run in a terminal"
            ) from None
        return Journal.open(path, passphrase=secret)


def _out(obj: Any) -> None:
    print(json.dumps(obj, indent=2, ensure_ascii=False, default=str))


def cmd_init(args: argparse.Namespace) -> int:
    passphrase = None
    if args.lock:
        passphrase = _passphrase("New passphrase: ")
        if not passphrase:
            raise ValidationError("--lock needs a passphrase (COMENTOR_PASSPHRASE or a terminal)")
    path = journal_path(args)
    j = Journal.create(path, args.name, passphrase=passphrase)
    print(f"Created the journal for {args.name} at {path}")
    print(f"This device: {j.device_id}")
    print("Next: `comentor invite` to pair with your partner, or `comentor` to open the app.")
    j.close()
    return 0


def _text(args: argparse.Namespace) -> str:
    return " ".join(args.text).strip()


def cmd_add(args: argparse.Namespace) -> int:
    kind = args.kind.lower()
    with open_journal(args) as j:
        text = _text(args)
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
            _out(items)
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
        text = _text(args)
        if table == "private_notes":
            j.edit_private_note(row, text)
            return 0
        fields: dict[str, Any] = {}
        if text:
            fields["text"] = text
        if args.due:
            from comentor.model.dates import parse_date

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


def cmd_status(args: argparse.Namespace) -> int:
    with open_journal(args) as j:
        st = queries.status(j)
        if args.json:
            _out(st)
            return 0
        nxt = schedule.next_checkin(j)
        print(f"Next check-in: {nxt.describe(j.today())}")
        print(f"Cadence: {st['cadence']}")
        partner = st["partner"] or "not paired yet (comentor invite)"
        print(f"Partner: {partner}")
        for person, counts in st["open"].items():
            print(f"{person}: {counts['commitments']} open commitments, {counts['asks']} open asks, "
                  f"{counts['goals']} goals, {counts['challenges']} challenges")
        if st["conflicts"]:
            print(f"{st['conflicts']} conflicts to look at (comentor conflicts)")
        if st["quarantined"]:
            print(f"{st['quarantined']} operations held back (comentor quarantine)")
    return 0


def cmd_schedule(args: argparse.Namespace) -> int:
    with open_journal(args) as j:
        if args.action == "set":
            cad = schedule.set_cadence(j, every=args.every, at=args.at, minutes=args.minutes)
            print(f"Check-ins {cad.describe()}")
            return 0
        cad = schedule.cadence(j)
        nxt = schedule.next_checkin(j)
        dates = schedule.upcoming(j)
        if getattr(args, "json", False):
            _out({"every_days": cad.every_days, "at": cad.at, "minutes": cad.minutes,
                  "next": nxt.due.isoformat(timespec="minutes"), "drift": nxt.state,
                  "upcoming": [d.isoformat(timespec="minutes") for d in dates]})
            return 0
        print(f"Check-ins {cad.describe()}")
        print(f"Next: {nxt.describe(j.today())}")
        for d in dates[1:]:
            print(f"  then {d.strftime('%a %d %b %Y %H:%M')}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from comentor.model import export

    with open_journal(args) as j:
        if args.format == "ics":
            data = export.export_ics(j)
        elif args.format == "json":
            data = export.export_json(j, private=args.private).encode("utf-8")
        else:
            data = export.export_markdown(j, private=args.private).encode("utf-8")
    if args.output:
        out = Path(args.output)
        tmp = out.with_name(out.name + ".tmp")
        try:
            tmp.write_bytes(data)
            os.replace(tmp, out)
        except OSError as exc:
            raise ValidationError(f"cannot write {out}: {exc.strerror}") from None
        print(f"wrote {out}")
    else:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    from comentor.model.search import search

    with open_journal(args) as j:
        hits = search(j, " ".join(args.query))
        if args.json:
            _out([{"table": h.table, "id": h.row, "snippet": h.snippet} for h in hits])
            return 0
        if not hits:
            print("no matches")
        for h in hits:
            print(f"{h.row[:8]}  {h.table:14}  {h.snippet}")
    return 0


def cmd_conflicts(args: argparse.Namespace) -> int:
    from comentor.model.remote import conflicts

    with open_journal(args) as j:
        found = conflicts(j)
        if args.json:
            _out([c.__dict__ for c in found])
            return 0
        if not found:
            print("no conflicts")
        for c in found:
            print(f"{c.row[:8]} {c.table}.{c.field}\n  kept:  {c.winner}")
            for other in c.others:
                print(f"  other: {other}")
    return 0


def cmd_quarantine(args: argparse.Namespace) -> int:
    from comentor.model import remote

    with open_journal(args) as j:
        if args.release:
            replica, _, seq = args.release.rpartition(":")
            if not replica or not seq.isdigit():
                raise ValidationError("give the operation as REPLICA:SEQ, as listed")
            remote.release(j, replica, int(seq))
            print(f"released {args.release}")
            return 0
        held = remote.quarantined(j)
        if args.json:
            _out([{"op": f"{o.replica}:{o.seq}", "table": o.table, "row": o.row,
                   "fields": {k: v for k, v in o.fields.items() if not isinstance(v, bytes)}}
                  for o in held])
            return 0
        if not held:
            print("nothing held back")
        for o in held:
            print(f"{o.replica}:{o.seq}  {o.table} {o.row[:8]}  stamped far in the future")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from comentor.model.demo import DEMO_SEED, create_demo

    path = journal_path(args) if (args.journal or os.environ.get("COMENTOR_JOURNAL")) else None
    if path is None:
        import platformdirs

        path = Path(platformdirs.user_data_dir("comentor", appauthor=False)) / "demo.db"
    if not path.exists():
        create_demo(path, seed=args.seed if args.seed is not None else DEMO_SEED).close()
    if args.status:
        args.journal = str(path)
        args.json = False
        return cmd_status(args)
    return _open_app(path)


def _open_app(path: Path) -> int:
    from .launch import Prefetch

    prefetch = Prefetch(path)  # reads the first screen while Textual is imported below
    from .app import run_app

    return run_app(path, prefetch=prefetch)


def cmd_app(args: argparse.Namespace) -> int:
    return _open_app(journal_path(args))


def dispatch(args: argparse.Namespace) -> int:
    from . import cli_pair, cli_relay, cli_sync

    handlers: dict[str | None, Any] = {
        "init": cmd_init, "add": cmd_add, "list": cmd_list, "done": cmd_done_drop,
        "drop": cmd_done_drop, "delete": cmd_delete, "undo-delete": cmd_delete, "edit": cmd_edit,
        "status": cmd_status, "schedule": cmd_schedule, "export": cmd_export,
        "search": cmd_search, "conflicts": cmd_conflicts, "quarantine": cmd_quarantine,
        "demo": cmd_demo, None: cmd_app,
    }
    handlers.update(cli_sync.HANDLERS)
    handlers.update(cli_pair.HANDLERS)
    handlers.update(cli_relay.HANDLERS)
    handler = handlers.get(args.command)
    if handler is None:
        raise ValidationError(f"unknown command {args.command!r}")
    result: int = handler(args)
    return result


