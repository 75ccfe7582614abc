"""A footer of key bindings drawn as one line of text.

Textual's Footer makes one widget per key and rebuilds them whenever the bindings change
(every focus change); with the dozen keys of a comentor screen that was the largest cost of
drawing the first frame. KeyBar shows the same thing — each shown binding of the screen as
"key description", the command palette at the right — as a single rendered line that is
simply refreshed. A click on a key runs it, as in the Footer.
"""

from __future__ import annotations

from rich.text import Text
from textual import events
from textual.app import RenderResult
from textual.screen import Screen
from textual.widget import Widget

__all__ = ["KeyBar"]


class KeyBar(Widget):
    """The bindings of the current screen, in one line at the bottom."""

    DEFAULT_CSS = """
    KeyBar {
        dock: bottom;
        height: 1;
        background: $footer-background;
        color: $footer-foreground;
    }
    """

    def __init__(self) -> None:
        super().__init__()
        self._spans: list[tuple[int, int, str]] = []  # (start, end, key)

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def _bindings_changed(self, _screen: Screen[object]) -> None:
        self.refresh()

    def render(self) -> RenderResult:
        key_style = self.get_component_rich_style("keybar--key", partial=True)
        text = Text(no_wrap=True, overflow="ellipsis")
        self._spans = []
        seen: set[str] = set()
        palette = self.app.COMMAND_PALETTE_BINDING
        for _node, binding, enabled, _tooltip in self.screen.active_bindings.values():
            if not binding.show or binding.action in seen or binding.key == palette:
                continue
            seen.add(binding.action)
            start = text.cell_len
            text.append(f" {self.app.get_key_display(binding)} ", style=key_style)
            text.append(f"{binding.description} ", style="" if enabled else "dim")
            self._spans.append((start, text.cell_len, binding.key))
        if self.app.ENABLE_COMMAND_PALETTE:
            hint = Text.assemble(("│ ", "dim"), (" ^p ", key_style), ("palette ", ""))
            gap = max(1, self.size.width - text.cell_len - hint.cell_len)
            text.append(" " * gap)
            self._spans.append((text.cell_len, text.cell_len + hint.cell_len, palette))
            text.append_text(hint)
        return text

    COMPONENT_CLASSES = {"keybar--key"}

    DEFAULT_CSS += """
    KeyBar > .keybar--key {
        color: $footer-key-foreground;
        background: $footer-key-background;
        text-style: bold;
    }
    """

    def on_click(self, event: events.Click) -> None:
        for start, end, key in self._spans:
            if start <= event.x < end:
                self.app.simulate_key(key)
                return
