"""The schedule: the cadence, when the next check-in is due and how far it drifted, the
upcoming dates, changing the cadence (its time zone and calendar reminder included), and
exporting the series to a calendar file.

The cadence is edited in place and checked as it is typed, with the same parsers the
command line uses; the calendar export runs in a worker so a slow disk never freezes the app.
The time is the wall-clock time in the cadence's zone (the zone of whoever set it), so both
partners see the same instants; a partner elsewhere sees their own time beside it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Input, Label, Static

from comentor import model
from comentor.model import (
    Cadence,
    Journal,
    NextCheckin,
    check_zone,
    parse_every,
    parse_minutes,
    parse_time,
)
from comentor.model.errors import JournalError

from ..modals.fields import FieldSpec
from ..modals.form import FormModal
from ..widgets.cadence_fields import every_text, zone_suggester
from ..widgets.key_bar import KeyBar
from ..widgets.title_bar import TitleBar
from .base import GatewayScreen

__all__ = ["ScheduleScreen", "check_every", "check_at", "check_minutes", "check_path",
           "check_zone_text", "check_alarm"]

STATE_STYLE = {"on_time": "green", "due": "bold yellow", "overdue": "bold red", "lapsed": "bold red"}


def _message(parse: Callable[[str], object], text: Any) -> str | None:
    """The model's own message when `parse` refuses the text typed; None when it is right."""
    try:
        parse(str(text or ""))
    except JournalError as exc:
        return str(exc)
    return None


def check_every(text: Any) -> str | None:
    return _message(parse_every, text)


def check_at(text: Any) -> str | None:
    return _message(parse_time, text)


def check_minutes(text: Any) -> str | None:
    return _message(parse_minutes, text)


def check_zone_text(text: Any) -> str | None:
    return _message(check_zone, text)


def check_alarm(text: Any) -> str | None:
    try:
        minutes = int(str(text or "").strip())
    except ValueError:
        return "The reminder is a whole number of minutes before (0 to 10080)."
    return None if 0 <= minutes <= 10080 else "The reminder comes 0 to 10080 minutes before."


def check_path(text: Any) -> str | None:
    raw = str(text or "").strip()
    if not raw:
        return "Give a file name, like ~/checkins.ics"
    path = Path(raw).expanduser()
    if path.is_dir():
        return f"{path} is a folder: add a file name, like {path / 'checkins.ics'}"
    if not path.parent.is_dir():
        return f"The folder {path.parent} does not exist."
    return None


