"""The header of every screen: Textual's Header, minus one race.

Textual's Header updates its title from watchers on the app's and the screen's title. A
watcher that fires while the header's own title widget is not (or no longer) mounted (a
screen's subtitle set as the screen is swapped out, or before the header's children are in
place on a loaded machine) raises NoMatches inside the app and ends it. This header makes
the same update and skips it when there is nothing to update yet: the next title change, or
the header's own mount, shows the current title.
"""

from __future__ import annotations

from textual.css.query import NoMatches
from textual.dom import NoScreen
from textual.events import Mount
from textual.widget import Widget
from textual.widgets import Header
from textual.widgets._header import HeaderTitle

__all__ = ["TitleBar"]


class TitleBar(Header):
    """A Header whose title updates never fail on a header that is coming or going."""

    def _on_mount(self, event: Mount) -> None:
        event.prevent_default()  # Header's own handler would register the unguarded watchers
        Widget._on_mount(self, event)  # what the base class does on mount (scroll bars)

        def set_title() -> None:
            try:
                self.query_one(HeaderTitle).update(self.format_title())
            except (NoMatches, NoScreen):
                pass  # not mounted yet, or being removed: nothing to show the title in

        for obj in (self.app, self.screen):
            self.watch(obj, "title", set_title)
            self.watch(obj, "sub_title", set_title)
