"""The review screen (issue 10, point 1) on the demo journal, through the app's own keys:
`v` from the dashboard opens it, the data arrives from a worker, `y` switches to the year
in review, ctrl+o saves the same review as one HTML file, and the palette offers it all."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual.widgets import Label

from comentor.tui.app import ComentorApp
from comentor.tui.modals.form import FormModal
from comentor.tui.palette import ComentorCommands
from comentor.tui.screens.review import ReviewScreen
from comentor.tui.widgets.review_charts import CheckinStrip, GoalTrack, QuarterBars
from tests.model.test_review import assert_self_contained

from .helpers import fixed_now, wait_for
from .test_screens import error_of, fill, settle

SIZE = (120, 36)


async def _open_review(pilot: object, app: ComentorApp) -> ReviewScreen:
    await wait_for(pilot, lambda: getattr(app.screen, "loads", 0) > 0, what="dashboard")  # type: ignore[arg-type]
    await pilot.press("v")  # type: ignore[attr-defined]
    await wait_for(pilot, lambda: isinstance(app.screen, ReviewScreen)  # type: ignore[arg-type]
                   and app.screen.loads > 0, what="review")
    await settle(pilot, app)
    screen = app.screen
    assert isinstance(screen, ReviewScreen)
    return screen


async def test_v_opens_the_review_with_its_charts(demo_path: Path) -> None:
    app = ComentorApp(demo_path, now=fixed_now)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open_review(pilot, app)
        r = screen.review
        assert r is not None and r.names == ("Maya Okafor", "Jonas Berg") and not r.is_year
        strip = str(screen.query_one(CheckinStrip).content)
        assert "17 held of 17 planned" in strip and strip.count("■") == 17 + 1  # + legend
        wins = str(screen.query_one(QuarterBars).content)
        assert "2026 Q1" in wins and "Maya" in wins and "Jonas" in wins
        tracks = list(screen.query(GoalTrack))
        assert len(tracks) == len(r.goals) == 8
        # a goal's track rises with its updates, on the one 0..100 scale
        columns = [v for v in tracks[0].columns(40) if v is not None]
        assert columns == sorted(columns) and columns[-1] == r.goals[0].latest
        names = [str(label.content) for label in screen.query(".goal-person").results(Label)]
        assert names == ["Maya Okafor", "Jonas Berg"]

        await pilot.press("y")
        await wait_for(pilot, lambda: screen.loads > 1 and screen.review is not None
                       and screen.review.is_year, what="year in review")
        assert screen.sub_title.startswith("the last year")
        await pilot.press("y")
        await wait_for(pilot, lambda: screen.loads > 2, what="back to everything")
        assert screen.review is not None and not screen.review.is_year

        await pilot.press("escape")
        await settle(pilot, app)
        assert type(app.screen).__name__ == "DashboardScreen"


async def test_the_palette_offers_the_review_and_its_actions(demo_path: Path) -> None:
    app = ComentorApp(demo_path, now=fixed_now)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: getattr(app.screen, "loads", 0) > 0, what="dashboard")
        titles = {t for t, _, _ in ComentorCommands(app.screen)._commands()}
        assert "Open Review" in titles
        await _open_review(pilot, app)
        titles = {t for t, _, _ in ComentorCommands(app.screen)._commands()}
        assert {"Year/all", "Save review", "Back"} <= titles


async def test_ctrl_o_saves_the_review_as_one_page(demo_path: Path, tmp_path: Path) -> None:
    app = ComentorApp(demo_path, now=fixed_now)
    async with app.run_test(size=SIZE) as pilot:
        await _open_review(pilot, app)
        await pilot.press("ctrl+o")
        form = app.screen
        assert isinstance(form, FormModal)
        fill(form, path=str(tmp_path / "review.txt"))
        await pilot.press("ctrl+s")
        assert ".html" in error_of(form, "path")
        fill(form, path=str(tmp_path / "review.html"))
        await pilot.press("ctrl+s")
        await settle(pilot, app)
        await wait_for(pilot, lambda: (tmp_path / "review.html").exists(), what="the file")
    page = (tmp_path / "review.html").read_text(encoding="utf-8")
    parsed = assert_self_contained(page)
    assert "Review: Maya Okafor & Jonas Berg" in "".join(parsed.text)


async def test_markup_in_user_text_is_shown_as_typed(tmp_path: Path) -> None:
    """Names, goals, baselines and stories are drawn as text: "[b]" or "[link=…]" typed by
    a partner never becomes style, a link or a markup error on the review screen."""
    from comentor import model
    from comentor.model import Journal

    from .screen_harness import Harness
    from .screen_harness import fixed_now as harness_now

    path = tmp_path / "journal.db"
    marked = "[b]bold[/b] [link=https://evil.example]x[/link] [/]"
    j = Journal.create(path, f"Ada {marked}", now=harness_now)
    model.record_baseline(j, role=marked, situation=f"{marked}\nline two", clients=marked)
    goal = model.add_goal(j, f"Goal {marked}")
    model.add_update(j, goal, "progress", progress=40)
    model.write_story(j, f"Story {marked}")
    model.add_win(j, f"Win {marked}")
    j.close()
    app = Harness(path, ReviewScreen())
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: getattr(app.screen, "loads", 0) > 0, what="review")
        screen = app.screen
        goals = [str(label.content) for label in screen.query(".goal-name").results(Label)]
        assert goals == [f"Goal {marked} (near, open)"]
        assert [str(label.content) for label in screen.query(".goal-person").results(Label)] \
            == [f"Ada {marked}"]
        shown = " ".join(str(s.content) for s in screen.query("#baselines Static"))
        assert f"Role: {marked}" in shown and f"Story {marked}" in shown


async def test_one_read_per_opening_and_no_doubled_rows(tmp_path: Path) -> None:
    """Opening a screen reads the journal once (Textual's first ScreenResume follows the
    mount's own load), and two loads close together (a partner's change, then `y`) leave
    one set of rows, never the first's and the second's side by side."""
    from comentor import model
    from comentor.model import Journal

    from .screen_harness import Harness
    from .screen_harness import fixed_now as harness_now

    path = tmp_path / "journal.db"
    j = Journal.create(path, "Ada", now=harness_now)
    model.add_goal(j, "Ship the thing")
    j.close()
    screen = ReviewScreen()
    reads: list[bool] = []
    fetch = screen.fetch

    def counted(kind: str, read: Any, show: Any, failed: Any = None) -> None:
        if kind == "load":
            reads.append(screen.year)
        fetch(kind, read, show, failed)

    screen.fetch = counted  # type: ignore[method-assign]
    app = Harness(path, screen)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: screen.loads > 0, what="review")
        await settle(pilot, app)
        assert reads == [False] and screen.loads == 1
        review = screen.review
        assert review is not None
        for _ in range(3):
            screen._show(review)
        await wait_for(pilot, lambda: screen.loads == 2, what="the newest show")
        await settle(pilot, app)
        assert screen.loads == 2  # the two older shows never mounted their rows
        assert [str(label.content) for label in screen.query(".goal-person").results(Label)] \
            == ["Ada"]
        assert len(screen.query(GoalTrack)) == 1
        assert len(screen.query("#baselines > Static")) == 1
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: screen.loads == 3, what="reload")
        assert reads == [False, False]
        # a read that finished after a newer one was asked for is never drawn
        drawn = screen._shown
        screen._arrived("load", screen._asked["load"] - 1, screen._show, review)
        assert screen._shown == drawn
