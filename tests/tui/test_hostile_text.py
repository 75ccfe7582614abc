"""User text is never read as markup: a partner named "Jonas [/]" breaks no screen."""

from __future__ import annotations

from pathlib import Path

import pytest

from comentor.model._journal import Journal
from comentor.tui.app import ComentorApp

from .screen_harness import fixed_now
from .test_screens import SIZE, settle


@pytest.mark.parametrize("key", ["w", "k", "p", "a", "m", "h", "g", "o", "d", "c"])
async def test_markup_in_names_and_texts_is_shown_as_text(demo_path: Path, key: str) -> None:
    j = Journal.open(demo_path, now=fixed_now)
    partner = j.partner()
    assert partner is not None
    j.put("people", partner, name="Jonas [/] [bold]")
    j.put("goals", None, text="Ship v2 [/] of the [red]site", person=j.me, status="open")
    j.close()
    app = ComentorApp(demo_path, now=fixed_now)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await pilot.press(key)
        await settle(pilot, app)
        assert app.is_running
