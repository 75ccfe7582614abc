"""The review, "where we started, where we are" (issue 10, point 1), on a journal with history.

Two partners keep a fortnightly cadence for about three months on a fixed clock: check-ins
held on time, one late, two missed and one due now; goals updated over time; a story
rewritten; wins in two quarters; commitments kept, carried and dropped; asks answered, closed
and open; the timer recording who spoke. The review must give back exactly that, for the
whole partnership and from a later day on, and its Markdown and HTML must keep user text
as text.
"""

from __future__ import annotations

import datetime as dt
import html.parser
from pathlib import Path
from typing import Any

import pytest
from markdown_it import MarkdownIt

from comentor import model
from comentor.model import Journal
from comentor.model.errors import ValidationError
from comentor.model.testing import FixedClock, paired_journals, sync_in_process

D0 = dt.date(2025, 1, 6)  # a Monday; the partnership starts here
HOSTILE = ('# not a heading\n```\n<script>alert("x")</script> & [link](https://evil.example) '
           '![img](http://evil.example/i.png) <img src=x onerror=alert(1)> | a | b |\n---\n'
           "*em* _u_ `code` \\ <!-- c --> &amp; url(http://x) @import 'y'")


def _at(clock: FixedClock, day: dt.date, hour: int = 12) -> None:
    clock.t = dt.datetime.combine(day, dt.time(hour), tzinfo=dt.UTC)


def _hold(a: Journal, b: Journal, clock: FixedClock, day: dt.date, every: int = 14,
          inside: Any = None) -> str:
    """A check-in held on `day`: Ada speaks ten minutes, Ben five; the next one in `every`."""
    _at(clock, day)
    session = model.start_checkin(a)
    model.timer_event(a, session, "start")
    clock.advance(minutes=10)
    model.timer_event(a, session, "hand_over")
    clock.advance(minutes=5)
    if inside is not None:
        inside(session)
    model.end_checkin(a, session, next_at=dt.datetime.combine(
        day + dt.timedelta(days=every), dt.time(12), tzinfo=dt.UTC))
    sync_in_process(a, b)
    return session


def _history(tmp: Path, *, goal_text: str = "Ship the new site", story: str = "I build fast "
             "websites for shops.") -> tuple[Journal, Journal, FixedClock, dict[str, str]]:
    clock = FixedClock(dt.datetime.combine(D0, dt.time(9), tzinfo=dt.UTC))
    a, b = paired_journals(tmp, ("Ada", "Ben"), now=clock)
    model.set_cadence(a, every="2w")
    ids: dict[str, str] = {}
    model.record_baseline(a, role="Freelance web developer", situation="One big client",
                          clients="Agency X (80%)", concentration="high",
                          near_goals="Two new clients", long_goals="A small studio")
    model.record_baseline(b, role="Illustrator", situation="Many small jobs")
    model.write_story(a, "I build websites.")
    ids["goal"] = model.add_goal(a, goal_text, horizon="near")
    ids["long"] = model.add_goal(b, "Publish a book", horizon="long")
    model.add_skill(a, "Fast prototypes", direction="strength")
    model.add_skill(a, "Pricing", direction="grow")
    model.add_update(a, ids["goal"], "started", progress=10)
    model.add_update(b, ids["long"], "outline", progress=5)
    ids["done"] = model.add_commitment(a, "Send the proposal")
    ids["carry"] = model.add_commitment(a, "Write the case study")
    ids["drop"] = model.add_commitment(b, "Cold-call ten shops")
    ids["ask"] = model.add_ask(a, "How do I price a retainer?", kind="question",
                               outcome="a price range")
    ids["closed_ask"] = model.add_ask(b, "Know an editor?", kind="introduction",
                                      outcome="one name")
    sync_in_process(a, b)
    _hold(a, b, clock, D0)  # kept (due D0)

    def second(session: str) -> None:
        model.cover_item(a, session, "commitments", ids["carry"], "carried", due="+2w")
        model.close_commitment(a, ids["done"], "done")
        model.add_update(a, ids["goal"], "halfway", progress=30)

    _hold(a, b, clock, D0 + dt.timedelta(days=15), inside=second)  # due D0+14: kept, a day on
    _at(clock, D0 + dt.timedelta(days=20))
    model.answer_ask(b, ids["ask"], "Charge per month, anchor high.")
    model.close_ask(b, ids["closed_ask"])
    model.close_commitment(b, ids["drop"], "dropped")
    sync_in_process(a, b)
    _hold(a, b, clock, D0 + dt.timedelta(days=35))  # due D0+29: late by six days
    _at(clock, D0 + dt.timedelta(days=40))
    model.write_story(a, story)
    model.add_win(a, "Signed a second client", date="2025-02-10")
    model.add_ask(a, "Review my pricing page", kind="feedback", outcome="three edits")
    sync_in_process(a, b)
    # due D0+49 passes without a check-in (missed); the next is held D0+65 (due D0+63: kept)
    _at(clock, D0 + dt.timedelta(days=65), hour=9)
    model.add_update(a, ids["goal"], "almost", progress=55)
    _hold(a, b, clock, D0 + dt.timedelta(days=65))
    # due D0+79 missed too; today D0+99: the check-in due D0+93 is six days late
    _at(clock, D0 + dt.timedelta(days=99))
    model.add_win(a, "First workshop", date="2025-01-20")
    model.add_win(b, "Book deal", date="2025-04-02")
    sync_in_process(a, b)
    return a, b, clock, ids


