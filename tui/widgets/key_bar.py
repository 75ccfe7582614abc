"""A footer of key bindings drawn as one line of text.

Textual's Footer makes one widget per key and rebuilds them whenever the bindings change
(every focus change); with the dozen keys of a comentor screen that was the largest cost of
drawing the first frame. KeyBar shows the same thing — each shown binding of the screen as
"key description", the command palette at the right — as a single rendered line that is
simply refreshed. A click on a key runs it, as in the Footer. When the line is too long for
the terminal (80 columns), the screen's own keys come first, and Quit and the palette hint
always stay: every key is in the palette anyway.
"""

from __future__ import annotations

from typing import NamedTuple

from rich.cells import cell_len
from rich.text import Text
from textual import events
from textual.app import RenderResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widget import Widget

__all__ = ["KeyBar"]

_MORE = "… "  # where keys were left out for want of room


class _Entry(NamedTuple):
    """One key of the bar: its binding, how the key is shown, and whose it is (a named
    tuple: the bar is on the first screen, where a frozen dataclass costs half a
    millisecond to define)."""

    binding: Binding
    display: str
    enabled: bool
    mine: bool  # the screen's (or a widget's) own, not the app's

    @property
    def width(self) -> int:
        return cell_len(f" {self.display} {self.binding.description} ")


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

    def _entries(self) -> list[_Entry]:
        """The shown bindings of the screen, one per action, and always a way to quit (the
        hidden ctrl+q when `q` is not active: typed into a search box, say)."""
        out: list[_Entry] = []
        seen: set[str] = set()
        palette = self.app.COMMAND_PALETTE_BINDING
        quit_key: Binding | None = None
        for node, binding, enabled, _tooltip in self.screen.active_bindings.values():
            if binding.action == "quit" and quit_key is None:
                quit_key = binding
            if not binding.show or binding.action in seen or binding.key == palette:
                continue
            seen.add(binding.action)
            out.append(_Entry(binding, self.app.get_key_display(binding), enabled,
                              node is not self.app))
        if quit_key is not None and "quit" not in seen:
            out.append(_Entry(quit_key, self.app.get_key_display(quit_key), True, False))
        return out

    @staticmethod
    def _fit(entries: list[_Entry], room: int) -> tuple[list[_Entry], bool]:
        """What fits in `room` cells: the screen's own keys first (skipping one too wide for
        what is left), then the app's in their order, and Quit always last; True when some
        were left out (all are in the palette)."""
        rest = [e for e in entries if e.binding.action != "quit"]
        pinned = [e for e in entries if e.binding.action == "quit"][:1]
        budget = room - sum(e.width for e in pinned) - len(_MORE)
        keep: set[int] = set()
        for i in sorted(range(len(rest)), key=lambda i: (not rest[i].mine, i)):
            if rest[i].width > budget:
                if rest[i].mine:
                    continue
                break
            keep.add(i)
            budget -= rest[i].width
        return [e for i, e in enumerate(rest) if i in keep] + pinned, len(keep) < len(rest)

    def render(self) -> RenderResult:
        key_style = self.get_component_rich_style("keybar--key", partial=True)
        text = Text(no_wrap=True, overflow="ellipsis")
        self._spans = []
        palette = self.app.COMMAND_PALETTE_BINDING
        hint = (Text.assemble(("│ ", "dim"), (" ^p ", key_style), ("palette ", ""))
                if self.app.ENABLE_COMMAND_PALETTE else Text())
        entries = self._entries()
        room = self.size.width - (hint.cell_len + 1 if hint else 0)
        more = False
        if sum(e.width for e in entries) > room:  # narrow: keep Quit and the palette hint
            entries, more = self._fit(entries, room)
        for entry in entries:
            if more and entry.binding.action == "quit":
                text.append(_MORE, style="dim")
            start = text.cell_len
            text.append(f" {entry.display} ", style=key_style)
            text.append(f"{entry.binding.description} ", style="" if entry.enabled else "dim")
            self._spans.append((start, text.cell_len, entry.binding.key))
        if hint:
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
