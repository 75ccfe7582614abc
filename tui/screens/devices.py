"""The partnership and its devices: the peer checklist, safety numbers, renaming one's own
devices, revoking a lost one.

Trust starts from pairing; this screen shows whom the journal trusts and lets the user take
trust back from a lost device. Pairing starts here too (i invites, j joins), in modals that
run the same flow as `comentor invite` / `comentor join`.
"""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import DataTable, Label, Static

from comentor.model import (
    PEER_CHECKLIST,
    Journal,
    confirm_checklist,
    device_removal,
    list_devices,
    partnership_state,
    rename_device,
    revoke_device,
)

from ..modals.confirm import ConfirmModal
from ..modals.fields import FieldSpec
from ..modals.form import FormModal
from ..text import one_line
from ..widgets.key_bar import KeyBar
from ..widgets.title_bar import TitleBar
from .base import GatewayScreen

__all__ = ["DevicesScreen", "removed_line"]

CHECKS = PEER_CHECKLIST  # the wording both partners saw at the first run

PAIRING_HELP = (
    "To pair a device: one partner presses i here (or runs  comentor invite ) and reads the code "
    "aloud; the other presses j (or runs  comentor join CODE ). Then compare the safety number "
    "on both screens. The same flow adds your own second device."  # wrapped by the widget
)


def removed_line(notice: str) -> str:
    """The app's one line for a revoked device (`notice`: ``Removal.notice()``)."""
    return f"{one_line(notice)}. To share again, pair it as a new device."


