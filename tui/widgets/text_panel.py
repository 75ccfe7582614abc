"""A box of text that scrolls, drawn as one widget.

The dashboard's six panels were each a scrolling container holding a Static: two widgets a
panel, each styled, laid out and drawn on the first frame, and a scrollbar that came only
on the frame after (the container learnt that its text did not fit once it had been drawn
without one). A TextPanel is one widget that draws its own lines (Textual's Line API,
`ScrollView`): the text is wrapped to the room the compositor gives it, less a scrollbar's
width when it does not fit, so the first frame already has the scrollbar it needs. It looks
and scrolls as the container did: the text is rendered as a Static renders it (the same
Visual, to the same strips, the same blank background below it), with the same bindings,
focus, scrollbar and text selection.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from rich.style import Style as RichStyle
from textual.geometry import Region, Size
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.visual import Visual, VisualType, visualize
from textual.widget import Widget

if TYPE_CHECKING:
    from textual.css.styles import RulesMap
    from textual.selection import Selection

__all__ = ["TextPanel"]


class TextPanel(ScrollView, can_focus=True):
    """Text (a str, Rich Text or Content, never markup) in a box that scrolls vertically."""

    ALLOW_MAXIMIZE = False  # as the scrolling container it replaces

    DEFAULT_CSS = """
    TextPanel {
        overflow-x: hidden;
        overflow-y: auto;
    }
    """

    def __init__(self, content: VisualType = "", *, id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._content = content
        self._visual: Visual | None = None
        self._heights: dict[int, int] = {}  # lines of the text at a width
        self._width = 0  # the width the text is wrapped to (set as the panel is laid out)
        self._strips: list[Strip] = []
        self._strips_key: tuple[int, object] | None = None

    @property
    def content(self) -> VisualType:
        """The text as given (what `update` last set)."""
        return self._content

    @property
    def visual(self) -> Visual:
        if self._visual is None:
            self._visual = visualize(self, self._content, markup=False)
        return self._visual

    def update(self, content: VisualType) -> None:
        """Show other text (laid out again: the number of lines may change)."""
        self._content = content
        self._visual = None
        self._heights.clear()
        self._strips_key = None
        self.refresh(layout=True)

    def get_selection(self, selection: Selection) -> tuple[str, str] | None:
        """The selected part of the text, as a Static gives it."""
        return selection.extract(str(self.visual)), "\n"

    def _height(self, width: int) -> int:
        if width not in self._heights:
            rules = cast("RulesMap", self.styles)  # what Textual passes for a Static's height
            self._heights[width] = self.visual.get_height(rules, width)
        return self._heights[width]

    def _get_scrollable_region(self, region: Region) -> Region:
        # The compositor asks this while it lays the panel out, with the room inside the
        # border: the text is wrapped to that room, less a scrollbar when it does not fit,
        # and its lines are the scrollable size. The scrollbar is then in this layout.
        width, height = region.size
        width = max(width, 1)  # wrapping to no width fails: a line too wide is cropped
        overflow = self.styles.overflow_y
        show = overflow == "scroll" or (overflow == "auto" and self._height(width) > height)
        if show:
            width = max(width - self.styles.scrollbar_size_vertical, 1)
        self._width = width
        self.set_reactive(Widget.virtual_size, Size(width, self._height(width)))
        self.set_reactive(Widget.show_vertical_scrollbar, show)
        return super()._get_scrollable_region(region)

    def selection_updated(self, selection: Selection | None) -> None:
        self._strips_key = None
        self.refresh()

    def render_line(self, y: int) -> Strip:
        width, style = self._width, self.visual_style
        if self._strips_key != (width, style):  # wrapped again when the width or style changes
            self._strips = Visual.to_strips(self, self.visual, width, None, style)
            self._strips_key = (width, style)
        index = y + self.scroll_offset.y
        if 0 <= index < len(self._strips):
            return self._strips[index]
        # below the text: the background alone, as a container draws where no child is
        return Strip.blank(width, RichStyle.from_color(bgcolor=self.background_colors[1].rich_color))
