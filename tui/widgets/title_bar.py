"""The header of every screen: Textual's Header, drawn as one widget.

Textual's Header is four widgets (the header, its icon, its title, the room of its clock),
each styled, laid out and drawn on every screen's first frame; on the dashboard that was a
quarter of the screen's widgets for one line of text. TitleBar draws the same line itself:
the icon in the first 8 cells (the palette opens on a click there, with the same tooltip and
hover shade), the app's formatted title and subtitle centred in the cells between the icon
and the 10 cells the clock would take, cut with an ellipsis when they do not fit, and a click
elsewhere makes it three lines tall or one again, as Header does. It draws the very segments
Header's children draw (the snapshot tests compare them), from 18 columns up; narrower, where
Header's icon and clock overlap, it keeps the clock's room and crops the icon.

Header updated its title from watchers that looked its title widget up, which failed when a
title changed while that widget was not (or no longer) mounted; with nothing to look up, a
title change is a refresh.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from rich.segment import Segment
from rich.style import Style as RichStyle
from textual import events
from textual.content import Content
from textual.strip import Strip
from textual.style import Style
from textual.visual import RenderOptions
from textual.widget import Widget

if TYPE_CHECKING:
    from textual.css.styles import RulesMap

__all__ = ["TitleBar"]

ICON = "⭘"
ICON_WIDTH = 8  # Header's icon: 8 cells, the icon after one cell of padding
CLOCK_WIDTH = 10  # the room Header keeps on the right for its clock (none shown)
_NOT_REVERSE = Style(reverse=False)  # what Textual adds to the cells it aligns content in
# Header's title: one line, an ellipsis where it is cut
_TITLE_RULES = cast("RulesMap", {"text_wrap": "nowrap", "text_overflow": "ellipsis"})


class TitleBar(Widget):
    """The screen's title and subtitle in one line at the top (three when clicked)."""

    DEFAULT_CSS = """
    TitleBar {
        dock: top;
        width: 100%;
        background: $panel;
        color: $foreground;
        height: 1;
    }
    TitleBar.-tall {
        height: 3;
    }
    TitleBar > .titlebar--icon-hover {
        background: $foreground 10%;
    }
    """

    COMPONENT_CLASSES = {"titlebar--icon-hover"}

    def __init__(self) -> None:
        super().__init__()
        self._icon_hover = False

    def on_mount(self) -> None:
        for obj in (self.app, self.screen):
            self.watch(obj, "title", self._title_changed, init=False)
            self.watch(obj, "sub_title", self._title_changed, init=False)

    def _title_changed(self) -> None:
        self.refresh()

    @property
    def _palette(self) -> bool:
        """Whether the icon opens the command palette (Header disables it otherwise)."""
        return self.app.ENABLE_COMMAND_PALETTE

    def format_title(self) -> Content:
        """The screen's title (else the app's) and subtitle, as Header formats them."""
        screen = self.screen
        title = screen.title if screen.title is not None else self.app.title
        sub_title = screen.sub_title if screen.sub_title is not None else self.app.sub_title
        return self.app.format_title(title, sub_title)

    def render_line(self, y: int) -> Strip:
        """Line `y`, segment for segment what Header's three children draw there (the
        snapshot tests compare segments): the icon's cells, the title's room, the clock's."""
        width = self.size.width
        room = max(width - ICON_WIDTH - CLOCK_WIDTH, 0)
        style = self.visual_style
        pad = RichStyle.from_color(bgcolor=self.background_colors[1].rich_color)
        text = style.rich_style
        tall = self.size.height >= 3
        icon_row = 1 if tall else 0
        # the icon: one cell of padding either side of six cells, the icon left in them
        icon_style, icon_pad = style, pad
        if self._icon_hover:
            shade = self.get_component_styles("titlebar--icon-hover").background
            icon_style = style + Style(background=shade)
            icon_pad = RichStyle.from_color(bgcolor=(self.background_colors[1] + shade).rich_color)
        aligned = (icon_style + _NOT_REVERSE).rich_style
        inner = ICON_WIDTH - 2
        if y == icon_row:
            icon = [Segment(ICON, icon_style.rich_style), Segment(" " * (inner - 1), aligned)]
        else:
            icon = [Segment(" " * inner, aligned)]
        strip = Strip([Segment(" ", icon_pad), *icon, Segment(" ", icon_pad)], ICON_WIDTH)
        if width < ICON_WIDTH + CLOCK_WIDTH:  # too narrow for a title: the clock's room wins
            strip = strip.crop(0, max(width - CLOCK_WIDTH, 0))
        segments = list(strip)
        # the title: on the first line, centred in its room; the header's background below
        if y == 0:
            segments += self._title_segments(room, style)
        elif room:
            segments.append(Segment(" " * room, pad))
        # the clock's room (no clock): Header's empty clock space
        clock = [Segment("", text), Segment(" " * 8, pad)] if y == 0 else [Segment(" " * 8, text)]
        segments += [Segment(" ", pad), *clock, Segment(" ", pad)]
        return Strip(segments).crop(0, width)

    def _title_segments(self, room: int, style: Style) -> list[Segment]:
        """The title and subtitle as Header's title (a Static) draws them: one line cut
        with an ellipsis to `room`, centred in it."""
        if room <= 0:
            return []
        strips = self.format_title().render_strips(
            room, 1, style, RenderOptions(self._get_style, _TITLE_RULES))
        if not strips:
            return []
        strip = strips[0]
        used = strip.cell_length
        if used == room:
            return list(strip)
        left, right = (room - used) // 2, room - used - (room - used) // 2
        blank = (style + _NOT_REVERSE).rich_style
        return [*([Segment(" " * left, blank)] if left else []), *strip,
                *([Segment(" " * right, blank)] if right else [])]

    # ------------------------------------------------------------------ mouse
    def _over_icon(self, x: int) -> bool:
        return self._palette and 0 <= x < ICON_WIDTH

    def on_mouse_move(self, event: events.MouseMove) -> None:
        self._set_icon_hover(self._over_icon(event.x))

    def on_leave(self, _event: events.Leave) -> None:
        self._set_icon_hover(False)

    def _set_icon_hover(self, hover: bool) -> None:
        if hover != self._icon_hover:
            self._icon_hover = hover
            self.tooltip = "Open the command palette" if hover else None
            self.refresh()

    async def on_click(self, event: events.Click) -> None:
        """The icon opens the command palette; anywhere else toggles the tall header."""
        event.stop()
        if self._over_icon(event.x):
            await self.run_action("app.command_palette")
        elif event.x >= ICON_WIDTH:  # the icon does nothing when the palette is off
            self.toggle_class("-tall")
