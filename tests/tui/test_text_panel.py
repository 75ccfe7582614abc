"""TextPanel (tui/widgets/text_panel.py): one widget that wraps and scrolls its text, with
the scrollbar it needs already in its first layout."""

from __future__ import annotations

from textual.app import App, ComposeResult

from comentor.tui.widgets.text_panel import TextPanel

LONG = "\n".join(f"line {i}" for i in range(30))


class _Box(App[None]):
    CSS = "TextPanel { height: 10; width: 20; }"

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text

    def compose(self) -> ComposeResult:
        yield TextPanel(self.text, id="p")


async def test_text_that_does_not_fit_has_its_scrollbar_from_the_first_layout() -> None:
    app = _Box(LONG)
    async with app.run_test(size=(40, 20)) as pilot:
        panel = app.screen.query_one("#p", TextPanel)
        assert panel.show_vertical_scrollbar
        assert panel.virtual_size.height == 30
        assert panel.virtual_size.width == 20 - panel.styles.scrollbar_size_vertical
        panel.focus()
        await pilot.press("down", "down")
        assert panel.scroll_offset.y == 2
        await pilot.press("end")
        assert panel.scroll_offset.y == 30 - 10
        assert panel.render_line(9).text.rstrip() == "line 29"


async def test_short_text_has_no_scrollbar_and_long_lines_wrap_to_the_width() -> None:
    app = _Box("word " * 12)  # 60 characters in a box 20 wide
    async with app.run_test(size=(40, 20)) as pilot:
        panel = app.screen.query_one("#p", TextPanel)
        assert not panel.show_vertical_scrollbar
        assert panel.virtual_size.height == 3
        panel.update(LONG)
        await pilot.pause()
        assert panel.show_vertical_scrollbar and panel.virtual_size.height == 30
        assert panel.render_line(0).text.rstrip() == "line 0"
        assert panel.content == LONG


async def test_markup_is_shown_as_written() -> None:
    app = _Box("[b]not bold[/b]")
    async with app.run_test(size=(40, 20)):
        panel = app.screen.query_one("#p", TextPanel)
        assert panel.render_line(0).text.rstrip() == "[b]not bold[/b]"


async def test_a_panel_narrower_than_its_scrollbar_still_draws() -> None:
    for width in (1, 2, 3):
        app = _Box(LONG + " and a long last line")
        app.CSS = f"TextPanel {{ height: 5; width: {width}; }}"
        async with app.run_test(size=(40, 20)) as pilot:
            panel = app.screen.query_one("#p", TextPanel)
            await pilot.pause()
            assert panel.virtual_size.width >= 1
            assert len(panel.render_line(0).text) >= 1
