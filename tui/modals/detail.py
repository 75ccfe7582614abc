"""The whole of an item's text in a modal, scrollable: what enter on a list's row opens."""

from __future__ import annotations

from rich.console import RenderableType
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

__all__ = ["DetailModal"]


class DetailModal(ModalScreen[None]):
    """The whole of an item's text, scrollable (enter on a row)."""

    DEFAULT_CSS = """
    DetailModal { align: center middle; }
    DetailModal > VerticalScroll {
        width: 90; height: auto; max-height: 85%;
        border: thick $primary; background: $surface; padding: 1 2;
    }
    """
    BINDINGS = [Binding("escape,enter,q", "close", "Close")]

    def __init__(self, content: RenderableType) -> None:
        super().__init__()
        self._content = content

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(self._content, id="detail-modal-text")

    def action_close(self) -> None:
        self.dismiss(None)
