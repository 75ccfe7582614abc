"""The first run on the command line: the cadence and the peer checklist.

`comentor init` asks the partner who starts for the cadence (the default proposed: every
3 weeks at 12:00, 30 minutes, in this machine's time zone) and the peer checklist;
`comentor join` shows the partner who joins what the inviter ticked and the cadence the
inviter chose, and records their own answers. On a terminal the questions are asked (Enter
takes the proposal); without one, the flags answer (`--every --at --minutes --zone`,
`--tick`), so scripts and tests never wait for input.

Printing only; the rules live in :mod:`comentor.model` (``start_partnership``,
``confirm_partnership``, ``onboarding``). A box shows its state in the text ("[x]" or
"[ ]"), never only in colour, and the wording says what is recorded: what was ticked.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Mapping

from comentor.model import (
    PEER_CHECKLIST,
    Cadence,
    CadenceChoice,
    Journal,
    Onboarding,
    check_cadence_choice,
    check_zone,
    checklist_from,
    confirm_partnership,
    onboarding,
    parse_every,
    parse_minutes,
    parse_time,
    set_cadence,
    start_partnership,
)
from comentor.model.errors import ValidationError

from ..text import one_line

__all__ = ["interactive", "checklist_lines", "check_first_run", "first_run", "confirm_joining",
           "RECORDS_WHAT"]

RECORDS_WHAT = "It records what you ticked; you can change it later on the partnership screen."

Ask = Callable[[str], str]


def interactive() -> bool:
    """Whether a person is there to answer (a terminal on both ends)."""
    return sys.stdin.isatty() and sys.stdout.isatty()


def _input(prompt: str) -> str:
    try:
        return input(prompt)
    except EOFError:
        return ""


def checklist_lines(ticked: Mapping[str, bool], indent: str = "  ") -> list[str]:
    """One line per box, its state in the text: "[x]" ticked, "[ ]" not."""
    return [f"{indent}[{'x' if ticked.get(key) else ' '}] {label}" for key, label in PEER_CHECKLIST]


def _ask_until(ask: Ask, prompt: str, default: str, check: Callable[[str], object]) -> str:
    """Ask until the answer passes `check` (Enter takes `default`)."""
    while True:
        answer = ask(f"{prompt} [{default}]: ").strip() or default
        try:
            check(answer)
        except ValidationError as exc:
            print(f"  {exc}")
            continue
        return answer


def _ask_cadence(ask: Ask, current: Cadence, every_text: str) -> CadenceChoice:
    every = _ask_until(ask, "How often do you meet?", every_text, parse_every)
    at = _ask_until(ask, "At what time?", current.at, parse_time)
    minutes = _ask_until(ask, "For how many minutes?", str(current.minutes), parse_minutes)
    zone = _ask_until(ask, "In which time zone?", current.zone, check_zone)
    return CadenceChoice(every, at, int(minutes), zone)


def _ask_ticks(ask: Ask) -> dict[str, bool]:
    print("The peer checklist: a good partner is a peer. Tick what is true (y/n):")
    answers = {}
    for key, label in PEER_CHECKLIST:
        answers[key] = ask(f"  {label}? [y/N]: ").strip().lower() in ("y", "yes")
    return answers


def _flags_choice(args: argparse.Namespace) -> CadenceChoice:
    return CadenceChoice(args.every, args.at, args.minutes, args.zone)


def _say_ticks(answers: Mapping[str, bool] | None, who: str) -> None:
    if answers is None:
        print(f"Peer checklist: not answered yet ({who} can answer it in the app: "
              "Partnership & devices, C; or with --tick).")
        return
    print("Peer checklist, your answers:")
    for line in checklist_lines(answers):
        print(line)
    left = sum(1 for key, _ in PEER_CHECKLIST if not answers.get(key))
    print(RECORDS_WHAT if not left else
          f"{left} box{'es' if left != 1 else ''} left unticked. {RECORDS_WHAT}")


def _say_kept_ticks(mine: bool) -> None:
    if mine:
        print("Peer checklist: kept as you answered it (change it in the app: Partnership & "
              "devices, C; or with --tick).")
    else:
        _say_ticks(None, "you")


def check_first_run(args: argparse.Namespace) -> None:
    """Refuse bad flags (`--every 3x`, `--tick typo`) before anything is written."""
    check_cadence_choice(_flags_choice(args))
    if args.tick:
        checklist_from(args.tick)


def first_run(args: argparse.Namespace, j: Journal, ask: Ask | None = None) -> None:
    """After `comentor init` created the journal: store the cadence and the checklist."""
    choice = _flags_choice(args)
    answers = checklist_from(args.tick) if args.tick else None
    if ask is None and interactive():
        ask = _input
    if ask is not None:
        proposal = Cadence()
        print(f"Your check-ins: proposed {proposal.describe()} (Enter keeps a proposal).")
        if not choice.changes:
            choice = _ask_cadence(ask, proposal, "3w")
        if answers is None:
            answers = _ask_ticks(ask)
    cad = start_partnership(j, answers, choice)
    print(f"Cadence: {cad.describe()} (change it with `comentor schedule set`)")
    _say_ticks(answers, "you")


def _say_onboarding(info: Onboarding) -> None:
    who = one_line(info.partner or "your partner")  # the partner's words: made inert
    box = info.checklist
    if box.confirmed:
        print(f"The peer checklist, as {one_line(box.by) or who} answered it:")
        for line in checklist_lines(box.ticked):
            print(line)
    else:
        print(f"The peer checklist ({who} has not answered it"
              + (")." if info.arrived else " yet, or it has not arrived).") )
        for line in checklist_lines({}):
            print(line)
    if info.cadence_chosen:
        print(f"The cadence {one_line(info.cadence_by) or who} chose: "
              f"{one_line(info.cadence.describe())}")
    else:
        print(f"Cadence: {who}'s choice has not arrived; proposed "
              f"{one_line(info.cadence.describe())}")


def confirm_joining(args: argparse.Namespace, j: Journal, ask: Ask | None = None) -> None:
    """After `comentor join` paired (and synced once): show and confirm."""
    info = onboarding(j)
    _say_onboarding(info)
    choice = _flags_choice(args)
    answers = checklist_from(args.tick) if args.tick else None
    if ask is None and interactive():
        ask = _input
    if ask is not None:
        if answers is None:
            answers = _ask_ticks(ask)
        if not choice.changes:
            keep = ask("Keep this cadence? [Y/n]: ").strip().lower()
            if keep in ("n", "no"):
                days = info.cadence.every_days
                every = f"{days // 7}w" if days % 7 == 0 else f"{days}d"
                choice = _ask_cadence(ask, info.cadence, every)
    # joining again (a new device, a new pairing): the answers on record may be this
    # person's own, and "not answered yet" would contradict the lines just printed
    mine = info.checklist.confirmed and info.checklist.by == j.person_name(j.me)
    if answers is None and not choice.changes:
        _say_kept_ticks(mine)
        print(f"Cadence kept: {info.cadence.describe()}")
        return
    if answers is None:  # only the cadence changes: the checklist stays as recorded
        cad = set_cadence(j, every=choice.every, at=choice.at, minutes=choice.minutes,
                          zone=choice.zone)
        _say_kept_ticks(mine)
    else:
        cad = confirm_partnership(j, answers, choice)
        _say_ticks(answers, "you")
    print(f"Cadence {'changed to' if choice.changes else 'kept'}: {cad.describe()}")
