"""Talking points: private drafts until shared, then on both agendas."""

from __future__ import annotations

from pathlib import Path

from comentor.model import _checkin as checkin
from comentor.model._journal import Journal
from comentor.tui.app import ComentorApp
from comentor.tui.screens.points import TalkingPointsScreen

from .screen_harness import Harness, fixed_now
from .test_screens import SIZE, fill, op_count, settle


async def test_a_draft_stays_private_until_shared(demo_path: Path) -> None:
    app = Harness(demo_path, TalkingPointsScreen())
    before = op_count(demo_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await pilot.press("N")
        fill(app.screen, text="How to price the studio")  # type: ignore[arg-type]
        await pilot.press("ctrl+s")
        await settle(pilot, app)
        assert op_count(demo_path) == before  # a draft is not an operation
        table = app.screen.table  # type: ignore[attr-defined]
        draft = next(k for k, it in table.items.items() if it["text"] == "How to price the studio")
        assert table.select_id(draft)
        await pilot.press("S")
        await settle(pilot, app)
    j = Journal.open(demo_path, now=fixed_now)
    try:
        assert [d["text"] for d in j.drafts()] == ["Am I ready to hire?"]
        agenda = {i.text for i in checkin.agenda(j) if i.section == "talking_points"}
        assert "How to price the studio" in agenda
    finally:
        j.close()


async def test_the_points_screen_is_one_key_away(demo_path: Path) -> None:
    app = ComentorApp(demo_path, now=fixed_now)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await pilot.press("o")
        await settle(pilot, app)
        assert isinstance(app.screen, TalkingPointsScreen)


async def test_a_draft_is_edited_in_place_and_stays_private(demo_path: Path) -> None:
    """`e` on a draft used to say "discard it and write a new one"; it edits it, and the
    change is no operation (the draft is still only on this device)."""
    app = Harness(demo_path, TalkingPointsScreen())
    before = op_count(demo_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        table = app.screen.table  # type: ignore[attr-defined]
        draft = next(k for k, it in table.items.items() if it.get("draft"))
        assert table.select_id(draft)
        await pilot.press("e")
        await settle(pilot, app)
        fill(app.screen, text="Am I ready to hire a second designer?")  # type: ignore[arg-type]
        await pilot.press("ctrl+s")
        await settle(pilot, app)
    assert op_count(demo_path) == before
    j = Journal.open(demo_path, now=fixed_now)
    try:
        assert [d["text"] for d in j.drafts()] == ["Am I ready to hire a second designer?"]
    finally:
        j.close()
