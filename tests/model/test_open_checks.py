"""What opening checks, made cheap without checking less (issue 11: `comentor add` near the
import floor), and the records that replaced dataclasses on the quick path.

The check that every expected column is there runs once for each schema text (and each
set of expectations): a later open of the same text is vouched for by a mark in the state
folder, and any other text, or code that expects more, is checked in full again.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pytest

from comentor import model as m
from comentor.model import _upgrade as upgrade
from comentor.model._epoch import Mark, _parse, _text, read_mark
from comentor.model._identity import DeviceKeys
from comentor.model._journal import Journal
from comentor.model._ops import Operation
from comentor.model._schema import Field, expected_columns
from comentor.model.errors import DamagedJournalError


def _marks() -> set[str]:
    folder = Path(os.environ["COMENTOR_STATE_DIR"]) / "schemas"
    return {p.name for p in folder.iterdir()} if folder.exists() else set()


def test_a_schema_text_is_checked_in_full_once_then_vouched_for(tmp_path: Path) -> None:
    path = tmp_path / "j.db"
    Journal.create(path, "Ada").close()  # creating opens it once: the text is checked
    first = _marks()
    assert len(first) == 1
    Journal.open(path).close()
    assert _marks() == first  # the same text: nothing new to vouch for


def test_a_changed_text_is_checked_again_and_its_damage_found(tmp_path: Path) -> None:
    path = tmp_path / "j.db"
    Journal.create(path, "Ada").close()
    data = path.read_bytes()
    table = b'CREATE TABLE "wins" (id TEXT PRIMARY KEY, deleted '
    assert data.count(table) == 1
    path.write_bytes(data.replace(table, table.replace(b"deleted", b"deletex")))
    with pytest.raises(DamagedJournalError) as caught:
        Journal.open(path)
    assert "wins lacks deleted" in str(caught.value.field("detail"))


def test_code_that_expects_more_checks_a_vouched_text_again(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "j.db"
    Journal.create(path, "Ada").close()

    def more() -> dict[str, set[str]]:  # a later comentor that reads one more column
        wanted = expected_columns()
        wanted["wins"] = wanted["wins"] | {"mood"}
        return wanted

    monkeypatch.setattr(upgrade, "expected_columns", more)
    with pytest.raises(DamagedJournalError) as caught:
        Journal.open(path)
    assert "wins lacks mood" in str(caught.value.field("detail"))


def test_an_unwritable_state_folder_only_means_checking_every_time(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "j.db"
    Journal.create(path, "Ada").close()
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("")
    monkeypatch.setenv("COMENTOR_STATE_DIR", str(blocked))
    with Journal.open(path) as j:
        assert m.add_win(j, "Shipped it")


def test_the_epoch_mark_is_the_json_it_always_was(tmp_path: Path) -> None:
    import json

    for mark in (Mark(0, 0), Mark(123456789012345, 42)):
        assert _text(mark) == json.dumps({"epoch": mark.epoch, "seq": mark.seq})
        assert _parse(_text(mark)) == mark
    assert _parse('{"seq": 2,\n "epoch": 1}') == Mark(1, 2)  # any JSON of that shape
    for bad in ('{"epoch": 01, "seq": 2}', '{"epoch": -1, "seq": x}', "", "[1, 2]"):
        with pytest.raises((ValueError, KeyError, TypeError)):
            _parse(bad)
    with Journal.create(tmp_path / "j.db", "Ada") as j:
        m.add_win(j, "Shipped it")
        mark = read_mark(j.device_id)
        assert mark is not None and mark.epoch == int(j.meta("epoch") or 0) and mark.seq >= 1


def test_records_behave_as_the_frozen_dataclasses_they_replace() -> None:
    a = Operation("r", 1, 2, "wins", "x", {"text": "t"})
    assert a == Operation("r", 1, 2, "wins", "x", {"text": "t"}, {}, b"")
    assert a != Operation("r", 1, 2, "wins", "x", {"text": "u"})
    assert a.bases == {} and a.sig == b""
    assert repr(Field("str", search=True)) == ("Field(kind='str', choices=(), ref='', "
                                               "search=True, low=None, high=None, max_bytes=64)")
    assert hash(Field("int")) == hash(Field("int")) and Field("int") != Field("str")
    keys = DeviceKeys(b"a" * 32, b"b" * 32)
    assert {keys, DeviceKeys(b"a" * 32, b"b" * 32)} == {keys}
    with pytest.raises(dataclasses.FrozenInstanceError):
        keys.sign_secret = b"c" * 32  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        del a.seq  # type: ignore[misc]
    assert m.SearchPage().hits == [] and m.SearchPage().hits is not m.SearchPage().hits
    matrix = m.SkillsMatrix(["Ada"])
    matrix.matches.append(m.SkillMatch("Ada", "sql", "Bo", "sql", 1.0))
    assert matrix == m.SkillsMatrix(["Ada"], matches=[m.SkillMatch("Ada", "sql", "Bo", "sql", 1.0)])
    with pytest.raises(TypeError):
        hash(matrix)