class DevicesScreen(GatewayScreen):
    SCREEN_TITLE = "Partnership & devices"
    DEFAULT_CSS = """
    DevicesScreen #devices-body { padding: 0 1; }
    DevicesScreen .section-title { text-style: bold; margin-top: 1; }
    DevicesScreen #partnership, DevicesScreen #pairing-help { height: auto; }
    DevicesScreen #devices { height: auto; max-height: 16; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("C", "checklist", "Peer checklist"),
        Binding("e", "rename", "Rename device"),
        Binding("r", "revoke", "Revoke device"),
        Binding("i", "invite", "Invite"),
        Binding("j", "join", "Join"),
    ]

    def __init__(self, focus: str | None = None) -> None:
        super().__init__(focus)
        self.devices: list[dict[str, Any]] = []
        self.partnership: dict[str, Any] = {}

    def compose(self) -> ComposeResult:
        yield TitleBar()
        with VerticalScroll(id="devices-body"):
            yield Label("Partnership", classes="section-title")
            yield Static("", id="partnership")
            yield Label("Devices", classes="section-title")
            yield DataTable(id="devices", cursor_type="row", zebra_stripes=True)
            yield Label("Pairing", classes="section-title")
            yield Static(PAIRING_HELP, id="pairing-help", markup=False)
        yield KeyBar()

    def on_mount(self) -> None:
        self.query_one("#devices", DataTable).add_columns("", "Owner", "Device", "Id",
                                                           "Safety number", "State")

    def refresh_data(self) -> None:
        def fetch(j: Journal) -> tuple[dict[str, Any], list[dict[str, Any]], dict[str, Any]]:
            state = partnership_state(j)
            gone = device_removal(j)
            info = {"me": state.name(state.me),
                    "partner": state.name(state.partner) if state.partner else None,
                    "paired": state.paired, "demo": state.demo,
                    "removed": removed_line(gone.notice()) if gone else None}
            return j.get("partnership", "partnership") or {}, list_devices(j), info

        self.fetch("load", fetch, lambda found: self._show(*found))

    def _show(self, partnership: dict[str, Any], found: list[dict[str, Any]],
              info: dict[str, Any]) -> None:
        self.partnership, self.devices = partnership, found
        text = Text()
        me = one_line(info["me"])  # names, like device names, may come from the partner
        if info["partner"]:
            who = f"{me} and {one_line(info['partner'])}"
        else:  # paired with one's own device only, or not at all
            who = me if info["paired"] else f"{me} (not paired yet)"
        text.append(f"{who}\n", style="bold")
        if info["demo"]:
            text.append("This is a demo journal: it never syncs.\n", style="italic yellow")
        if info.get("removed"):
            text.append(f"{one_line(info['removed'])}\n", style="bold red")
        confirmed = partnership.get("confirmed_at")
        for key, label in CHECKS:
            ok = bool(partnership.get(key))
            text.append("  ✔ " if ok else "  ✘ ", style="green" if ok else "red")
            text.append(f"{label}\n")
        text.append(f"Checklist confirmed {confirmed[:10]}\n" if confirmed else
                    "Checklist not confirmed yet: press C.\n", style="dim")
        self.query_one("#partnership", Static).update(text)
        table = self.query_one("#devices", DataTable)
        keep = table.cursor_row
        table.clear()
        for d in found:
            state = Text("revoked", style="red") if d.get("revoked_at") else Text("trusted", style="green")
            table.add_row("▶ this device" if d["this_device"] else "", Text(one_line(d["owner"])),
                          Text(one_line(d.get("name") or "")),
                          d["id"][:12], "—" if d["this_device"] else d["safety_number"], state,
                          key=d["id"])
        if 0 <= keep < table.row_count:
            table.move_cursor(row=keep)

    def action_checklist(self) -> None:
        fields = [FieldSpec(key, label, "checkbox", bool(self.partnership.get(key)))
                  for key, label in CHECKS]

        def save(values: dict[str, Any] | None) -> None:
            if values is None:
                return

            def confirm(j: Journal) -> None:
                confirm_checklist(j, outside_company=bool(values["outside_company"]),
                                  outside_market=bool(values["outside_market"]),
                                  similar_stage=bool(values["similar_stage"]))

            self.write(confirm, message="Checklist saved")

        self.app.push_screen(FormModal("A partnership between peers", fields, submit_label="Confirm"),
                             save)

    def action_invite(self) -> None:
        from .pairing import InviteModal

        self.app.push_screen(InviteModal(), lambda _paired: self.refresh_data())

    def action_join(self) -> None:
        from .pairing import JoinModal

        self.app.push_screen(JoinModal(), lambda _paired: self.refresh_data())

    def _highlighted(self) -> dict[str, Any] | None:
        table = self.query_one("#devices", DataTable)
        if not self.devices or not 0 <= table.cursor_row < len(self.devices):
            return None
        return self.devices[table.cursor_row]

    def action_rename(self) -> None:
        """Rename the highlighted device, if it is one of yours and not revoked (said at
        once otherwise; the journal checks the name itself, in the form)."""
        d = self._highlighted()
        if d is None:
            return
        mine = next((x["person"] for x in self.devices if x["this_device"]), None)
        if d.get("person") != mine:
            self.notify(f"That is {d['owner']}'s device: only its owner renames it.",
                        severity="warning", markup=False)
            return
        if d.get("revoked_at"):
            self.notify("That device is revoked: its name stays as it was.", markup=False)
            return
        field = FieldSpec("name", "Device name", value=d.get("name") or "", required=True)

        def save(values: dict[str, Any]) -> None:
            self.write(rename_device, d["id"], str(values["name"]),
                       message="Device renamed: your partner sees it after your next sync")

        self.open_form(FormModal(f"Rename “{one_line(d.get('name') or 'device')}”", [field],
                                 submit_label="Rename"), save)

    def action_revoke(self) -> None:
        d = self._highlighted()
        if d is None:
            return
        if d["this_device"]:
            self.notify("This is the device you are using: revoke it from another device.",
                        severity="warning")
            return
        if d.get("revoked_at"):
            self.notify("That device is already revoked.")
            return

        name, owner = one_line(d.get("name") or d["id"]), one_line(d["owner"])

        def answer(yes: bool | None) -> None:
            if yes:
                self.write(revoke_device, d["id"], message=f"Revoked {name}")

        last = (f" It is {owner}'s last device: they can sync with you again only by "
                "pairing anew.") if d.get("last_of_owner") else ""
        self.app.push_screen(ConfirmModal(
            f"Revoke “{name}” of {owner}? Its changes will be refused from now on, "
            f"on every paired device. Do this for a lost or stolen device.{last}",
            title="Revoke a device", yes_label="Revoke"), answer)
