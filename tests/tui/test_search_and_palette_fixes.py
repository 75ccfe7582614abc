"""Search lists items only, each named as people say it, and Enter goes where the item is
really shown (or says, truthfully, that no screen shows it); a snippet is the item's text
as typed, brackets and all, with only the match highlighted, in the app and in
`comentor search`; and the command palette shows every command's key hint ("[g]")."""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from rich.text import Text
from textual.command import CommandList, CommandPalette
from textual.content import Content
from textual.widgets import DataTable, Input, Markdown, Static, TabbedContent

from comentor import model
from comentor.model._journal import Journal
from comentor.model._search import RESULT_TABLES, search_label
from comentor.tui import palette
from comentor.tui.app import ComentorApp
from comentor.tui.palette import ComentorCommands
from comentor.tui.screens.checkin import CheckinScreen
from comentor.tui.screens.goals import GoalsScreen
from comentor.tui.screens.past_checkins import PastCheckinsScreen
from comentor.tui.screens.points import TalkingPointsScreen
from comentor.tui.screens.review import ReviewScreen
from comentor.tui.screens.search import SearchScreen
from comentor.tui.screens.wins import WinsScreen

from .helpers import fixed_now, wait_for
from .screen_harness import Harness
from .test_screens import SIZE, settle

BOOKKEEPING = {"people", "partnership", "session_items"}  # indexed, never results


async def _search(pilot: Any, app: Harness, words: str) -> tuple[SearchScreen, DataTable[Any]]:
    screen = app.screen
    assert isinstance(screen, SearchScreen)
    screen.query_one("#search-input", Input).value = words
    await settle(pilot, app)
    await wait_for(pilot, lambda: screen._shown == words, what=f"results for {words!r}")
    return screen, screen.query_one("#results", DataTable)


def _rows(table: DataTable[Any]) -> list[tuple[str, Text]]:
    out = []
    for n in range(table.row_count):
        row = table.get_row_at(n)
        out.append((str(row[0]), row[-1]))  # Kind, When, Who, Match
    return out


async def _enter_on(pilot: Any, app: Harness, table: DataTable[Any], row: int) -> None:
    table.focus()
    table.move_cursor(row=row)
    await pilot.pause()
    await pilot.press("enter")
    await settle(pilot, app)


# ---------------------------------------------------------------------- what is a result
async def test_a_name_in_brackets_is_shown_as_written(tmp_path: Path) -> None:
    """A person's name is free text (a partner chooses theirs): "[/]" in it is neither
    markup nor a crash, and a long one is cut in its column."""
    path = tmp_path / "j.db"
    j = Journal.create(path, "Max [/] [b]Berg" + " the Elder" * 5)
    model.add_goal(j, "Lantern festival")
    j.close()
    app = Harness(path, SearchScreen())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        screen, table = await _search(pilot, app, "lantern")
        who = table.get_row_at(0)[2]
        assert isinstance(who, Text) and who.plain.startswith("Max [/] [b]Berg")
        assert who.plain.endswith("…") and len(who.plain) <= 16


async def test_each_result_says_whose_it_is_and_of_which_day(demo_path: Path) -> None:
    """Results of one word from both partners are told apart by their owner and day, as
    the items' own screens show them (a win by its date, a check-in by its start)."""
    app = Harness(demo_path, SearchScreen())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        screen, table = await _search(pilot, app, "pricing")
        j = Journal.open(demo_path)
        try:
            names = {p["id"]: p["name"] for p in j.rows("people")}
            for n, hit in enumerate(screen.hits):
                _, when, who, _ = table.get_row_at(n)
                row = j.get(hit.table, hit.row) or {}
                assert str(who) == names.get(row.get("person"), ""), hit
                assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", str(when)), hit
                if hit.table == "wins":  # the day it happened, as written
                    assert str(when) == row["date"], hit
                else:  # the day it was written (or held), on this computer's calendar
                    stamp = str(row.get("started_at") or row["created_at"]).replace("Z", "+00:00")
                    assert str(when) == dt.datetime.fromisoformat(stamp).astimezone().date().isoformat()
            shown = {str(table.get_row_at(n)[2]) for n in range(table.row_count)}
            assert set(names.values()) <= shown  # both partners' items, told apart
        finally:
            j.close()


async def test_bookkeeping_rows_are_not_results_and_every_kind_has_a_name(
        demo_path: Path) -> None:
    """The demo covers many items "updated" in its check-ins and names Maya: neither a
    check-in item's outcome nor a person is an item anyone can open."""
    app = Harness(demo_path, SearchScreen())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        screen, table = await _search(pilot, app, "updated")
        assert table.row_count == 0 and not screen.hits
        assert str(screen.query_one("#search-status", Static).content) == "0 results"
        for words in ("Maya", "studio", "underquoting", "pricing"):
            screen, table = await _search(pilot, app, words)
            kinds = {kind for kind, _ in _rows(table)}
            assert kinds and kinds <= {search_label(t) for t in RESULT_TABLES}, (words, kinds)
            assert not {h.table for h in screen.hits} & BOOKKEEPING, words


