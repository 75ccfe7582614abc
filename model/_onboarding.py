"""Starting a partnership: the peer checklist and the cadence, for both partners.

The partner who starts answers the peer checklist and chooses the cadence (the default
proposed: every 3 weeks at 12:00, 30 minutes, in this machine's time zone). The partner who
joins sees, after the first sync, the same checklist with what the inviter ticked and the
cadence the inviter chose; they tick their own answers and accept the cadence or change it.

The checklist records exactly what was ticked, so an unticked box stays unticked: nothing
here turns a "no" into a "yes". Accepting the cadence writes nothing, so a joiner whose
first sync has not arrived yet never overwrites the inviter's choice with the default.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ._dates import check_zone, parse_every, parse_time
from ._entities import confirm_checklist
from ._schedule import Cadence, cadence, set_cadence
from .errors import ValidationError

if TYPE_CHECKING:
    from ._journal import Journal

__all__ = [
    "PEER_CHECKLIST", "CHECKLIST_KEYS", "PeerChecklist", "peer_checklist", "checklist_from",
    "CadenceChoice", "check_cadence_choice", "parse_minutes", "Onboarding", "onboarding",
    "start_partnership", "confirm_partnership",
]

# The one wording both partners see, in the app and on the command line.
PEER_CHECKLIST: tuple[tuple[str, str], ...] = (
    ("outside_company", "My partner works outside my company (not a colleague)"),
    ("outside_market", "My partner works outside my market (not a competitor)"),
    ("similar_stage", "We are at a similar stage (peers, not mentor and mentee)"),
)
CHECKLIST_KEYS: tuple[str, ...] = tuple(key for key, _ in PEER_CHECKLIST)


@dataclass(frozen=True)
class PeerChecklist:
    """The checklist as recorded with the partnership: what was ticked, by whom, when.

    ``by`` is the name of whoever confirmed it last ("" when nobody has yet)."""

    ticked: Mapping[str, bool] = field(default_factory=dict)
    confirmed_at: str | None = None
    by: str = ""

    @property
    def confirmed(self) -> bool:
        return self.confirmed_at is not None

    @property
    def all_ticked(self) -> bool:
        return all(self.ticked.get(key, False) for key in CHECKLIST_KEYS)

    def unticked(self) -> list[str]:
        """The labels of the boxes left unticked (said plainly, never hidden)."""
        return [label for key, label in PEER_CHECKLIST if not self.ticked.get(key, False)]


def _last_writer(j: Journal, table: str, row: str) -> str:
    """The name of whoever wrote the newest operation on one row ("" if unknown)."""
    found = j.conn.execute(
        "SELECT replica FROM ops WHERE tbl = ? AND row_id = ? ORDER BY hlc DESC LIMIT 1",
        (table, row)).fetchone()
    if not found:
        return ""
    device = j.get("devices", str(found[0]).split(".", 1)[0], include_deleted=True)
    return j.person_name(device["person"]) if device and device.get("person") else ""


def peer_checklist(j: Journal) -> PeerChecklist:
    """The checklist as recorded with the partnership, and who confirmed it last."""
    rec = j.get("partnership", "partnership") or {}
    confirmed = rec.get("confirmed_at") or None
    return PeerChecklist({key: bool(rec.get(key)) for key in CHECKLIST_KEYS}, confirmed,
                         _last_writer(j, "partnership", "partnership") if confirmed else "")


def checklist_from(ticks: Iterable[str]) -> dict[str, bool]:
    """Answers from the names of the ticked boxes (``all`` and ``none`` allowed, commas too).

    An unknown name is an error that lists the valid ones, so a typo never records a "no"."""
    names: list[str] = []
    for tick in ticks:
        names += [n.strip().lower().replace("-", "_") for n in str(tick).split(",") if n.strip()]
    answers = dict.fromkeys(CHECKLIST_KEYS, False)
    for name in names:
        if name == "all":
            answers = dict.fromkeys(CHECKLIST_KEYS, True)
        elif name == "none":
            continue
        elif name in answers:
            answers[name] = True
        else:
            raise ValidationError(
                f"unknown checklist box {name!r}: use {', '.join(CHECKLIST_KEYS)}, all or none",
                field="tick")
    if "none" in names and any(answers.values()):  # which was meant? ask, record nothing
        others = " and ".join(repr(n) for n in dict.fromkeys(names) if n != "none")
        raise ValidationError(f"'none' cannot go with {others}: give 'none' alone, or only "
                              "the boxes to tick", field="tick")
    return answers


@dataclass(frozen=True)
class CadenceChoice:
    """A cadence as typed (every, at, minutes, zone); None leaves that part as it is."""

    every: str | None = None
    at: str | None = None
    minutes: int | None = None
    zone: str | None = None

    @property
    def changes(self) -> bool:
        return any(v is not None for v in (self.every, self.at, self.minutes, self.zone))


def parse_minutes(text: str) -> int:
    """The length of a check-in as typed (a prompt, a form field), checked: 5 to 600."""
    try:
        value = int(text.strip())
    except ValueError:
        raise ValidationError("the length is a whole number of minutes (5 to 600)",
                              field="minutes") from None
    check_cadence_choice(CadenceChoice(minutes=value))
    return value


def check_cadence_choice(choice: CadenceChoice) -> CadenceChoice:
    """Check every part before anything is written (one clear error for the first bad one)."""
    if choice.every is not None:
        parse_every(choice.every)
    if choice.at is not None:
        parse_time(choice.at)
    if choice.minutes is not None and (isinstance(choice.minutes, bool)
                                       or not 5 <= choice.minutes <= 600):
        raise ValidationError("a check-in lasts between 5 and 600 minutes", field="minutes")
    if choice.zone is not None:
        check_zone(choice.zone)
    return choice


@dataclass(frozen=True)
class Onboarding:
    """What the partner who joins is asked to confirm.

    ``partner``: the inviter's name ("" before pairing); ``checklist``: as recorded (the
    inviter's answers once the first sync brought them); ``cadence``: the partnership's, or
    the default proposal when ``cadence_chosen`` is False (nobody has chosen one yet, or the
    inviter's has not arrived); ``cadence_by``: who chose it."""

    partner: str
    checklist: PeerChecklist
    cadence: Cadence
    cadence_chosen: bool
    cadence_by: str

    @property
    def arrived(self) -> bool:
        """Whether the inviter's answers reached this device (the first sync happened)."""
        return self.checklist.confirmed or self.cadence_chosen


def onboarding(j: Journal) -> Onboarding:
    """What the partner who joins sees and confirms, as this device has it now."""
    partner = j.partner()
    chosen = j.get("schedule", "cadence") is not None
    return Onboarding(j.person_name(partner) if partner else "", peer_checklist(j), cadence(j),
                      chosen, _last_writer(j, "schedule", "cadence") if chosen else "")


def start_partnership(j: Journal, checklist: Mapping[str, bool] | None,
                      choice: CadenceChoice) -> Cadence:
    """The first run of the partner who starts: record the checklist and the cadence.

    The cadence is always written (the default proposal included), in the zone given or
    this machine's, so the partner who joins receives the inviter's choice. A checklist of
    None was not answered (a script without --tick) and is not recorded."""
    check_cadence_choice(choice)
    if checklist is not None:
        confirm_checklist(j, **_answers(checklist))
    return set_cadence(j, every=choice.every or "21d", at=choice.at or "12:00",
                       minutes=choice.minutes if choice.minutes is not None else 30,
                       zone=choice.zone)


def confirm_partnership(j: Journal, checklist: Mapping[str, bool],
                        choice: CadenceChoice | None = None) -> Cadence:
    """The partner who joins: record their answers; change the cadence only if asked to."""
    if choice is not None:
        check_cadence_choice(choice)
    answers = _answers(checklist)
    confirm_checklist(j, **answers)
    if choice is not None and choice.changes:
        return set_cadence(j, every=choice.every, at=choice.at, minutes=choice.minutes,
                           zone=choice.zone)
    return cadence(j)


def _answers(checklist: Mapping[str, bool]) -> dict[str, bool]:
    unknown = set(checklist) - set(CHECKLIST_KEYS)
    if unknown:
        raise ValidationError(f"unknown checklist box {sorted(unknown)[0]!r}", field="tick")
    return {key: bool(checklist.get(key, False)) for key in CHECKLIST_KEYS}
