"""Picking what to add to the journal from a short list, in a modal (the check-in's `i`)."""

from __future__ import annotations

from collections.abc import Sequence

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

__all__ = ["KindPicker"]


class KindPicker(ModalScreen[str | None]):
    """Pick what to add (goal, ask, feedback, commitment or challenge); None if cancelled."""

    DEFAULT_CSS = """
    KindPicker { align: center middle; }
    KindPicker > Vertical {
        width: 40; height: auto; border: thick $primary; background: $surface; padding: 0 1;
    }
    KindPicker OptionList { height: auto; }
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, kinds: Sequence[str]) -> None:
        super().__init__()
        self.kinds = tuple(kinds)

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static("Add to the journal:", markup=False)
            yield OptionList(*[Option(f"New {k.replace('_', ' ')}", id=k)  # talking point
                               for k in self.kinds], id="kinds")

    def on_mount(self) -> None:
        self.call_after_refresh(self._ready)

    def _ready(self) -> None:
        lists = self.query(OptionList)
        if lists:
            lists.first().focus()
        else:  # children still mounting
            self.call_after_refresh(self._ready)

    @on(OptionList.OptionSelected)
    def _picked(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)