async def test_a_baseline_opens_on_the_reviews_baselines_tab(demo_path: Path) -> None:
    app = Harness(demo_path, SearchScreen())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        screen, table = await _search(pilot, app, "studio")
        row = next(n for n, h in enumerate(screen.hits) if h.table == "baselines")
        assert _rows(table)[row][0] == "baseline"
        await _enter_on(pilot, app, table, row)
        review = app.screen
        assert isinstance(review, ReviewScreen)
        await wait_for(pilot, lambda: review.query_one(TabbedContent).active == "tab-baselines",
                       what="the Baselines tab")
        await settle(pilot, app)
        assert review.query_one(TabbedContent).active == "tab-baselines"  # and it stays
        assert not app._notifications  # nothing said: the baseline is shown
        await pilot.press("escape")
        await settle(pilot, app)
        assert app.screen is screen


async def test_a_story_opens_on_the_story_tab(demo_path: Path) -> None:
    j = Journal.open(demo_path, now=fixed_now)
    model.write_story(j, "The wombatword researcher who prices her work")
    j.close()
    app = Harness(demo_path, SearchScreen())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        _screen, table = await _search(pilot, app, "wombatword")
        assert [kind for kind, _ in _rows(table)] == ["story"]
        await _enter_on(pilot, app, table, 0)
        wins = app.screen
        assert isinstance(wins, WinsScreen)
        await wait_for(pilot, lambda: wins.query_one(TabbedContent).active == "tab-story",
                       what="the Story tab")
        await settle(pilot, app)
        assert wins.query_one(TabbedContent).active == "tab-story"  # and it stays


async def test_a_draft_opens_on_talking_points_with_the_cursor_on_it(demo_path: Path) -> None:
    j = Journal.open(demo_path, now=fixed_now)
    draft = j.add_draft("Ask Jonas about the emuword pricing")
    j.close()
    app = Harness(demo_path, SearchScreen())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        _screen, table = await _search(pilot, app, "emuword")
        assert [kind for kind, _ in _rows(table)] == ["draft talking point"]
        await _enter_on(pilot, app, table, 0)
        points = app.screen
        assert isinstance(points, TalkingPointsScreen)
        await wait_for(pilot, lambda: points.table.selected_id == draft, what="the draft")


async def test_a_past_checkins_notes_open_on_past_checkins_not_the_checkin(
        demo_path: Path) -> None:
    app = Harness(demo_path, SearchScreen())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        _screen, table = await _search(pilot, app, "underquoting")
        assert _rows(table)[0][0] == "check-in notes"
        await _enter_on(pilot, app, table, 0)
        past = app.screen
        assert isinstance(past, PastCheckinsScreen)  # not the check-in screen
        await wait_for(pilot, lambda: "underquoting" in _record(past), what="the record")
        assert "Check-in of " in _record(past)
        assert not app._notifications  # nothing said: the notes are shown


async def test_a_note_of_a_checkin_never_held_is_said_in_place(demo_path: Path) -> None:
    """Past check-ins lists only check-ins held: a note of a planned one is not sent there
    (its list would show another check-in's record as if it were the hit)."""
    j = Journal.open(demo_path, now=fixed_now)
    planned = j.put("sessions", None, status="planned", planned_at="2027-01-05T12:00:00Z",
                    created_at=j.now_iso())
    model.add_note(j, "wallabyword: bring the contract", session=planned)
    j.close()
    app = Harness(demo_path, SearchScreen())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        screen, table = await _search(pilot, app, "wallabyword")
        await _enter_on(pilot, app, table, 0)
        assert app.screen is screen
        note = list(app._notifications)[-1]
        assert "bring the contract" in note.message and "not held" in note.message


async def test_a_note_outside_any_checkin_opens_with_the_others_kept_so(demo_path: Path) -> None:
    j = Journal.open(demo_path, now=fixed_now)
    model.add_note(j, "platypusword: the lease is signed")
    j.close()
    app = Harness(demo_path, SearchScreen())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        _screen, table = await _search(pilot, app, "platypusword")
        await _enter_on(pilot, app, table, 0)
        past = app.screen
        assert isinstance(past, PastCheckinsScreen)
        await wait_for(pilot, lambda: "the lease is signed" in _record(past), what="the notes")
        assert past.table.selected_id == model.OUTSIDE
        assert "Notes kept outside any check-in" in _record(past)


def _record(screen: PastCheckinsScreen) -> str:
    return screen.query_one("#past-record", Markdown).source


