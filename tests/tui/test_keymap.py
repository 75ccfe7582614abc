"""One key map (issue 8, point 3): a global key is never shadowed by a screen, one action has
one key on every screen, the footer keeps Quit and the palette at 80 columns, and every
action stays in the command palette.

The walk covers every screen of the catalog (the check-in included); modals are not in the
catalog and are left out: they take the keyboard on purpose while they are open.
"""

from __future__ import annotations

import importlib
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
from textual.binding import Binding
from textual.geometry import Region
from textual.screen import Screen

from comentor.tui.app import ComentorApp
from comentor.tui.catalog import CATALOG
from comentor.tui.palette import ComentorCommands
from comentor.tui.widgets.key_bar import KeyBar

from .helpers import fixed_now, wait_for
from .test_screens import settle

# what Textual's own Screen binds (focus moves, copy): not comentor's key map
_TEXTUAL = {(b.key, b.action) for bindings in Screen._merged_bindings.key_to_bindings.values()
            for b in bindings}


def _screen_class(name: str) -> type[Screen[Any]]:
    entry = next(e for e in CATALOG if e.name == name)
    cls: type[Screen[Any]] = getattr(importlib.import_module(
        f"comentor.tui.screens.{entry.module}"), entry.cls)
    return cls


def _bindings(cls: type[Any]) -> list[Binding]:
    """The bindings a class declares or inherits from comentor's classes (Textual's own
    focus and copy keys left out)."""
    merged = cls._merged_bindings
    assert merged is not None
    return [b for bindings in merged.key_to_bindings.values() for b in bindings
            if (b.key, b.action) not in _TEXTUAL]


def _global_keys() -> dict[str, str]:
    """The app's keys (Textual's system ctrl+c, which its Screen takes for copy, left out)."""
    keys = {b.key: b.action for b in _bindings(ComentorApp) if not b.system}
    keys[ComentorApp.COMMAND_PALETTE_BINDING] = "command_palette"
    return keys


SCREENS = [e.name for e in CATALOG]


def test_the_walk_covers_every_screen_and_the_check_in() -> None:
    assert "checkin" in SCREENS and "dashboard" in SCREENS
    for name in SCREENS:
        assert issubclass(_screen_class(name), Screen)


@pytest.mark.parametrize("name", SCREENS)
def test_no_screen_binds_a_global_key(name: str) -> None:
    globals_ = _global_keys()
    clashes = {b.key: (b.action, globals_[b.key]) for b in _bindings(_screen_class(name))
               if b.key in globals_}
    assert clashes == {}, f"{name} shadows the app's keys: {clashes}"


def test_one_action_has_one_key_on_every_screen() -> None:
    keys: dict[str, dict[frozenset[str], list[str]]] = defaultdict(lambda: defaultdict(list))
    for name in SCREENS:
        per_action: dict[str, set[str]] = defaultdict(set)
        for b in _bindings(_screen_class(name)):
            per_action[b.action].add(b.key)
        for action, bound in per_action.items():
            keys[action][frozenset(bound)].append(name)
    differing = {action: {"/".join(sorted(k)): where for k, where in by_keys.items()}
                 for action, by_keys in keys.items() if len(by_keys) > 1}
    assert differing == {}, f"one action, different keys on different screens: {differing}"


def test_the_item_actions_have_the_keys_the_guide_names() -> None:
    expected = {"new": {"N"}, "edit": {"e"}, "delete": {"X", "delete"}, "done": {"D"},
                "drop": {"r"}, "toggle_all": {"t"}, "restore": {"r"}}
    seen: dict[str, set[str]] = defaultdict(set)
    for name in SCREENS:
        for b in _bindings(_screen_class(name)):
            if b.action in expected:
                seen[b.action].add(b.key)
    assert seen == expected
    assert _global_keys()["u"] == "undo_delete"


async def _open(pilot: Any, app: ComentorApp, name: str) -> None:
    app.action_open_screen(name)
    cls = next(e.cls for e in CATALOG if e.name == name)
    await wait_for(pilot, lambda: type(app.screen).__name__ == cls, what=name)
    await settle(pilot, app)


async def test_every_global_key_reaches_the_app_on_every_screen(demo_path: Path) -> None:
    """The same, live: with each screen open (its widgets mounted and focused), every key
    of the app still runs the app's action, whoever has the focus."""
    app = ComentorApp(demo_path, now=fixed_now)
    globals_ = _global_keys()
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, lambda: getattr(app.screen, "loads", 0) > 0)
        for name in SCREENS:
            await _open(pilot, app, name)
            active = app.screen.active_bindings
            taken = {key: type(active[key].node).__name__ for key in globals_
                     if key in active and active[key].node is not app}
            assert taken == {}, f"on {name}: {taken}"


def _footer(app: ComentorApp) -> str:
    bar = app.screen.query_one(KeyBar)
    return "".join(s.text for s in bar.render_lines(Region(0, 0, bar.size.width, 1)))


async def test_the_footer_keeps_quit_and_the_palette_at_80_columns(demo_path: Path) -> None:
    app = ComentorApp(demo_path, now=fixed_now)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: getattr(app.screen, "loads", 0) > 0)
        for name in ("dashboard", "goals", "commitments", "challenges", "checkin",
                     "conflicts", "search", "deleted"):
            if name != "dashboard":
                await _open(pilot, app, name)
            shown = _footer(app)
            assert len(shown) <= 80
            assert "Quit" in shown and shown.rstrip().endswith("^p palette"), (name, shown)
            if name in ("goals", "commitments"):
                assert " N New " in shown and " X Delete " in shown and " D " in shown
            await pilot.press("escape")
            await settle(pilot, app)


async def test_every_screen_action_is_in_the_palette(demo_path: Path) -> None:
    app = ComentorApp(demo_path, now=fixed_now)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, lambda: getattr(app.screen, "loads", 0) > 0)
        for name in SCREENS:
            if name != "dashboard":
                await _open(pilot, app, name)
            titles = {title for title, _, _ in ComentorCommands(app.screen)._commands()}
            # the screen's actions that apply now (the check-in offers "End step" only
            # while one is running, say), shown in the footer or not
            described = {a.binding.description for a in app.screen.active_bindings.values()
                         if a.node is app.screen and a.binding.description}
            assert described and described - titles == set(), name
            assert {"Undo delete", "Next theme", "Quit"} <= titles
