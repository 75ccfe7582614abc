"""Changing an item after it was made: edit its fields, close it, delete it or bring it back.

The rules live here so that the app and the command line apply the same ones: which fields
each kind of item has (a goal has a target date, a commitment a due date), which status
"done" and "drop" mean for each kind (a goal is met, a challenge is declined), and that a
private note or a talking-point draft is deleted on this device only. Every edit is one
operation: all of it lands, or (on a bad field) none of it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from ._deleted import is_deleted
from ._entities import (
    answer_fields,
    close_ask,
    close_commitment,
    complete_challenge,
    date_value,
    past_date,
    required_text,
    respond_challenge,
    set_goal_status,
)
from ._find import LOCAL_ITEM_TABLES
from ._kinds import item_kind, kind_name
from ._ops import Value, short_id
from ._schema import TABLES, long_text_fields
from .errors import NotFoundError, ValidationError

if TYPE_CHECKING:
    from ._journal import Journal

__all__ = [
    "CLOSABLE_TABLES", "CLOSE_STATUS", "Close", "EDITABLE", "close_item", "delete_item",
    "edit_item", "is_closed", "item_kind", "kind_name", "resolve_conflict", "restore_item",
]

Close = Literal["done", "drop"]

# what closing each kind of item means: the one vocabulary of "done" and "drop"
CLOSE_STATUS: dict[Close, dict[str, str]] = {
    "done": {"commitments": "done", "goals": "met", "challenges": "done", "asks": "closed"},
    "drop": {"commitments": "dropped", "goals": "dropped", "challenges": "declined",
             "asks": "closed"},
}
CLOSABLE_TABLES = tuple(CLOSE_STATUS["done"])
# the statuses of a closed item: closing it again is refused, and writes nothing
_CLOSED = {t: {CLOSE_STATUS["done"][t], CLOSE_STATUS["drop"][t]} for t in CLOSABLE_TABLES}

# the fields a person changes on an item of each kind (who and when are the model's)
EDITABLE: dict[str, tuple[str, ...]] = {
    "goals": ("text", "horizon", "target", "detail"),
    "commitments": ("text", "due", "follow_up"),
    "asks": ("text", "kind", "outcome", "answer"),
    "challenges": ("text", "due"),
    "feedback": ("text", "kind"),
    "wins": ("text", "date", "detail"),
    "talking_points": ("text",),
    "notes": ("text",),
    "updates": ("text", "progress"),
    "stories": ("text",),
    "skills": ("text", "kind", "direction"),
    "private_notes": ("text",),
    "talking_point_drafts": ("text",),
}

_DATES = ("due", "target", "date")
_OPTIONAL_TEXT = ("detail", "follow_up", "outcome")
_DEFAULTS = {("asks", "kind"): "question", ("goals", "horizon"): "near",
             ("feedback", "kind"): "perspective", ("skills", "kind"): "skill",
             ("skills", "direction"): "strength"}
# a field the kind lacks, and the one it has instead
_INSTEAD = {("goals", "due"): "target", ("wins", "due"): "date", ("commitments", "target"): "due",
            ("challenges", "target"): "due"}
_FIELD_NAMES = {"target": "its target date", "date": "its date", "due": "its due date"}

_bare = item_kind


def _whole(value: str | int | None, name: str) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(value)
    except ValueError:
        raise ValidationError(f"{name} must be a whole number", field=name) from None


def _not_here(table: str, name: str) -> ValidationError:
    instead = _INSTEAD.get((table, name))
    return ValidationError(f"{kind_name(table)} has no field {name!r}"
                           + (f"; use {_FIELD_NAMES[instead]}" if instead else ""),
                           field=name, table=table, instead=instead)


def edit_item(j: Journal, table: str, row: str, **changes: str | int | None) -> None:
    """Change some fields of one item, checked for its kind, in one operation.

    A field given as None or "" is cleared (an optional text or date), or set back to its
    default (a kind or horizon); a win keeps its date. `answer` (asks only) records the
    answer as :func:`answer_ask` does. A long text that did not change is not rewritten,
    so saving a form unchanged never races the partner's edit of that text.
    """
    if not changes:
        raise ValidationError("nothing to change", field="fields")
    allowed = EDITABLE.get(table, ())
    for name in changes:
        if name not in allowed:
            raise _not_here(table, name)
    if table in ("private_notes", "talking_point_drafts"):  # this device's own, unsynced
        found = j.conn.execute(f"SELECT deleted FROM {table} WHERE id = ?", (row,)).fetchone()
        if found is not None and found[0]:
            if table == "talking_point_drafts":
                # sharing a draft also takes it away: bringing it back would copy it
                raise ValidationError(f"draft {short_id(row)} was shared or discarded: edit "
                                      "the shared talking point, or bring a discarded draft "
                                      "back first", field="id", table=table, row=row,
                                      state="deleted")
            raise _deleted(table, row)
        edit = j.edit_private_note if table == "private_notes" else j.edit_draft
        edit(row, str(changes["text"] or ""))
        return
    current = j.get(table, row, include_deleted=True)
    if current is None:
        raise ValidationError(f"no {_bare(table)} with id {row}", field="id")
    if current["deleted"]:  # as closing it is: what is in the bin stays as it went in
        raise _deleted(table, row)
    fields: dict[str, Value] = {}
    for name, value in changes.items():
        if name == "answer":
            fields.update(answer_fields(j, str(value or ""), status=current.get("status")))
        elif name == "text":
            fields["text"] = required_text(str(value or ""), _bare(table))
        elif name in _DATES:
            raw = str(value or "").strip()
            if not raw and table == "wins":
                continue  # a win always has a date: an empty one keeps it
            fields[name] = (past_date if table == "wins" else date_value)(j, raw, name)
        elif name == "progress":
            fields[name] = _whole(value, name)
        elif (table, name) in _DEFAULTS:
            fields[name] = str(value or "").strip() or _DEFAULTS[(table, name)]
        else:  # an optional short or long text
            fields[name] = str(value or "").strip() or None
    for name in long_text_fields(table) & fields.keys():
        if name != "answer" and (fields[name] or None) == (current.get(name) or None):
            del fields[name]
    if fields:
        j.put(table, row, **fields)


def _deleted(table: str, row: str) -> ValidationError:
    """The refusal to change or close a deleted item (undo the deletion first)."""
    return ValidationError(f"{_bare(table)} {short_id(row)} is deleted: bring it back first",
                           field="id", table=table, row=row, state="deleted",
                           hint="undo-delete")


def is_closed(table: str, status: str | None) -> bool:
    """Whether an item of `table` with `status` is closed (done or dropped, in its kind's
    words): what :func:`close_item` refuses, so an interface can say so before asking how
    it went rather than after."""
    return status in _CLOSED.get(table, ())


# how it went, for a kind that keeps no result: where the words belong instead
_NO_RESULT = {
    "goals": "a goal keeps no result: say how it went in an update (add update TEXT "
             "--goal ID); nothing was changed",
    "asks": "an ask keeps no result: its answer says how it went (edit ID --answer TEXT); "
            "nothing was changed",
    "challenges": "a declined challenge keeps no result: note why in the check-in instead; "
                  "nothing was changed",
}


def close_item(j: Journal, table: str, row: str, how: Close, result: str | None = None) -> str:
    """Close an item with the status its kind uses for `how` ("done" or "drop").

    A commitment is done or dropped, a goal met or dropped, a challenge done or declined,
    an ask closed either way. `result` (how it went) is kept by commitments and challenges
    done; given for any other, it is refused (field "result"), never dropped unsaid.
    Returns the status set. An item already closed (either way) or deleted is refused
    and nothing is written (field "state"): reopen or restore it first.
    """
    if table not in CLOSABLE_TABLES:
        raise ValidationError(f"{kind_name(table)} is not closed: only commitments, goals, "
                              "challenges and asks are", field="id", table=table)
    current = j.get(table, row, include_deleted=True)
    if current is None:
        raise NotFoundError(f"no {_bare(table)} with id {row}", field="id")
    if current["deleted"]:
        raise _deleted(table, row)
    if current.get("status") in _CLOSED[table]:
        raise ValidationError(f"{_bare(table)} {short_id(row)} is already {current['status']}",
                              field="id", table=table, row=row, state=current["status"])
    status = CLOSE_STATUS[how][table]
    if result is not None and table != "commitments" and (table, status) != ("challenges", "done"):
        raise ValidationError(_NO_RESULT[table], field="result", table=table)
    if table == "commitments":
        close_commitment(j, row, status, result)
    elif table == "goals":
        set_goal_status(j, row, status)
    elif table == "challenges":
        if status == "done":
            complete_challenge(j, row, result)
        else:
            respond_challenge(j, row, False)
    else:
        close_ask(j, row)
    return status


def delete_item(j: Journal, table: str, row: str) -> None:
    """Delete an item so that :func:`restore_item` can bring it back.

    A private note or a talking-point draft is deleted on this device only (neither ever
    left it); anything else becomes a synced tombstone.
    """
    _set_deleted(j, table, row, True)


def restore_item(j: Journal, table: str, row: str) -> None:
    """Take back :func:`delete_item`."""
    _set_deleted(j, table, row, False)


def _set_deleted(j: Journal, table: str, row: str, deleted: bool) -> None:
    """Delete or restore; asking for the state an item is already in writes nothing and
    says so (field "state"), so a repeated command never adds an operation."""
    if table == "talking_points" and j.is_draft(row):
        table = "talking_point_drafts"
    if table not in TABLES and table not in LOCAL_ITEM_TABLES:
        raise ValidationError(f"unknown table {table!r}", field="table")
    if is_deleted(j, table, row) == deleted:
        state = "already deleted" if deleted else "not deleted"
        raise ValidationError(f"{_bare(table)} {short_id(row)} is {state}", field="id", table=table,
                              row=row, state="deleted" if deleted else "live")
    if table == "private_notes":
        j.set_private_note_deleted(row, deleted)
    elif table == "talking_point_drafts":
        if deleted:
            j.discard_draft(row)
        else:
            j.restore_draft(row)
    elif deleted:
        j.delete(table, row)
    else:
        j.undelete(table, row)


def resolve_conflict(j: Journal, table: str, row: str, field: str, text: str) -> None:
    """Settle a conflicted text with `text` (one version, a merge, or both), for good."""
    j.resolve_conflict(table, row, field, text)