class ScheduleScreen(GatewayScreen):
    """The next check-in and its drift, the upcoming dates, the cadence's fields (checked as
    typed) and the calendar export; loads and saves through the gateway's workers."""

    SCREEN_TITLE = "Schedule"
    AUTO_FOCUS = "#save-cadence"  # not an input: the screen's keys work until one is clicked
    DEFAULT_CSS = """
    ScheduleScreen #schedule-body { padding: 0 1; }
    ScheduleScreen #next { height: auto; margin-bottom: 1; }
    ScheduleScreen #upcoming { height: auto; margin-bottom: 1; }
    ScheduleScreen #cadence-form { height: auto; border: round $primary; padding: 0 1; }
    ScheduleScreen .cad-field { width: 1fr; height: auto; padding-right: 1; }
    ScheduleScreen .cad-row { height: auto; }
    ScheduleScreen .field-error { color: $error; height: auto; }
    ScheduleScreen #cadence-buttons { height: auto; margin-top: 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "save_cadence", "Save cadence"),
        Binding("ctrl+o", "export", "Export .ics"),
    ]

    def compose(self) -> ComposeResult:
        yield TitleBar()
        with VerticalScroll(id="schedule-body"):
            yield Static("", id="next")
            yield Static("", id="upcoming")
            with Vertical(id="cadence-form"):
                yield Label("Cadence", classes="matrix-title")
                for row in ((("every", "Every", "3w or 21d"), ("at", "At (in the zone)", "12:00"),
                             ("minutes", "Minutes", "30")),
                            (("zone", "Time zone", "Europe/Berlin"),
                             ("alarm", "Reminder (minutes before)", "10"))):
                    with Horizontal(classes="cad-row"):
                        for name, label, placeholder in row:
                            with Vertical(classes="cad-field"):
                                yield Label(label)
                                yield Input(placeholder=placeholder, id=f"cad-{name}",
                                            suggester=zone_suggester() if name == "zone" else None)
                                yield Static("", id=f"cad-error-{name}", classes="field-error",
                                             markup=False)
                with Horizontal(id="cadence-buttons"):
                    yield Button("Save cadence", id="save-cadence", variant="primary")
                    yield Button("Export .ics…", id="export")
        yield KeyBar()

    CHECKS = {"every": check_every, "at": check_at, "minutes": check_minutes,
              "zone": check_zone_text, "alarm": check_alarm}

    def refresh_data(self) -> None:
        def fetch(j: Journal) -> tuple[Any, ...]:
            return (model.cadence(j), model.next_checkin(j), model.upcoming_checkins(j, 6),
                    j.today())

        self.fetch("load", fetch, lambda found: self._show(*found))

    def _show(self, cad: Cadence, nxt: NextCheckin, dates: list[dt.datetime],
              today: dt.date) -> None:
        head = Text()
        head.append("Next check-in: ", style="bold")
        head.append(nxt.describe(today), style=STATE_STYLE.get(nxt.state, ""))
        head.append(f"\nCadence: {cad.describe()}")
        head.append(f"\nCalendar reminder: {cad.alarm} minutes before (in the exported .ics)")
        if cad.zone_note():
            head.append(f"\n{cad.zone_note()}", style="italic")
        if nxt.state in ("overdue", "lapsed"):
            head.append("\nThe practice is drifting: agree on a date with your partner soon.",
                        style="italic")
        self.query_one("#next", Static).update(head)
        up = Text(f"Upcoming ({cad.zone})\n", style="bold underline")
        for d in dates:
            up.append(f"  {d.strftime('%a %d %b %Y %H:%M')}\n")
        self.query_one("#upcoming", Static).update(up)
        values = {"every": every_text(cad.every_days),
                  "at": cad.at, "minutes": str(cad.minutes), "zone": cad.zone,
                  "alarm": str(cad.alarm)}
        for name, value in values.items():
            box = self.query_one(f"#cad-{name}", Input)
            if not box.has_focus:
                box.value = value
            self._set_error(name, None)

    def _set_error(self, name: str, message: str | None) -> None:
        self.query_one(f"#cad-error-{name}", Static).update(message or "")

    def on_input_changed(self, event: Input.Changed) -> None:
        name = (event.input.id or "").removeprefix("cad-")
        if name in self.CHECKS:
            self._set_error(name, self.CHECKS[name](event.value))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if (event.input.id or "").startswith("cad-"):
            event.stop()
            self.action_save_cadence()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "save-cadence":
            self.action_save_cadence()
        elif event.button.id == "export":
            self.action_export()

    def action_save_cadence(self) -> None:
        values = {name: self.query_one(f"#cad-{name}", Input).value for name in self.CHECKS}
        bad = False
        for name, check in self.CHECKS.items():
            message = check(values[name])
            self._set_error(name, message)
            bad = bad or message is not None
        if bad:
            return

        def save(j: Journal) -> Cadence:
            return model.set_cadence(j, every=values["every"], at=values["at"],
                                     minutes=int(values["minutes"]), zone=values["zone"].strip(),
                                     alarm=int(values["alarm"]))

        self.write(save, message="Cadence saved")

    # ------------------------------------------------------------------ export
    def action_export(self) -> None:
        default = str(Path.home() / "comentor-checkins.ics")
        fields = [FieldSpec("path", "Save the check-in series as an iCalendar file", value=default,
                            validate=check_path),
                  FieldSpec("todos", "Add commitments and challenges with a due date as to-dos",
                            kind="checkbox", value=False)]

        def chosen(values: dict[str, Any] | None) -> None:
            if values is not None:
                self.notify("Exporting…")
                self.export_to(Path(str(values["path"]).strip()).expanduser(),
                               todos=bool(values.get("todos")))

        self.app.push_screen(FormModal("Export to calendar", fields, submit_label="Export"), chosen)

    @work(thread=True, exclusive=True, group="export")
    def export_to(self, path: Path, *, todos: bool = False) -> None:
        try:
            data = self.gateway.read(lambda j: model.export_ics(j, todos=todos))
            # never the journal's own files, a device or a folder; atomic, no temp file left
            model.write_file_safely(path, data, protect=model.journal_files(self.gateway.path))
        except (JournalError, OSError) as exc:
            self.app.call_from_thread(self.notify, f"Export failed: {exc}", severity="error",
                                      markup=False)
            return
        self.app.call_from_thread(self.notify, f"Saved the check-in series to {path}",
                                  title="Exported", markup=False)
