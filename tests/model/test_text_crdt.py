"""Shared notes merged at the character level: no keystroke lost, whatever the delivery."""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from comentor import model
from comentor.model import Journal, SharedText, map_offset
from comentor.model._conflicts import conflicts
from comentor.model._ops import MAX_OP_BYTES, encode_op
from comentor.model._remote import apply_remote
from comentor.model._store import iter_stored_ops
from comentor.model.errors import ValidationError
from comentor.model.testing import sync_in_process

from .helpers import paired

NOW = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


def _legacy(j: Journal, session: str, text: str) -> None:
    """A plain, last-writer-wins write of the notes, as a journal from before character-level
    merging holds them (extra bases keep the field a plain one)."""
    j.write([("sessions", session, {"notes": text})], extra_bases={"notes": []})


def _notes(j: Journal, session: str) -> str:
    return str((j.get("sessions", session) or {}).get("notes") or "")


@pytest.fixture
def trio(tmp_path: Path):  # type: ignore[no-untyped-def]
    js = paired(tmp_path, ("Ada", "Ben", "Ada2"), now=lambda: NOW)
    yield js
    for j in js:
        j.close()


def test_typing_at_once_keeps_both(trio: list[Journal]) -> None:
    ada, ben, _ = trio
    session = model.start_checkin(ada)
    model.set_checkin_notes(ada, session, shared="We met.")
    sync_in_process(ada, ben)
    model.set_checkin_notes(ada, session, shared="We met. Ada: pricing.")
    model.set_checkin_notes(ben, session, shared="Ben: hiring. We met.")
    sync_in_process(ada, ben)
    assert _notes(ada, session) == _notes(ben, session) == "Ben: hiring. We met. Ada: pricing."
    assert not conflicts(ada) and not conflicts(ben)
    hits = model.search(ben, "pricing")
    assert [h.row for h in hits if h.table == "sessions"] == [session]


def test_old_journals_migrate_to_the_same_seed(trio: list[Journal]) -> None:
    """Two replicas holding the same text from before seed it identically (one text, not
    two); replicas that held different versions keep both, side by side."""
    ada, ben, _ = trio
    session = ada.put("sessions", None, status="done", started_at="2026-01-01T12:00:00Z")
    _legacy(ada, session, "hello")
    sync_in_process(ada, ben)
    model.set_checkin_notes(ada, session, shared="hello world")
    model.set_checkin_notes(ben, session, shared="oh hello")
    sync_in_process(ada, ben)
    assert _notes(ada, session) == _notes(ben, session) == "oh hello world"
    seeds = [op for op in iter_stored_ops(ada.conn) if op.table == "text_updates"]
    assert len({op.fields["update"] for op in seeds}) < len(seeds)  # the same seed twice

    other = ada.put("sessions", None, status="done", started_at="2026-01-02T12:00:00Z")
    _legacy(ada, other, "draft one")
    sync_in_process(ada, ben)
    _legacy(ada, other, "draft two")  # not yet seen by Ben when both edit
    model.set_checkin_notes(ada, other, shared="draft two!")
    model.set_checkin_notes(ben, other, shared="draft one?")
    sync_in_process(ada, ben)
    merged = _notes(ada, other)
    assert merged == _notes(ben, other) and "draft two!" in merged and "draft one?" in merged


def test_a_long_paste_stays_under_the_operation_limit(trio: list[Journal]) -> None:
    ada, ben, _ = trio
    session = model.start_checkin(ada)
    text = "é😀 note " * 12_000  # 96,000 characters, far more bytes
    model.set_checkin_notes(ada, session, shared=text)
    ops = [op for op in iter_stored_ops(ada.conn) if op.table == "text_updates"]
    assert len(ops) > 1 and all(len(encode_op(op)) <= MAX_OP_BYTES for op in ops)
    sync_in_process(ada, ben)
    assert _notes(ben, session) == text