@pytest.fixture
def history(tmp_path: Path) -> Any:
    a, b, clock, ids = _history(tmp_path)
    yield a, b, clock, ids
    a.close()
    b.close()


def _days(*offsets: int) -> list[dt.date]:
    return [D0 + dt.timedelta(days=n) for n in offsets]


def test_the_review_gives_back_the_whole_history(history: Any) -> None:
    a, _b, _clock, ids = history
    r = model.review(a)
    assert (r.names, r.today, r.since, r.start) == (("Ada", "Ben"), D0 + dt.timedelta(days=99),
                                                     None, D0)
    assert not r.is_year and r.title == "Review: Ada & Ben"
    # baselines beside today
    ada, ben = r.baselines
    assert (ada.recorded, ada.role, ada.concentration, ada.near_goals) == (
        D0.isoformat(), "Freelance web developer", "high", "Two new clients")
    assert (ada.goals_near, ada.goals_long, ada.story) == (
        ("Ship the new site",), (), "I build fast websites for shops.")
    assert (ada.strengths, ada.grows, ada.wins) == (("Fast prototypes",), ("Pricing",), 2)
    assert (ben.role, ben.goals_long, ben.story, ben.wins) == ("Illustrator",
                                                              ("Publish a book",), None, 1)
    # goals with their progress over time
    goals = {g.id: g for g in r.goals}
    assert goals[ids["goal"]].points == (
        (D0.isoformat(), 10), ("2025-01-21", 30), ("2025-03-12", 55))
    assert goals[ids["goal"]].latest == 55 and goals[ids["goal"]].start is None
    assert (goals[ids["long"]].name, goals[ids["long"]].points) == ("Ben", ((D0.isoformat(), 5),))
    # the story's versions with what changed
    first, second = r.stories
    assert (first.number, first.summary()) == (1, "first version")
    assert (second.number, second.date, second.added, second.removed) == (
        2, "2025-02-15", ("fast websites for shops.",), ("websites.",))
    assert (second.words_added, second.words_removed) == (4, 1)
    # wins per quarter, per partner
    assert [(q.label, q.counts) for q in r.wins] == [("2025 Q1", (2, 0)), ("2025 Q2", (0, 1))]
    assert [w[2] for w in r.wins[0].wins] == ["First workshop", "Signed a second client"]
    # commitments kept, carried and dropped; asks answered, closed, open
    ada_c, ben_c = r.commitments
    assert (ada_c.kept, ada_c.dropped, ada_c.carried, ada_c.open, ada_c.kept_rate) == (
        1, 0, 1, 1, 100)
    assert (ben_c.kept, ben_c.dropped, ben_c.carried, ben_c.open) == (0, 1, 0, 0)
    ada_a, ben_a = r.asks
    assert (ada_a.answered, ada_a.closed, ada_a.open, ada_a.open_texts) == (
        1, 0, 1, ("Review my pricing page",))
    assert (ben_a.answered, ben_a.closed, ben_a.open) == (0, 1, 0)
    # check-ins held against planned
    assert [(s.due, s.state, s.held, s.days_late) for s in r.slots] == [
        (D0, "kept", D0, 0),
        (*_days(14), "kept", *_days(15), 1),
        (*_days(29), "late", *_days(35), 6),
        (*_days(49), "missed", None, 0),
        (*_days(63), "kept", *_days(65), 2),
        (*_days(79), "missed", None, 0),
        (*_days(93), "due", None, 6),
    ]
    assert (r.held, r.slot_count("missed")) == (4, 2)
    # the time balance of the last check-ins: Ada ten minutes, Ben five, each time
    assert r.balance is not None
    assert (r.balance.checkins, r.balance.shares) == (4, (("Ada", 67), ("Ben", 33)))
    assert [day for day, _ in r.balance.per_checkin] == [
        d.isoformat() for d in _days(0, 15, 35, 65)]