async def test_a_note_of_the_running_checkin_opens_the_checkin(demo_path: Path) -> None:
    j = Journal.open(demo_path, now=fixed_now)
    session = model.start_checkin(j)
    model.add_note(j, "kangarooword: ask about the lease", session=session)
    j.close()
    app = Harness(demo_path, SearchScreen())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        _screen, table = await _search(pilot, app, "kangarooword")
        assert [kind for kind, _ in _rows(table)] == ["check-in note"]
        await _enter_on(pilot, app, table, 0)
        assert isinstance(app.screen, CheckinScreen)


# ---------------------------------------------------------------------- the snippet
async def test_brackets_in_an_item_are_shown_and_only_the_match_highlighted(
        demo_path: Path) -> None:
    j = Journal.open(demo_path, now=fixed_now)
    model.add_goal(j, "Ship zebraword v2 [beta] of the site")
    model.add_goal(j, "odd \x02quokkaword\x03 [x] \x02here")
    j.close()
    app = Harness(demo_path, SearchScreen())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        _screen, table = await _search(pilot, app, "zebraword")
        [(kind, match)] = _rows(table)
        assert kind == "goal"
        assert match.plain == "Ship zebraword v2 [beta] of the site"
        assert [match.plain[s.start:s.end] for s in match.spans] == ["zebraword"]
        _screen, table = await _search(pilot, app, "quokkaword")
        [(_kind, match)] = _rows(table)
        # the item's own control characters are shown escaped, never taken for marks
        assert match.plain == "odd \\x02quokkaword\\x03 [x] \\x02here"
        assert [match.plain[s.start:s.end] for s in match.spans] == ["quokkaword"]


def _cli(journal: Path, *args: str) -> str:
    proc = subprocess.run(
        [sys.executable, "-m", "comentor.tui.cli", "--journal", str(journal), *args],
        capture_output=True, text=True, timeout=60, env=dict(os.environ))
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    return proc.stdout


def test_comentor_search_prints_the_text_as_typed_and_no_bookkeeping(demo_path: Path) -> None:
    j = Journal.open(demo_path, now=fixed_now)
    model.add_goal(j, "Ship zebraword v2 [beta] of the site")
    j.close()
    [line] = _cli(demo_path, "search", "zebraword").splitlines()
    assert line.endswith("  goal  Ship [zebraword] v2 [beta] of the site")
    assert "\\x0" not in line
    assert _cli(demo_path, "search", "updated").splitlines() == ["no matches"]
    assert "people" not in _cli(demo_path, "search", "Maya")


# ---------------------------------------------------------------------- the palette
def _shown(screen: CommandPalette) -> list[str]:
    """The lines the palette shows: each command's prompt (its title and help, as drawn)."""
    return [str(getattr(option.prompt, "plain", option.prompt))
            for option in screen.query_one(CommandList).options]


async def test_the_palette_shows_each_commands_key_hint(demo_path: Path) -> None:
    app = ComentorApp(demo_path, now=fixed_now)
    async with app.run_test(size=(120, 45)) as pilot:
        await wait_for(pilot, lambda: getattr(app.screen, "loads", 0) > 0)
        await pilot.press("g")
        await wait_for(pilot, lambda: isinstance(app.screen, GoalsScreen))
        await settle(pilot, app)
        for typed, expected in (("open goals", "Goals and their progress  [g]"),
                                ("open search", "Search everything  [/]"),
                                ("undo delete", "[u, on any screen]"),
                                ("new", "Goals [N]")):
            await pilot.press("ctrl+p")
            await wait_for(pilot, lambda: isinstance(app.screen, CommandPalette))
            shown = app.screen
            assert isinstance(shown, CommandPalette)
            await pilot.press(*typed)
            await wait_for(pilot, lambda p=shown, e=expected: any(  # type: ignore[misc]
                e in line for line in _shown(p)), what=f"{expected!r} for {typed!r}")
            await pilot.press("escape")
            await wait_for(pilot, lambda: not isinstance(app.screen, CommandPalette))


async def test_every_help_line_of_the_palette_reads_as_written(demo_path: Path) -> None:
    app = ComentorApp(demo_path, now=fixed_now)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, lambda: getattr(app.screen, "loads", 0) > 0)
        for key, cls in (("g", GoalsScreen), ("c", CheckinScreen)):
            await pilot.press(key)
            await wait_for(pilot, lambda c=cls: isinstance(app.screen, c))  # type: ignore[misc]
            await settle(pilot, app)
            provider = ComentorCommands(app.screen)
            written = {title: help_text for title, help_text, _ in provider._commands()}
            assert sum("[" in help_text for help_text in written.values()) > 20
            found = [hit async for hit in provider.discover()]
            assert len(found) == len(written)
            for hit in found:
                assert hit.help is not None and hit.text is not None
                shown = Content.from_markup(hit.help).plain
                assert shown == written[hit.text], (hit.text, shown)


def test_literal_keeps_every_bracket() -> None:
    for text in ("Goals [g]", "x [N]", "a [$x] b", "[/]", "one \\[g]", "end\\", "[[g]]",
                 "[@click=app.quit]q[/]"):
        assert Content.from_markup(palette.literal(text)).plain == text
