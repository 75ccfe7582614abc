"""Reading the journal: status, schedule, export, search, conflicts, quarantine."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from comentor import model as m
from comentor.model.errors import ValidationError

from ..text import cell, clip, columns, counted, escape_controls, one_line
from .common import columns_left, journal_path, open_journal, out

__all__ = ["HANDLERS", "cmd_status"]


def cmd_status(args: argparse.Namespace) -> int:
    with open_journal(args) as j:
        st = m.journal_status(j)
        gone = m.device_removal(j)  # revoked: said first, and in the JSON
        if args.json:
            out({**st, "removed": {"at": gone.at, "by": gone.by} if gone else None})
            return 0
        if gone is not None:
            print(one_line(gone.notice()))
        nxt = m.next_checkin(j)
        print(f"Next check-in: {nxt.describe(j.today())}")
        print(f"Cadence: {st['cadence']}")
        partner = one_line(st["partner"]) if st["partner"] else "not paired yet (comentor invite)"
        print(f"Partner: {partner}")
        for person, n in st["open"].items():
            print(f"{one_line(person)}: {counted(n['commitments'], 'open commitment')}, "
                  f"{counted(n['asks'], 'open ask')}, {counted(n['goals'], 'goal')}, "
                  f"{counted(n['challenges'], 'challenge')}")
        if st["paired"] and not st["demo"]:
            print(_sync_line(st["sync"]))
        if st["conflicts"]:
            print(f"{counted(st['conflicts'], 'conflict')} to look at (comentor conflicts)")
        if st["quarantined"]:
            print(f"{counted(st['quarantined'], 'operation')} held back (comentor quarantine)")
    return 0


def _sync_line(sync: dict[str, Any]) -> str:
    """'Last sync: 2 h ago (11:58) over the LAN; relay ws://…; folder /…' (this device)."""
    import datetime as dt

    from ..when import describe_last

    text = f"Last sync: {describe_last(sync['last'], dt.datetime.now(dt.UTC))}"
    if sync["last"] and sync["via"]:
        text += " over the LAN" if sync["via"] == "LAN" else f" through the {sync['via']}"
    ways = ["the LAN"] + [f"{name} {one_line(str(sync[name]))}" for name in ("relay", "folder")
                          if sync[name]]
    return f"{text}; syncs over {', '.join(ways)}"


def cmd_schedule(args: argparse.Namespace) -> int:
    with open_journal(args) as j:
        if args.action == "set":
            given = (args.every, args.at, args.minutes, args.zone, args.alarm)
            if all(value is None for value in given):
                raise ValidationError("nothing to change: give --every, --at, --minutes, "
                                      "--zone or --alarm")
            cad = m.set_cadence(j, every=args.every, at=args.at, minutes=args.minutes,
                                zone=args.zone, alarm=args.alarm)
            print(f"Check-ins {cad.describe()}; calendar reminder {cad.alarm} minutes before")
            return 0
        cad = m.cadence(j)
        nxt = m.next_checkin(j)
        dates = m.upcoming_checkins(j)
        if getattr(args, "json", False):
            # instants with their offset in the cadence's zone (right across summer time)
            out({"every_days": cad.every_days, "at": cad.at, "minutes": cad.minutes,
                  "zone": cad.zone, "alarm_minutes": cad.alarm,
                  "next": nxt.due.isoformat(timespec="minutes"), "drift": nxt.state,
                  "upcoming": [d.isoformat(timespec="minutes") for d in dates]})
            return 0
        print(f"Check-ins {cad.describe()}; calendar reminder {cad.alarm} minutes before")
        if cad.zone_note():
            print(cad.zone_note())
        print(f"Next: {nxt.describe(j.today())}")
        for d in dates[1:]:
            print(f"  then {d.strftime('%a %d %b %Y %H:%M')}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    if args.format != "ics" and (args.todos or args.no_agenda):
        raise ValidationError("--todos and --no-agenda are for the calendar: export ics")
    if args.format == "ics" and args.private:
        raise ValidationError("--private is for export md and export json: the calendar "
                              "never carries a private note")
    to_stdout = args.output in (None, "-")  # "-": standard output, as tools write it
    with open_journal(args) as j:
        if args.format == "ics":
            data = m.export_ics(j, todos=args.todos, with_agenda=not args.no_agenda)
        elif args.format == "json":
            data = m.export_json(j, private=args.private).encode("utf-8")
        else:
            data = m.export_markdown(j, private=args.private).encode("utf-8")
    if not to_stdout:
        # never the journal itself, its -wal or -shm, a device or a folder; atomic
        written = m.write_file_safely(args.output, data,
                                      protect=m.journal_files(journal_path(args)))
        print(f"wrote {one_line(written)}")
    else:  # on stdout control characters show escaped; -o writes the exact text
        shown = escape_controls(data.decode("utf-8", "replace"), json=args.format == "json")
        sys.stdout.buffer.write(shown.encode("utf-8"))
        sys.stdout.flush()
    return 0


def _bracketed(hit: m.Hit) -> str:
    """A hit's snippet on one line, each matched word in [brackets]."""
    text, at = hit.snippet, 0
    parts: list[str] = []
    for start, end in hit.marks:
        parts += [one_line(text[at:start]), "[", one_line(text[start:end]), "]"]
        at = end
    return "".join([*parts, one_line(text[at:])])