def test_the_same_review_from_the_partners_side(history: Any) -> None:
    _a, b, _clock, _ids = history
    r = model.review(b)
    assert r.names == ("Ben", "Ada")
    assert [(q.label, q.counts) for q in r.wins] == [("2025 Q1", (0, 2)), ("2025 Q2", (1, 0))]
    assert r.balance is not None and r.balance.shares == (("Ben", 33), ("Ada", 67))
    assert [s.state for s in r.slots] == ["kept", "kept", "late", "missed", "kept", "missed",
                                          "due"]


def test_a_review_since_a_day_keeps_only_that_period(history: Any) -> None:
    a, _b, _clock, ids = history
    since = D0 + dt.timedelta(days=50)
    r = model.review(a, since)
    assert (r.since, r.start) == (since, since)
    assert [(s.due, s.state) for s in r.slots] == [
        (*_days(63), "kept"), (*_days(79), "missed"), (*_days(93), "due")]
    goal = next(g for g in r.goals if g.id == ids["goal"])
    assert (goal.start, goal.points, goal.latest) == (30, (("2025-03-12", 55),), 55)
    # the version in force at the start leads, without a change of its own
    (story,) = r.stories
    assert (story.number, story.base, story.summary()) == (
        2, True, "in force at the start of the period")
    assert [(q.label, q.counts) for q in r.wins] == [("2025 Q1", (0, 0)), ("2025 Q2", (0, 1))]
    ada_c, _ = r.commitments
    assert (ada_c.kept, ada_c.carried, ada_c.open) == (0, 0, 1)  # closed/carried before
    assert r.balance is not None and [d for d, _ in r.balance.per_checkin] == ["2025-03-12"]
    # the overall share is that of the period's check-ins only, not of the last six ever
    assert r.balance.checkins == 1 and r.balance.shares == r.balance.per_checkin[0][1]


def test_a_review_since_long_before_starts_with_the_partnership(history: Any) -> None:
    a, *_ = history
    r = model.review(a, dt.date(1990, 1, 1))
    assert r.start == D0 and [q.label for q in r.wins] == ["2025 Q1", "2025 Q2"]


@pytest.mark.parametrize(("text", "expected"), [
    ("1y", dt.date(2024, 4, 15)), ("-1y", dt.date(2024, 4, 15)), ("1y ago", dt.date(2024, 4, 15)),
    ("6m", dt.date(2024, 10, 17)), ("-2w", dt.date(2025, 4, 1)), ("10d ago", dt.date(2025, 4, 5)),
    ("2025-01-01", dt.date(2025, 1, 1)), ("today", dt.date(2025, 4, 15)),
])
def test_since_reads_dates_and_times_ago(text: str, expected: dt.date) -> None:
    assert model.parse_since(text, dt.date(2025, 4, 15)) == expected


@pytest.mark.parametrize("text", ["+1y", "tomorrow", "2030-01-01", "last year", "", "2025-13-01",
                                  "0025-01-01"])
def test_since_refuses_the_future_and_nonsense_in_one_line(text: str) -> None:
    with pytest.raises(ValidationError) as err:
        model.parse_since(text, dt.date(2025, 4, 15))
    assert "\n" not in str(err.value)


