"""Renaming one's own device: the new name reaches the partner through the same checked
sync; the partner's devices, revoked ones and empty or overlong names are refused with a
sentence and change nothing. Real journals, paired and synced in process."""

from __future__ import annotations

from pathlib import Path

import pytest

from comentor import model
from comentor.model.errors import NotFoundError, ValidationError
from comentor.model.testing import paired_journals, sync_in_process


def _ops(j: model.Journal) -> int:
    return int(j.conn.execute("SELECT count(*) FROM ops").fetchone()[0])


def _name(j: model.Journal, device: str) -> str:
    return str((j.get("devices", device) or {}).get("name"))


def test_a_renamed_device_is_renamed_for_the_partner(tmp_path: Path) -> None:
    ada, ben = paired_journals(tmp_path)
    kept = model.rename_device(ada, ada.device_id, "  Work \n laptop ")
    assert kept == "Work laptop" == _name(ada, ada.device_id)
    sync_in_process(ada, ben)
    assert _name(ben, ada.device_id) == "Work laptop"
    shown = {d["id"]: d["name"] for d in model.list_devices(ben)}
    assert shown[ada.device_id] == "Work laptop"
    before = _ops(ada)
    assert model.rename_device(ada, ada.device_id, "Work laptop") == "Work laptop"
    assert _ops(ada) == before  # the same name: nothing written


@pytest.mark.parametrize("bad, words", [("", "give the device a name"),
                                        ("   ", "give the device a name"),
                                        ("x" * 61, "at most 60 characters")])
def test_a_name_must_say_something_and_fit(tmp_path: Path, bad: str, words: str) -> None:
    ada, _ben = paired_journals(tmp_path)
    before = _ops(ada)
    with pytest.raises(ValidationError, match=words):
        model.rename_device(ada, ada.device_id, bad)
    assert _ops(ada) == before


def test_only_the_owner_renames_and_never_a_revoked_device(tmp_path: Path) -> None:
    ada, ben = paired_journals(tmp_path)
    before = _ops(ada)
    with pytest.raises(ValidationError, match="Ben's device: only its owner renames it"):
        model.rename_device(ada, ben.device_id, "Ben's old phone")
    with pytest.raises(NotFoundError):
        model.rename_device(ada, "nosuchdevice0000", "x")
    assert _ops(ada) == before


def test_a_revoked_device_keeps_its_name(tmp_path: Path) -> None:
    ada, _ben, laptop = paired_journals(tmp_path, ("Ada", "Ben", "Ada"))  # Ada's second
    model.revoke_device(ada, laptop.device_id)  # lost: its name is how it is remembered
    before = _ops(ada)
    with pytest.raises(ValidationError, match="revoked: its name stays"):
        model.rename_device(ada, laptop.device_id, "the lost one")
    assert _ops(ada) == before
