"""The schedule: the cadence, when the next check-in is due and how far it drifted, the
upcoming dates, changing the cadence, and exporting the series to a calendar file.

The cadence is edited in place and checked as it is typed, with the same parsers the
command line uses; the calendar export runs in a worker so a slow disk never freezes the app.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any, ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Header, Input, Label, Static

from comentor import model
from comentor.model import Cadence, Journal, NextCheckin, parse_every, parse_time
from comentor.model.errors import JournalError

from ..modals.fields import FieldSpec
from ..modals.form import FormModal
from ..widgets.key_bar import KeyBar
from .base import GatewayScreen

__all__ = ["ScheduleScreen", "check_every", "check_at", "check_minutes", "check_path"]

STATE_STYLE = {"on_time": "green", "due": "bold yellow", "overdue": "bold red", "lapsed": "bold red"}


def check_every(text: Any) -> str | None:
    try:
        parse_every(str(text or ""))
    except JournalError as exc:
        return str(exc)
    return None


def check_at(text: Any) -> str | None:
    try:
        parse_time(str(text or ""))
    except JournalError as exc:
        return str(exc)
    return None


def check_minutes(text: Any) -> str | None:
    try:
        minutes = int(str(text or "").strip())
    except ValueError:
        return "The length is a whole number of minutes (5 to 600)."
    return None if 5 <= minutes <= 600 else "A check-in lasts between 5 and 600 minutes."


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
        yield Header()
        with VerticalScroll(id="schedule-body"):
            yield Static("", id="next")
            yield Static("", id="upcoming")
            with Vertical(id="cadence-form"):
                yield Label("Cadence", classes="matrix-title")
                with Horizontal(classes="cad-row"):
                    for name, label, placeholder in (("every", "Every", "3w or 21d"),
                                                     ("at", "At (local)", "12:00"),
                                                     ("minutes", "Minutes", "30")):
                        with Vertical(classes="cad-field"):
                            yield Label(label)
                            yield Input(placeholder=placeholder, id=f"cad-{name}")
                            yield Static("", id=f"cad-error-{name}", classes="field-error", markup=False)
                with Horizontal(id="cadence-buttons"):
                    yield Button("Save cadence", id="save-cadence", variant="primary")
                    yield Button("Export .ics…", id="export")
        yield KeyBar()

    CHECKS = {"every": check_every, "at": check_at, "minutes": check_minutes}

    def refresh_data(self) -> None:
        self._load()

    @work(thread=True, exclusive=True, group="load")
    def _load(self) -> None:
        def fetch(j: Journal) -> tuple[Any, ...]:
            return (model.cadence(j), model.next_checkin(j), model.upcoming_checkins(j, 6),
                    j.today())

        try:
            cad, nxt, dates, today = self.gateway.read(fetch)
        except Exception as exc:  # noqa: BLE001 - shown in place, never a crash
            self.app.call_from_thread(self.error, str(exc))
            return
        self.app.call_from_thread(self._show, cad, nxt, dates, today)

    def _show(self, cad: Cadence, nxt: NextCheckin, dates: list[dt.datetime],
              today: dt.date) -> None:
        head = Text()
        head.append("Next check-in: ", style="bold")
        head.append(nxt.describe(today), style=STATE_STYLE.get(nxt.state, ""))
        head.append(f"\nCadence: {cad.describe()}")
        if nxt.state in ("overdue", "lapsed"):
            head.append("\nThe practice is drifting: agree on a date with your partner soon.",
                        style="italic")
        self.query_one("#next", Static).update(head)
        up = Text("Upcoming\n", style="bold underline")
        for d in dates:
            up.append(f"  {d.strftime('%a %d %b %Y %H:%M')}\n")
        self.query_one("#upcoming", Static).update(up)
        days = cad.every_days
        values = {"every": f"{days // 7}w" if days % 7 == 0 else f"{days}d",
                  "at": cad.at, "minutes": str(cad.minutes)}
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
                                     minutes=int(values["minutes"]))

        self.write(save, message="Cadence saved")

    # ------------------------------------------------------------------ export
    def action_export(self) -> None:
        default = str(Path.home() / "comentor-checkins.ics")
        fields = [FieldSpec("path", "Save the check-in series as an iCalendar file", value=default,
                            validate=check_path)]

        def chosen(values: dict[str, Any] | None) -> None:
            if values is not None:
                self.notify("Exporting…")
                self.export_to(Path(str(values["path"]).strip()).expanduser())

        self.app.push_screen(FormModal("Export to calendar", fields, submit_label="Export"), chosen)

    @work(thread=True, exclusive=True, group="export")
    def export_to(self, path: Path) -> None:
        try:
            data = self.gateway.read(model.export_ics)
            # never the journal's own files, a device or a folder; atomic, no temp file left
            model.write_file_safely(path, data, protect=model.journal_files(self.gateway.path))
        except (JournalError, OSError) as exc:
            self.app.call_from_thread(self.notify, f"Export failed: {exc}", severity="error",
                                      markup=False)
            return
        self.app.call_from_thread(self.notify, f"Saved the check-in series to {path}",
                                  title="Exported", markup=False)