def test_a_year_in_review_is_since_a_year_ago(history: Any) -> None:
    a, *_ = history
    r = model.review(a, model.parse_since("1y", a.today()))
    assert r.is_year and r.title == "Year in review: Ada & Ben"
    assert model.render_review_markdown(r).startswith("# Year in review: Ada & Ben\n")


def test_an_empty_journal_has_a_review_too(journal: Journal) -> None:
    r = model.review(journal)
    assert r.names == ("Ada",) and not r.goals and not r.stories and r.balance is None
    assert [s.state for s in r.slots] == ["due"]  # the first check-in is due today
    assert model.render_review_markdown(r) and model.render_review_html(r)


# ---------------------------------------------------------------- user text stays text


class _Page(html.parser.HTMLParser):
    """Everything in a page that could load, run or link to anything."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.refs: list[tuple[str, str]] = []
        self.styles: list[str] = []
        self.text: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self._in_style = tag == "style"
        for name, value in attrs:
            if name in ("src", "href", "xlink:href", "action", "srcset", "poster", "data"):
                self.refs.append((name, value or ""))
            if name.startswith("on"):
                self.refs.append((name, value or ""))
            if name == "style":
                self.styles.append(value or "")

    def handle_endtag(self, tag: str) -> None:
        self._in_style = False

    def handle_data(self, data: str) -> None:
        (self.styles if self._in_style else self.text).append(data)


def _parse(page: str) -> _Page:
    parsed = _Page()
    parsed.feed(page)
    parsed.close()
    return parsed


def assert_self_contained(page: str, *, urls_in_text: bool = False) -> _Page:
    """No script, nothing loaded, links only within the page; no URL anywhere either,
    unless the journal's own text holds some (`urls_in_text`: shown as text only)."""
    parsed = _parse(page)
    assert parsed.tags.count("style") == 1
    assert not {"script", "img", "link", "iframe", "object", "embed", "base", "image", "use",
                "foreignobject", "audio", "video", "source", "form"} & set(parsed.tags)
    assert all(name == "href" and value.startswith("#") for name, value in parsed.refs), \
        parsed.refs
    for css in parsed.styles:
        assert "url(" not in css and "@import" not in css and "@font-face" not in css
    lowered = page.lower()
    for marker in ("http://", "https://", "javascript:") if not urls_in_text else ():
        assert marker not in lowered
    assert "<svg" in page  # the charts are inline
    return parsed


def test_hostile_text_stays_text_in_the_html(tmp_path: Path) -> None:
    clock = FixedClock(dt.datetime.combine(D0, dt.time(9), tzinfo=dt.UTC))
    j = Journal.create(tmp_path / "h.db", "<b>Eve</b> & *Mallory*", now=clock)
    try:
        model.record_baseline(j, role=HOSTILE, situation=HOSTILE, clients=HOSTILE)
        goal = model.add_goal(j, HOSTILE.replace("\n", " ")[:190])
        model.add_update(j, goal, HOSTILE, progress=20)
        model.write_story(j, "plain start")
        model.write_story(j, HOSTILE)
        model.add_win(j, HOSTILE.replace("\n", " ")[:190])
        model.add_ask(j, HOSTILE.replace("\n", " ")[:190], outcome="x")
        page = model.render_review_html(model.review(j))
    finally:
        j.close()
    # the raw page holds none of it unescaped: the parsed text holds all of it
    assert "<script>" not in page and "<img" not in page and "<b>Eve" not in page
    parsed = assert_self_contained(page, urls_in_text=True)
    shown = "".join(parsed.text)
    assert "<b>Eve</b> & *Mallory*" in shown
    assert '<script>alert("x")</script>' in shown and "<img src=x onerror=alert(1)>" in shown


def _headings(md: str) -> list[tuple[str, str]]:
    tokens = MarkdownIt("commonmark").parse(md)
    out = []
    for n, t in enumerate(tokens):
        if t.type == "heading_open":
            out.append((t.tag, tokens[n + 1].content if t.tag == "h1" else ""))
    return out


