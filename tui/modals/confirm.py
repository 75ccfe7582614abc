"""A yes/no question in a modal, for actions that are hard to take back (revoke, release).

It returns True or False through `dismiss`, so callers use `push_screen(ConfirmModal(...), cb)`
and never block the event loop waiting for an answer.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Static

__all__ = ["ConfirmModal"]


class ConfirmModal(ModalScreen[bool]):
    """Ask a yes/no question; `y`/`n`/escape answer from the keyboard, buttons with the mouse."""

    DEFAULT_CSS = """
    ConfirmModal { align: center middle; }
    /* never wider than the terminal: on 60 or 40 columns both answers stay on screen */
    ConfirmModal > #confirm-dialog {
        width: 64; max-width: 95%; height: auto; max-height: 80%;
        border: thick $warning; background: $surface; padding: 1 2;
    }
    ConfirmModal #confirm-title { text-style: bold; margin-bottom: 1; }
    ConfirmModal #confirm-message { height: auto; }
    ConfirmModal #confirm-buttons { height: auto; margin-top: 1; align-horizontal: right; }
    ConfirmModal Button { margin-left: 1; }
    /* narrow or short: the whole terminal, less padding, smaller buttons, so the question
       and both answers fit on 40x15 */
    ConfirmModal.-narrow > #confirm-dialog { max-width: 100%; padding: 0 1; }
    ConfirmModal.-narrow Button { min-width: 8; }
    ConfirmModal.-short > #confirm-dialog { max-height: 100%; padding: 0 1; }
    ConfirmModal.-short #confirm-title { margin-bottom: 0; }
    """

    BINDINGS = [
        Binding("y", "answer(True)", "Yes"),
        Binding("n", "answer(False)", "No"),
        Binding("escape", "answer(False)", "Cancel"),
    ]
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (60, "-normal")]
    VERTICAL_BREAKPOINTS = [(0, "-short"), (20, "-tall")]

    def __init__(self, message: str, *, title: str = "Are you sure?",
                 yes_label: str = "Yes", no_label: str = "No") -> None:
        super().__init__()
        self._message = message
        self._title = title
        self._yes = yes_label
        self._no = no_label

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm-dialog"):
            yield Label(self._title, id="confirm-title", markup=False)
            yield Static(self._message, id="confirm-message", markup=False)
            with Horizontal(id="confirm-buttons"):
                yield Button(self._no, id="confirm-no")
                yield Button(self._yes, id="confirm-yes", variant="warning")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(event.button.id == "confirm-yes")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)
