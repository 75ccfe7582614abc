"""The command palette: every screen of the catalog, the app's actions, and the keys of the
screen it was opened on, so that every action is reachable by name as well as by key.

Each help line ends with the command's key in brackets, "[g]", as the footer shows it. The
palette reads a help line as Textual markup, where "[g]" or "[N]" is a style tag and
vanishes, so every help line is escaped on its way out (:func:`literal`) and shows exactly
as written.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.content import Content

from .catalog import CATALOG

__all__ = ["ComentorCommands", "APP_ACTIONS", "literal"]

# (title, help, action string run on the app)
APP_ACTIONS: tuple[tuple[str, str, str], ...] = (
    ("Undo delete", "Bring back the last item deleted in the app  [u, on any screen]",
     "undo_delete"),
    ("Next theme", "Cycle through the Textual themes (remembered on this device)", "cycle_theme"),
    ("Quit", "Leave comentor", "quit"),
)


def literal(text: str) -> str:
    """Markup that shows `text` as it is. Textual's markup takes a backslash before "[" as
    a plain bracket and every other backslash as itself, so escaping each "[" is enough;
    `textual.markup.escape` leaves "[N]" or "[$x]" alone, and they would still vanish."""
    return text.replace("[", "\\[")


class ComentorCommands(Provider):
    """Screens from the catalog, app actions, and the current screen's bindings."""

    def _commands(self) -> list[tuple[str, str, Callable[[], object]]]:
        app = self.app
        out: list[tuple[str, str, Callable[[], object]]] = []
        for entry in CATALOG:
            key = app.get_key_display(Binding(entry.key, entry.title))  # "/", not "slash"
            out.append((f"Open {entry.title}", f"{entry.help}  [{key}]",
                        partial(app.run_action, f"open_screen('{entry.name}')")))
        for title, help_text, action in APP_ACTIONS:
            out.append((title, help_text, partial(app.run_action, action)))
        seen = {title for title, _, _ in out}
        screen = self.screen
        extra = getattr(screen, "palette_commands", None)
        if callable(extra):
            for title, help_text, action in extra():
                seen.add(title)
                out.append((title, help_text, partial(app.run_action, action, screen)))
        try:
            active = screen.active_bindings
        except Exception:  # noqa: BLE001 - a screen without bindings is fine
            active = {}
        for found in active.values():
            binding = found.binding
            if not binding.description or found.node is app:
                continue
            if found.node is not screen and not binding.show:
                continue  # a widget's own navigation (Up, Page Up...): not an action
            title = binding.description
            if title in seen:
                continue
            seen.add(title)
            out.append((title, f"{screen.__class__.__name__.replace('Screen', '')} "
                               f"[{app.get_key_display(binding)}]",
                        partial(app.run_action, binding.action, found.node)))
        return out

    async def discover(self) -> Hits:
        for title, help_text, run in self._commands():
            yield DiscoveryHit(Content(title), run, text=title, help=literal(help_text))

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, help_text, run in self._commands():
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, matcher.highlight(title), run, help=literal(help_text),
                          text=title)