def _all_tokens(md: str) -> list[str]:
    found = []
    for t in MarkdownIt("commonmark").parse(md):
        found.append(t.type)
        found += [c.type for c in t.children or []]
    return found


def test_hostile_text_keeps_the_markdown_structure(tmp_path: Path) -> None:
    plain_a, _pb, _c, _i = _history(tmp_path / "plain")
    hostile_a, _hb, _c2, _i2 = _history(tmp_path / "hostile", goal_text=HOSTILE[:190],
                                        story=HOSTILE)
    try:
        plain = model.render_review_markdown(model.review(plain_a))
        hostile = model.render_review_markdown(model.review(hostile_a))
    finally:
        for j in (plain_a, _pb, hostile_a, _hb):
            j.close()
    assert _headings(hostile) == _headings(plain)
    kinds = _all_tokens(hostile)
    assert not [k for k in kinds if "html" in k or k in ("link_open", "image", "fence",
                                                           "code_block", "hr")]
    assert _all_tokens(plain).count("bullet_list_open") == kinds.count("bullet_list_open")


def test_story_diff_names_what_changed() -> None:
    from comentor.model._review import story_diff

    assert story_diff("I build tools and write docs.",
                      "I make developer tools that explain themselves.") == (
        ("make developer", "that explain themselves."), ("build", "and write docs."), 5, 4)
    assert story_diff("same words", "same words") == ((), (), 0, 0)


def test_many_goals_are_drawn_a_few_to_a_chart(journal: Journal) -> None:
    from comentor.model._review_html import CHART_GOALS

    for n in range(CHART_GOALS + 2):
        goal = model.add_goal(journal, f"Goal {n}")
        model.add_update(journal, goal, "moving", progress=10 + n)
    page = model.render_review_html(model.review(journal))
    assert_self_contained(page)
    assert f"goals (1 to {CHART_GOALS} of {CHART_GOALS + 2})" in page
    assert f"goals ({CHART_GOALS + 1} to {CHART_GOALS + 2} of {CHART_GOALS + 2})" in page
    assert page.count("<polyline") == CHART_GOALS + 2


def test_wins_chart_labels_never_overlap_with_many_quarters() -> None:
    """Twenty years of quarters: the SVG names only as many quarters as fit (the first
    always), about 56 px apart at least; counts are drawn only above bars wide enough."""
    import datetime as dt
    import re

    from comentor.model._review import QuarterWins
    from comentor.model._review_svg import wins_svg

    quarters = [QuarterWins(f"{2006 + i // 4} Q{i % 4 + 1}", dt.date(2006 + i // 4, 3 * (i % 4) + 1, 1),
                            (i % 3, 2)) for i in range(80)]
    svg = wins_svg(quarters, ("Ada", "Ben"), "Wins per quarter")
    xs = [float(x) for x in re.findall(r'<text x="([\d.]+)" y="\d+" class="axis"', svg)]
    assert 1 < len(xs) < len(quarters) and ">2006 Q1<" in svg
    assert min(b - a for a, b in zip(xs, xs[1:], strict=False)) >= 56
    assert 'class="value"' not in svg  # bars of 4 px: the counts are in each bar's title
    few = wins_svg(quarters[:4], ("Ada", "Ben"), "Wins per quarter")
    assert few.count('class="axis"') == 4 and 'class="value"' in few


def test_a_mistyped_year_starts_no_review_of_centuries(journal: Journal) -> None:
    """"0026-05-01" for 2026 is refused in one line, and a win stored with such a date (by
    a version that took it) does not pull the review's start back 2,000 years."""
    with pytest.raises(ValidationError, match="dates start in 1900") as err:
        model.add_win(journal, "Shipped", date="0026-05-01")
    assert "\n" not in str(err.value) and not journal._rows("wins")
    assert model.add_win(journal, "Old times", date="1900-01-01")
    first = model.review(journal).start
    assert first == dt.date(1900, 1, 1)
    journal.put("wins", None, person=journal.me, text="Typo", date="0026-05-01",
                created_at=journal.now_iso())
    assert model.review(journal).start == first
    with pytest.raises(ValidationError, match="dates start in 1900"):
        model.parse_since("0025-01-01", dt.date(2025, 4, 15))
