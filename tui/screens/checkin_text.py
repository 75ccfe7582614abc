"""What the check-in says in words: its phase line and its banner, with the keys named.

Help texts name keys as the screen binds them (:func:`key_name`), so that a key moved in
the check-in's ``BINDINGS`` is named right in every sentence; the screen passes the names.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from rich.text import Text
from textual.binding import Binding

from comentor.model import when_text

from ..text import one_line
from .checkin_state import CheckinState

__all__ = ["key_name", "phase_line", "banner_text", "need_live_text", "item_commands"]

Keys = Callable[[str], str]  # action -> the key a person presses for it


def key_name(binding: Binding, display: Callable[[Binding], str]) -> str:
    """How a sentence names the key of ``binding`` (``display``: the app's
    ``get_key_display``): as the footer shows it, function keys in capitals (F2)."""
    shown = display(binding)
    return shown.upper() if re.fullmatch(r"f\d{1,2}", shown) else shown


def phase_line(state: CheckinState, key: Keys) -> Text:
    """Planned, in progress (started by whom) or ended, and the time balance."""
    status, out = state.status, Text()
    due = when_text(status.due)  # in the cadence's zone, this machine's time beside it
    if status.phase == "planned":
        out.append("Planned ", style="bold")
        out.append(f"for {due}: nothing has started. Browse the agenda and prepare talking "
                   f"points; {key('start')} starts the check-in for both of you.")
    elif status.phase == "started":
        who = "you" if status.started_by == state.me[0] else one_line(status.started_by_name)
        out.append("In progress ", style="bold green")
        out.append(f"(planned for {due}), started by {who}.")
    else:
        out.append("Ended ", style="bold")
        out.append(f"by {one_line(status.ended_by_name or 'your partner')}.")
    if state.balance is not None:
        out.append(f"  Time balance, {state.balance.describe()}.", style="dim")
    return out


def banner_text(state: CheckinState, joined: bool, key: Keys) -> str:
    """The partner started the check-in (join it), or the baselines still to record."""
    if state.status.started_by_partner(state.me[0]) and not joined:
        return (f"{one_line(state.status.started_by_name)} started the check-in — press "
                f"{key('join')} to join.")
    if state.first and state.missing_baselines:
        names = {state.me[0]: state.me[1], **({state.partner[0]: state.partner[1]}
                                               if state.partner else {})}
        who = " and ".join(one_line(names.get(p, "?")) for p in state.missing_baselines)
        return (f"First check-in of the partnership: record the baselines of {who} "
                f"(press {key('baseline')}).")
    return ""


def need_live_text(phase: str, key: Keys) -> str:
    """Why an action of a started check-in does nothing yet: join it, or start it."""
    if phase == "started":
        return f"Join the check-in first ({key('join')})."
    return f"Start the check-in first ({key('start')}): looking at it starts nothing."


def read_only_notes_text(phase: str, key: Keys) -> str:
    """Why what was typed into the check-in's notes was not taken, and what to do (the
    notes have the focus, so the key is named after Esc, which leaves them)."""
    if phase == "ended":
        return "Not typed: this check-in has ended; its notes are kept as they were."
    if phase == "started":
        return f"Not typed: join the check-in to write in its notes (Esc, then {key('join')})."
    return f"Not typed: the notes open when the check-in starts (Esc, then {key('start')})."


def item_commands(kinds: Sequence[str]) -> list[tuple[str, str, str]]:
    """The palette's commands to add an item of each of ``kinds``: (title, help, action)."""
    out = []
    for k in kinds:
        words = k.replace("_", " ")
        out.append((f"New {words}", f"Add {'an' if k[0] in 'aeiou' else 'a'} {words} "
                    "without leaving the check-in", f"add_item('{k}')"))
    return out
