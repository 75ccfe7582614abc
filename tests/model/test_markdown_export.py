"""The Markdown export keeps its structure whatever people type (issue 10, point 3).

A journal full of hostile text (headings, fences, HTML, links, tables, lists, entities,
trailing backslashes, newlines, tabs) in every field, names included, is exported and
parsed with markdown-it-py (CommonMark, raw HTML enabled): its headings and its token
structure are those of the same journal written with plain text, no raw HTML or link
survives, and every text comes back as the text that was typed.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt
from markdown_it.token import Token

from comentor import model
from comentor.model import Journal
from comentor.model._markdown import block, escape_inline, indent, item, who
from comentor.model.testing import FixedClock, pair_in_process, sync_in_process

MD = MarkdownIt("commonmark")  # raw HTML enabled: anything HTML-like would come through

HOSTILE = [
    "# not a heading",
    "```",
    "<script>alert(1)</script>",
    "[link](http://x)",
    "| a | b |\n|---|---|\n| 1 | 2 |",
    "* item",
    "1. x",
    "---",
    "> quote",
    "&amp; &lt;b&gt; &#60;i&#62; &copy;",
    "ends in a backslash \\",
    "first line\nsecond line\n\n\nafter blank lines\n",
    "**bold** __strong__ _em_ *em* `code`",
    "<!-- -->",
    "tab\there\t\tand there",
    "~~~ python\n    indented code\n===",
    "<http://auto.link> www.example.com a@b.co ![img](x.png)",
    "[ref]: http://x\n[ref]",
    "  - nested\n\t+ plus\n2) two",
    "<div>\n\n</div>",
    "Title\n=====",
    "\\*not em\\* \\",
    "line with trailing spaces  \nnext",
    "<a href='javascript:alert(1)'>x</a>",
    "\n\nleading blank lines",
]
NAMES = ("Ada **x** <b>[y](z)</b> \\", "Ben `c` &amp; _u_ | # h")
PLAIN_NAMES = ("Ada Plain", "Ben Plain")


def shown(text: str) -> str:
    """What a text of several lines reads as once rendered: each line with its whitespace
    folded; each line but the first standing in by as many no-break spaces as it stood in
    from the least indented line (a tab as four); blank lines trimmed at both ends and a
    run of them kept as one."""
    rows = text.splitlines()
    folded = [" ".join(raw.replace("\0", "\ufffd").split()) for raw in rows]
    widths = [len(raw) - len(raw.lstrip()) + 3 * raw[:len(raw) - len(raw.lstrip())].count("\t")
              for raw in rows]
    base = min((w for f, w in zip(folded, widths, strict=True) if f), default=0)
    lines: list[str] = []
    for line, width in zip(folded, widths, strict=True):
        if line and lines:
            line = "\u00a0" * (width - base) + line
        if line or (lines and lines[-1]):
            lines.append(line)
    while lines and not lines[-1]:
        lines.pop()
    return "\n".join(lines)


@dataclass
class Texts:
    """Hands out the hostile strings in turn, or their plain twins (line for line, or all on
    one line), and remembers which kind of item each went to."""

    mode: str  # "hostile", "plain" or "one line"
    used: list[tuple[str, str]] = field(default_factory=list)  # (kind, text as written)
    _next: Iterator[int] = field(default_factory=itertools.count)

    def __call__(self, kind: str) -> str:
        n = next(self._next)
        text = HOSTILE[n % len(HOSTILE)] + "\n" + HOSTILE[(n + 7) % len(HOSTILE)]
        if self.mode == "plain":
            text = "\n".join(f"plain {n} {i}" if line.split() else line
                             for i, line in enumerate(text.splitlines()))
        elif self.mode == "one line":
            text = f"plain {n}"
        self.used.append((kind, text))
        return text


def build(folder: Path, mode: str) -> tuple[Journal, Journal, Texts]:
    """Two paired partners and every kind of item, all text taken from `Texts`."""
    clock = FixedClock()
    names = NAMES if mode == "hostile" else PLAIN_NAMES
    ada = Journal.create(folder / "ada.db", names[0], now=clock)
    ben = Journal.create(folder / "ben.db", names[1], joining=True, now=clock)
    pair_in_process(ada, ben)
    sync_in_process(ada, ben)
    t = Texts(mode)
    me, partner = ada.me, ben.me
    ada.put("partnership", "partnership", name=t("partnership"))
    model.confirm_checklist(ada, outside_company=True, outside_market=True, similar_stage=False)
    for person in (me, partner):
        model.record_baseline(ada, role=t("baseline"), situation=t("baseline"),
                              clients=t("baseline"), concentration="high",
                              near_goals=t("baseline"), long_goals=t("baseline"), person=person)
    goal = model.add_goal(ada, t("goal"), detail=t("goal"), target="2026-09-01")
    met = model.add_goal(ada, t("goal"), horizon="long", person=partner)
    model.add_update(ada, goal, t("update"), progress=10)
    clock.advance(days=3)
    model.add_update(ada, goal, t("update"), progress=30)
    model.set_goal_status(ada, met, "met")
    kept = model.add_commitment(ada, t("commitment"), due="2026-03-20", follow_up=t("commitment"))
    model.close_commitment(ada, kept, "done", t("commitment"))
    carried = model.add_commitment(ada, t("commitment"), due="2026-03-10", person=partner)
    ask = model.add_ask(ada, t("ask"), kind="introduction", outcome=t("ask"))
    model.add_ask(ada, t("ask"), outcome=t("ask"), person=partner)
    challenge = model.propose_challenge(ada, t("challenge"), due="2026-04-01")
    story = model.write_story(ada, t("story"))
    clock.advance(days=2)
    model.write_story(ada, t("story"))
    model.write_story(ada, t("story"), person=partner)
    fb = model.add_feedback(ada, t("feedback"), kind="push", target_table="goals",
                            target_id=goal, person=partner)
    model.add_feedback(ada, t("feedback"), kind="suggestion", target_table="stories",
                       target_id=story, person=partner)
    model.add_win(ada, t("win"), detail=t("win"), date="2026-03-03")
    model.add_skill(ada, t("skill"))
    model.add_skill(ada, t("skill"), direction="grow", kind="experience", person=partner)
    model.add_note(ada, t("note"))
    point = model.add_talking_point(ada, t("talking point"), shared=True)
    model.add_talking_point(ada, t("talking point"), shared=True)
    ada.add_private_note(t("private"), about_table="goals", about_id=goal)
    model.add_talking_point(ada, t("draft"))
    clock.advance(days=1)

    session = model.start_checkin(ada)
    model.timer_event(ada, session, "start")
    clock.advance(minutes=12)
    model.timer_event(ada, session, "hand_over")
    clock.advance(minutes=15)
    model.cover_item(ada, session, "commitments", carried, "carried", note=t("covered"),
                     due="2026-04-01")
    model.cover_item(ada, session, "asks", ask, "answered", note=t("answer"))
    model.cover_item(ada, session, "challenges", challenge, "accepted", note=t("covered"))
    model.cover_item(ada, session, "goals", goal, note=t("update"), progress=55)
    model.cover_item(ada, session, "talking_points", point, note=t("covered"))
    model.cover_item(ada, session, "feedback", fb, "tried", note=t("feedback answer"))
    model.add_checkin_item(ada, "commitment", {"text": t("commitment")}, session=session)
    model.add_checkin_item(ada, "note", {"text": t("note")}, session=session)
    model.set_checkin_notes(ada, session, shared=t("checkin notes"), private=t("private"))
    model.end_checkin(ada, session)
    model.complete_challenge(ada, challenge, t("challenge"))
    sync_in_process(ada, ben)
    return ada, ben, t


@pytest.fixture(scope="module")
def exports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[str, Texts]]:
    """The hostile and the plain journals, exported with private notes ("hostile", "plain",
    "one line"), without them ("… shared") and by the partner ("… partner")."""
    out: dict[str, tuple[str, Texts]] = {}
    for key in ("hostile", "plain", "one line"):
        ada, ben, texts = build(tmp_path_factory.mktemp(key.replace(" ", "_")), key)
        out[key] = (model.export_markdown(ada, private=True), texts)
        out[key + " shared"] = (model.export_markdown(ada), texts)
        out[key + " partner"] = (model.export_markdown(ben), texts)
        ada.close()
        ben.close()
    return out


def _shape(tokens: list[Token], inline: bool = True) -> list[object]:
    """The token structure with the text left out: types, tags, nesting and (with `inline`)
    for inline content the types of its children."""
    out: list[object] = []
    for t in tokens:
        out.append((t.type, t.tag, t.nesting, t.level, t.hidden))
        if t.children is not None and inline:
            out.append(tuple(c.type for c in t.children))
    return out


def _text(inline: Token) -> str:
    parts = []
    for c in inline.children or []:
        if c.type in ("text", "code_inline"):
            parts.append(c.content)
        elif c.type in ("softbreak", "hardbreak"):
            parts.append("\n")
    return "".join(parts)


def _headings(tokens: list[Token]) -> list[tuple[int, str]]:
    return [(int(t.tag[1]), _text(tokens[i + 1])) for i, t in enumerate(tokens)
            if t.type == "heading_open"]


def _sections(tokens: list[Token]) -> dict[str, str]:
    """The text of each level-2 section (title -> every inline text in it)."""
    out: dict[str, list[str]] = {"": []}
    current = ""
    for i, t in enumerate(tokens):
        if t.type == "heading_open" and t.tag == "h2":
            current = _text(tokens[i + 1])
            out[current] = []
        elif t.type == "inline":
            out[current].append(_text(t))
    return {k: "\n".join(v) for k, v in out.items()}


def test_hostile_text_keeps_the_structure_of_plain_text(
        exports: dict[str, tuple[str, Texts]]) -> None:
    hostile, plain = MD.parse(exports["hostile"][0]), MD.parse(exports["plain"][0])
    assert _headings(hostile) == _headings(plain)
    assert [level for level, _ in _headings(hostile)].count(1) == 1
    assert _shape(hostile) == _shape(plain)
    # the blocks do not depend on how many lines were typed: one paragraph per list item,
    # every list tight, exactly as when every text is one line
    one_line = MD.parse(exports["one line"][0])
    assert _headings(hostile) == _headings(one_line)
    assert _shape(hostile, inline=False) == _shape(one_line, inline=False)
    assert all(t.hidden for t in hostile if t.type == "paragraph_open" and t.level > 0)
    every = [t for tok in hostile for t in [tok, *(tok.children or [])]]
    types = {t.type for t in every}
    assert not types & {"html_block", "html_inline", "link_open", "image", "fence",
                        "code_block", "code_inline", "em_open", "blockquote_open", "hr",
                        "ordered_list_open", "table_open"}
    html = MD.render(exports["hostile"][0])
    assert "<script" not in html and "&lt;script&gt;" in html and "<a " not in html


def test_every_text_comes_back_as_typed(exports: dict[str, tuple[str, Texts]]) -> None:
    for key in ("hostile", "plain"):
        doc, texts = exports[key]
        tokens = MD.parse(doc)
        everything = "\n".join(_text(t) for t in tokens if t.type == "inline")
        for _, text in texts.used:
            assert shown(text) and shown(text) in everything
        names = NAMES if key == "hostile" else PLAIN_NAMES
        assert set(_bold(tokens)) == {shown(n) for n in names}


def _bold(tokens: list[Token]) -> Iterator[str]:
    """The text of every **…** in the document: only ever a name."""
    for t in tokens:
        kids = t.children or []
        for i, c in enumerate(kids):
            if c.type == "strong_open":
                yield kids[i + 1].content


SECTION_OF = {
    "partnership": "", "baseline": "Baselines: where each partner started", "goal": "Goals",
    "update": "Goals", "commitment": "Commitments", "ask": "Asks", "answer": "Asks",
    "challenge": "Challenges", "feedback": "Feedback", "feedback answer": "Feedback",
    "win": "Wins", "story": "Stories", "skill": "Skills and experience", "note": "Shared notes",
    "talking point": "Talking points", "covered": "Check-ins", "checkin notes": "Check-ins",
    "private": "Private notes (this device only)",
    "draft": "Talking-point drafts (this device only)",
}


def test_every_kind_is_in_its_section(exports: dict[str, tuple[str, Texts]]) -> None:
    doc, texts = exports["plain"]
    sections = _sections(MD.parse(doc))
    assert set(SECTION_OF.values()) <= set(sections)
    for kind, text in texts.used:
        assert shown(text) in sections[SECTION_OF[kind]], kind
    # how things went, who gave what to whom, and what each check-in covered
    assert "Progress: 10 % (2026-03-02) → 30 % (2026-03-05) → 55 % (2026-03-08)" in doc
    assert "Ada Plain → Ben Plain" not in sections["Feedback"]
    assert sections["Feedback"].count("Ben Plain → Ada Plain") == 2
    assert "on the story of Ada Plain of 2026-03-05" in sections["Feedback"]
    assert "Answer of Ada Plain (tried it, 2026-03-08)" in sections["Feedback"]
    assert "Ada Plain challenges Ben Plain" in sections["Challenges"]
    assert "carried 1 time" in sections["Commitments"]
    assert "Answer from Ben Plain on 2026-03-08" in sections["Asks"]
    assert "Time: Ada Plain 12 min (44 %), Ben Plain 15 min (56 %)" in sections["Check-ins"]
    assert "Covered: 6 items" in sections["Check-ins"]
    assert "The story of Ada Plain, 2 versions" in sections["Stories"]
    assert "(covered at the check-in of 2026-03-08, shared 2026-03-07)" in sections[
        "Talking points"]
    assert "Peer checklist (confirmed 2026-03-02)" in sections[""]


def test_private_notes_only_when_asked(exports: dict[str, tuple[str, Texts]]) -> None:
    _, texts = exports["plain"]
    private = [shown(t) for kind, t in texts.used if kind in ("private", "draft")]
    for key in ("plain shared", "plain partner"):
        doc = exports[key][0]
        assert "this device only" not in doc
        assert not any(p in "\n".join(_text(t) for t in MD.parse(doc) if t.type == "inline")
                       for p in private)
    # the partner's export holds the same shared journal, structure and all
    assert _shape(MD.parse(exports["plain partner"][0])) == _shape(
        MD.parse(exports["hostile partner"][0]))


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_escape_inline_is_always_literal_text(text: str) -> None:
    tokens = MD.parse(escape_inline(text))
    folded = " ".join(text.replace("\0", "\ufffd").split())
    if not folded:
        assert tokens == []
        return
    assert [t.type for t in tokens] == ["paragraph_open", "inline", "paragraph_close"]
    assert {c.type for c in tokens[1].children or []} == {"text"}
    assert _text(tokens[1]) == folded


@settings(max_examples=300, deadline=None)
@given(st.text(), st.text(min_size=1), st.sampled_from([0, 1]))
def test_block_stays_inside_its_list_item(text: str, name: str, depth: int) -> None:
    """Any text of any lines, after any name, is one paragraph of its own list item: the
    next item is still the next item."""
    lines = ["- parent"] if depth else []
    lines += item(f"{who(name)}: {block(text, indent(depth))}", depth=depth)
    lines += item("after", depth=depth)
    tokens = MD.parse("\n".join(lines))
    lists = [t for t in tokens if t.type == "bullet_list_open"]
    assert len(lists) == 1 + depth
    items = [t for t in tokens if t.type == "list_item_open" and t.level == lists[-1].level + 1]
    assert len(items) == 2
    inlines = [t for t in tokens if t.type == "inline"][depth:]
    folded = " ".join(name.replace("\0", "\ufffd").split()) or "?"
    assert [_text(t) for t in inlines] == [f"{folded}: {shown(text)}".rstrip(), "after"]
    assert {c.type for c in inlines[0].children or []} <= {
        "text", "strong_open", "strong_close", "hardbreak"}
    assert list(_bold(tokens)) == [folded]


def test_a_nested_list_typed_into_a_note_keeps_its_shape() -> None:
    """Leading spaces would be dropped by every renderer: how far each line stands in from
    the least indented one is kept as no-break spaces, so sub-items still stand to the
    right, siblings stay level, and nothing becomes a list or code."""
    nb = "\u00a0"

    def rendered(typed: str) -> str:
        html = MD.render("\n".join(item(f"{who('Ada')}: {block(typed)}")))
        assert html.count("<li>") == 1 and "<code>" not in html and "<pre>" not in html
        return html

    assert (f"Plan:<br />\n{nb * 2}- ask Ben<br />\n{nb * 4}- about pricing<br />\n"
            f"{nb * 4}- a tab in") in rendered("Plan:\n  - ask Ben\n    - about pricing\n\t- a tab in")
    # the same indentation on every line is no indentation; siblings stay level
    assert "- one<br />\n- two<br />\n" + nb * 2 + "- under two</li>" in rendered(
        "  - one\n  - two\n    - under two")
    assert "first<br />\nsecond</li>" in rendered("\tfirst\n\tsecond")


def test_block_of_nothing_is_nothing() -> None:
    assert block("") == block("\n \t\n") == ""
    assert block("a\n\n\nb", "    ") == "a\\\n    \\\n    b"

