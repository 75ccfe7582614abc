"""A checkbox whose state is in its text, and the peer checklist built from them.

Textual's Checkbox draws the same "X" whether it is ticked or not and tells the two apart
only by colour, so on a monochrome terminal, under NO_COLOR, or for a colour-blind reader a
ticked box looks like an unticked one. A :class:`TickBox` draws "X" when ticked and a blank
when not (the colours stay as the theme has them), so the state reads in plain text.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from textual.content import Content
from textual.widgets import Checkbox

from comentor.model import PEER_CHECKLIST

__all__ = ["TickBox", "TICKED", "UNTICKED", "checklist_boxes", "checklist_text"]

TICKED = "X"
UNTICKED = " "


class TickBox(Checkbox):
    """A Checkbox showing ▐X▌ when ticked and ▐ ▌ when not."""

    def render(self) -> Content:
        # the inside of the button carries the state; Textual's own is always "X"
        self.BUTTON_INNER = TICKED if self.value else UNTICKED
        return super().render()


def checklist_boxes(ticked: Mapping[str, bool] | None = None,
                    prefix: str = "") -> Iterator[TickBox]:
    """One TickBox per box of the peer checklist (id: `prefix` + the box's key)."""
    for key, label in PEER_CHECKLIST:
        yield TickBox(label, value=bool((ticked or {}).get(key)), id=f"{prefix}{key}")


def checklist_text(ticked: Mapping[str, bool]) -> str:
    """The checklist as plain lines, "[x]" for a ticked box and "[ ]" for one left unticked."""
    return "\n".join(f"[{'x' if ticked.get(key) else ' '}] {label}"
                     for key, label in PEER_CHECKLIST)