def test_the_editor_keeps_the_cursor_while_the_partner_types(trio: list[Journal]) -> None:
    ada, ben, _ = trio
    session = model.start_checkin(ada)
    sync_in_process(ada, ben)
    mine = SharedText(model.shared_text_state(ada, "sessions", session))
    theirs = SharedText(model.shared_text_state(ben, "sessions", session))
    model.write_text_updates(ada, "sessions", session, mine.edit("Agenda: pricing"))
    sync_in_process(ada, ben)
    theirs.merge(model.shared_text_state(ben, "sessions", session))
    cursor = mine.text.index("pricing")  # Ada's cursor before "pricing"
    model.write_text_updates(ben, "sessions", session, theirs.edit("Ben: " + theirs.text))
    model.write_text_updates(ada, "sessions", session, mine.edit(mine.text + "!"))
    sync_in_process(ada, ben)
    splices = mine.merge(model.shared_text_state(ada, "sessions", session))
    assert mine.text == "Ben: Agenda: pricing!"
    assert mine.text[map_offset(cursor, splices):].startswith("pricing")
    assert theirs.merge(model.shared_text_state(ben, "sessions", session))
    assert theirs.text == mine.text


def test_a_broken_update_changes_nothing_anywhere(trio: list[Journal]) -> None:
    ada, ben, _ = trio
    session = model.start_checkin(ada)
    model.set_checkin_notes(ada, session, shared="kept")
    ada.write([ada.text_update("sessions", session, "notes", b"\x01\x02 not an update")])
    sync_in_process(ada, ben)
    assert _notes(ada, session) == _notes(ben, session) == "kept"


# ---------------------------------------------------------------------- property

edit = st.tuples(st.integers(0, 2), st.booleans(), st.integers(0, 10**6), st.integers(1, 4))
deliver = st.tuples(st.just("deliver"), st.integers(0, 2), st.integers(0, 2),
                    st.integers(0, 2**32 - 1))
script_st = st.lists(st.one_of(edit, edit, deliver), min_size=1, max_size=30)


def test_the_stored_state_stays_compact_and_keeps_early_arrivals(trio: list[Journal]) -> None:
    """Merged one keystroke at a time, a text's state grew tenfold (and every key paid to
    load it); stored compactly it stays the size of the editor's own. An edit that arrives
    before the ones it builds on waits, and nothing is lost once they come."""
    ada, ben, _ = trio
    session = model.start_checkin(ada)
    sync_in_process(ada, ben)
    editor, text = SharedText(), ""
    for char in "a line typed key by key, as people type\n" * 5:
        text += char
        model.write_text_updates(ada, "sessions", session, editor.edit(text))
    assert _notes(ada, session) == text
    assert len(model.shared_text_state(ada, "sessions", session)) <= 2 * len(editor.state())
    ops = [op for op in iter_stored_ops(ada.conn) if op.table == "text_updates"]
    for op in reversed(ops):  # the newest first: each waits for what it builds on
        apply_remote(ben, [op], allow_mass_delete=True)
    assert _notes(ben, session) == text
    assert len(model.shared_text_state(ben, "sessions", session)) <= 2 * len(editor.state())
    # and an editor typing into the received text costs a key, not a reload of the state
    other = SharedText(model.shared_text_state(ben, "sessions", session))
    assert other.text == text and len(other.edit(text + "!")) == 1


@settings(max_examples=int(__import__("os").environ.get("COMENTOR_CRDT_EXAMPLES", "60")),
          deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                HealthCheck.too_slow])
