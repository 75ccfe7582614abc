"""What a form's field is, and how its value is checked before anything is written.

A :class:`FieldSpec` names the input (one line, long text, a choice, a checkbox), its
validator (a plain function returning a one-line message or None, so the model's own
parsers give the same messages here as on the command line), a gentle non-blocking hint,
and how the checked text becomes the value the form hands on. :func:`field` builds one from
what the value is (text, a date, a whole number, ...) with the checks that kind needs.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from comentor.model import is_blank, parse_date
from comentor.model.errors import JournalError

__all__ = [
    "FieldSpec", "Validator", "Hint", "required", "date_check", "int_range", "field",
    "FIELD_KINDS",
]

Validator = Callable[[Any], "str | None"]
Hint = Callable[[dict[str, Any]], "str | None"]

# what `field` knows how to check, and the input each is typed into
FIELD_KINDS: dict[str, str] = {
    "text": "input", "long": "textarea", "select": "select", "date": "input", "int": "input",
    "bool": "checkbox",
}


@dataclass
class FieldSpec:
    """One field of a form.

    kind: "input" (one line), "textarea" (long text), "select" (options as (label, value)),
    or "checkbox". `validate` returns an error message or None; `hint` returns a gentle
    nudge shown under the field without blocking the save (e.g. "this ask is vague");
    `note` is a fixed line of help under it. `required` only marks the label (the check is
    the validator's). `parse` turns the checked raw value into the value handed on (the
    raw value when None).
    """

    name: str
    label: str
    kind: str = "input"
    value: Any = ""
    options: Sequence[tuple[str, str]] = ()
    placeholder: str = ""
    validate: Validator | None = None
    hint: Hint | None = None
    note: str = ""
    required: bool = False
    parse: Callable[[Any], Any] | None = None


def _text(value: Any) -> str:
    return str(value or "").strip()


def required(what: str) -> Validator:
    """Reject empty text with a message naming the field."""

    def check(value: Any) -> str | None:
        return f"The {what} is empty: write something." if is_blank(str(value or "")) else None

    return check


def date_check(today: dt.date, *, optional: bool = True) -> Validator:
    """A date as the model accepts it (YYYY-MM-DD, today, tomorrow, a weekday, +2w)."""

    def check(value: Any) -> str | None:
        text = _text(value)
        if not text:
            return None if optional else "A date is needed."
        try:
            parse_date(text, today)
        except JournalError as exc:
            return str(exc)
        return None

    return check


def int_range(low: int, high: int, *, optional: bool = True, what: str = "value") -> Validator:
    """A whole number between low and high inclusive."""

    def check(value: Any) -> str | None:
        text = _text(value)
        if not text:
            return None if optional else f"The {what} is needed ({low}-{high})."
        try:
            number = int(text)
        except ValueError:
            return f"The {what} must be a whole number from {low} to {high}."
        if not low <= number <= high:
            return f"The {what} must be from {low} to {high}."
        return None

    return check


def _checks(kind: str, label: str, is_required: bool, today: dt.date | None,
            minimum: int | None, maximum: int | None) -> tuple[Validator, Callable[[Any], Any]]:
    """The validator and the parser of a field of `kind`: an empty optional field is None."""

    def validate(raw: Any) -> str | None:
        if kind == "bool":
            return None
        if kind == "select":
            return f"choose {label.lower()}" if is_required and raw in (None, "") else None
        text = _text(raw)
        if not text:
            return f"{label} is needed" if is_required else None
        if kind == "date":
            assert today is not None
            return date_check(today)(text)
        if kind == "int":
            try:
                number = int(text)
            except ValueError:
                return f"{label} must be a whole number"
            if minimum is not None and number < minimum:
                return f"{label} must be at least {minimum}"
            if maximum is not None and number > maximum:
                return f"{label} must be at most {maximum}"
        return None

    def parse(raw: Any) -> Any:
        if kind == "bool":
            return bool(raw)
        if kind == "select":
            return None if raw in (None, "") else str(raw)
        text = _text(raw)
        if not text:
            return None
        if kind == "date":
            assert today is not None
            return parse_date(text, today).isoformat()
        if kind == "int":
            return int(text)
        return text

    return validate, parse


def field(name: str, label: str, kind: str = "text", *, required: bool = False,
          options: Sequence[tuple[str, str]] = (), default: str = "", placeholder: str = "",
          minimum: int | None = None, maximum: int | None = None, hint: str = "",
          warn: Callable[[str], str | None] | None = None,
          today: dt.date | None = None) -> FieldSpec:
    """A field for a value of `kind` (text | long | select | date | int | bool), checked in
    place: a required field must not be empty, a date must parse (relative to `today`),
    a number must be whole and within `minimum`..`maximum`. The form hands on the parsed
    value (an ISO date, an int, stripped text, None for an empty optional field). `hint` is
    a fixed line of help; `warn` a gentle note about the text typed so far."""
    if kind not in FIELD_KINDS:
        raise ValueError(f"no field of kind {kind!r}")
    if kind == "date" and today is None:
        raise ValueError("a date field needs today's date to read relative dates")
    validate, parse = _checks(kind, label, required, today, minimum, maximum)
    value: Any = default
    if kind == "select":
        values = [v for _, v in options]
        value = default if default in values else (values[0] if required and values else "")
    elif kind == "bool":
        value = default == "1"
    return FieldSpec(name, label, FIELD_KINDS[kind], value, options, placeholder, validate,
                     None if warn is None else _on_text(name, warn), hint, required, parse)


def _on_text(name: str, warn: Callable[[str], str | None]) -> Hint:
    """A hint from a warning about one field's text."""

    def hint(values: dict[str, Any]) -> str | None:
        return warn(str(values.get(name) or ""))

    return hint