def cmd_search(args: argparse.Namespace) -> int:
    if not args.query:
        raise ValidationError("give the words to search for: comentor search WORDS")
    with open_journal(args) as j:
        # the words as one line, as typed in the app's search (a phrase keeps its double
        # quotes only inside the shell's: '"field guide"')
        page = m.search_page(j, " ".join(args.query), limit=args.limit)
        if args.json:  # the snippet as written, and where the matched words are in it
            out([{"table": h.table, "id": h.row, "snippet": h.snippet,
                  "marks": [list(mark) for mark in h.marks], "who": h.who, "when": h.when}
                 for h in page.hits])
            return 0
        if not page.hits:
            print("no matches")
        # columns as wide as this page needs: id, day, whose, kind, then the match
        who = [clip(one_line(h.who), 14) for h in page.hits]
        kinds = [m.search_label(h.table) for h in page.hits]
        w_who = max((columns(x) for x in who), default=0)
        w_kind = max((len(x) for x in kinds), default=0)
        left = columns_left(8 + 2 + 10 + 2 + w_who + 2 + w_kind + 2)
        for h, name, kind in zip(page.hits, who, kinds, strict=True):
            print(f"{m.short_id(h.row)}  {h.when or '':10}  {cell(name, w_who)}  {kind:{w_kind}}  "
                  f"{clip(_bracketed(h).rstrip(), left)}")
        if page.more:  # a page at a time: a word in every item never lists them all
            order = "" if page.ranked else ", newest first"
            print(f"showing {len(page.hits):,} of {page.total:,}{order} — use --limit N "
                  "to see more")
    return 0


def cmd_conflicts(args: argparse.Namespace) -> int:
    with open_journal(args) as j:
        found = m.conflicts(j)
        if args.json:
            out([c.__dict__ for c in found])
            return 0
        if not found:
            print("no conflicts")
        for c in found:
            print(f"{one_line(m.short_id(c.row))} {c.table}.{c.field}\n  kept:  {one_line(c.winner)}")
            for other in c.others:
                print(f"  other: {one_line(other)}")
    return 0


def cmd_quarantine(args: argparse.Namespace) -> int:
    with open_journal(args) as j:
        if args.release == "all":
            print(f"released {counted(m.release_all_held(j), 'operation')}")
            return 0
        if args.release:
            replica, _, seq = args.release.rpartition(":")
            # ASCII digits only ('²' is a digit to isdigit, not to int), within SQLite's range
            if not replica or not (seq.isascii() and seq.isdigit()) or int(seq) >= 2 ** 63:
                raise ValidationError("give the operation as REPLICA:SEQ, as listed")
            m.release_held(j, replica, int(seq))
            print(f"released {one_line(args.release)}")
            return 0
        held = m.quarantined(j)
        if args.json:
            out([{"op": f"{o.replica}:{o.seq}", "table": o.table, "row": o.row,
                   "fields": {k: v for k, v in o.fields.items() if not isinstance(v, bytes)}}
                  for o in held])
            return 0
        if not held:
            print("nothing held back")
        for o in held:
            print(f"{one_line(o.replica)}:{o.seq}  {one_line(o.table)} {one_line(m.short_id(o.row))}  "
                  "stamped far in the future")
    return 0


HANDLERS: dict[str, Any] = {
    "status": cmd_status, "schedule": cmd_schedule, "export": cmd_export,
    "search": cmd_search, "conflicts": cmd_conflicts, "quarantine": cmd_quarantine,
}