@given(script=script_st)
def test_concurrent_edits_converge_and_keep_every_character(
        tmp_path_factory: pytest.TempPathFactory, script: list[tuple]) -> None:  # type: ignore[type-arg]
    """Random inserts and deletes on three replicas, delivered in any order, in part and
    twice: all end with one text holding every inserted character no one deleted."""
    tmp = tmp_path_factory.mktemp("crdt")
    js = paired(tmp, ("Ada", "Ben", "Ada2"), now=lambda: NOW)
    try:
        session = model.start_checkin(js[0])
        sync_in_process(js[0], js[1])
        sync_in_process(js[0], js[2])
        fresh = iter(chr(0x4E00 + n) for n in range(10_000))  # every inserted character unique
        inserted: set[str] = set()
        deleted: set[str] = set()
        for step in script:
            if step[0] == "deliver":
                _, src, dst, seed = step
                if src != dst:
                    ops = list(iter_stored_ops(js[src].conn))
                    rnd = random.Random(seed)
                    some = rnd.sample(ops, k=rnd.randint(0, len(ops))) + rnd.sample(
                        ops, k=min(2, len(ops)))
                    _deliver(js[dst], some)
                continue
            who, insert, at, n = step
            text = _notes(js[who], session)
            pos = at % (len(text) + 1)
            if insert or not text:
                piece = "".join(next(fresh) for _ in range(n))
                inserted |= set(piece)
                new = text[:pos] + piece + text[pos:]
            else:
                pos = min(pos, len(text) - 1)
                deleted |= set(text[pos:pos + n])
                new = text[:pos] + text[pos + n:]
            model.set_checkin_notes(js[who], session, shared=new)
        for _ in range(2):
            for a in js:
                for b in js:
                    if a is not b:
                        sync_in_process(a, b)
        final = {_notes(j, session) for j in js}
        assert len(final) == 1
        text = final.pop()
        assert set(text) == inserted - deleted and len(text) == len(set(text))
    finally:
        for j in js:
            j.close()


def _deliver(j: Journal, ops: list) -> None:  # type: ignore[type-arg]
    """Apply what the receiver can check now (its author's device record must come first)."""
    devices = [op for op in ops if op.table == "devices"]
    rest = [op for op in ops if op.table != "devices"]
    for batch in (devices, rest):
        if batch:
            apply_remote(j, batch, allow_mass_delete=True)


def _text_ops(j: Journal) -> tuple[int, int]:
    count, size = j.conn.execute(
        "SELECT count(*), coalesce(sum(length(body)), 0) FROM ops WHERE tbl = 'text_updates'"
    ).fetchone()
    return int(count), int(size)


def test_an_editors_whole_state_stores_only_what_the_journal_lacks(trio: list[Journal]) -> None:
    """What an editor going away sends (its whole replica): nothing when the journal has
    it all; else one operation of the difference, not the whole text again."""
    ada, ben, _ = trio
    session = model.start_checkin(ada)
    editor = SharedText(model.shared_text_state(ada, "sessions", session))
    long = "a long agreement about pricing, " * 200
    model.write_text_updates(ada, "sessions", session, editor.edit(long))
    before = _text_ops(ada)
    assert model.write_text_state(ada, "sessions", session, editor.state()) is False
    assert _text_ops(ada) == before  # nothing new: nothing written
    editor.edit(long + "and a tail")  # typed, never sent on its own
    assert model.write_text_state(ada, "sessions", session, editor.state()) is True
    count, size = _text_ops(ada)
    assert count == before[0] + 1 and size - before[1] < len(editor.state()) // 10
    assert _notes(ada, session) == long + "and a tail"
    editor.edit(long[:-10] + "and a tail")  # a deletion only
    assert model.write_text_state(ada, "sessions", session, editor.state()) is True
    assert _notes(ada, session) == long[:-10] + "and a tail"
    # the partner typed meanwhile: both survive, and the difference carries nothing of his
    sync_in_process(ada, ben)
    model.set_checkin_notes(ben, session, shared="Ben: " + _notes(ben, session))
    sync_in_process(ada, ben)
    editor.edit("Ada: " + editor.text)
    assert model.write_text_state(ada, "sessions", session, editor.state()) is True
    sync_in_process(ada, ben)
    assert _notes(ada, session) == _notes(ben, session)
    assert _notes(ada, session).startswith(("Ada: Ben: ", "Ben: Ada: "))


def test_an_editors_state_that_is_empty_or_unreadable_stores_nothing(
        trio: list[Journal]) -> None:
    ada = trio[0]
    session = model.start_checkin(ada)
    before = _text_ops(ada)
    assert model.write_text_state(ada, "sessions", session, b"") is False
    with pytest.raises(ValidationError, match="cannot be read"):
        model.write_text_state(ada, "sessions", session, b"\xff\x00garbage")
    assert _text_ops(ada) == before
