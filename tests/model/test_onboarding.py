"""What the partner who joins confirms (issue 10, point 5): the rules behind both first runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from comentor.model import (
    CadenceChoice,
    cadence,
    checklist_from,
    confirm_partnership,
    onboarding,
    peer_checklist,
    start_partnership,
)
from comentor.model.errors import ValidationError
from comentor.model.testing import paired_journals, sync_in_process


def test_ticks_are_named_and_a_typo_is_an_error_not_a_no() -> None:
    assert checklist_from(["all"]) == dict.fromkeys(
        ("outside_company", "outside_market", "similar_stage"), True)
    assert not any(checklist_from(["none"]).values())
    assert checklist_from(["outside-company,similar_stage"]) == {
        "outside_company": True, "outside_market": False, "similar_stage": True}
    with pytest.raises(ValidationError, match="unknown checklist box 'outside_compny'.*all or none"):
        checklist_from(["outside_compny"])
    assert not any(checklist_from(["none", "none"]).values())
    for both in (["none", "all"], ["outside_market,none"]):  # which was meant? neither is guessed
        with pytest.raises(ValidationError, match="'none' cannot go with '.*': give 'none' "
                                                  "alone, or only the boxes to tick"):
            checklist_from(both)
    with pytest.raises(ValidationError, match="unknown checklist box 'outside_compny'"):
        checklist_from(["none", "outside_compny"])  # a typo beside 'none' is called a typo


def test_the_joiner_sees_what_arrived_and_confirming_writes_only_what_changed(
        tmp_path: Path) -> None:
    ada, bo = paired_journals(tmp_path, ("Ada", "Bo"), sync=False)
    try:
        start_partnership(ada, {"outside_company": True, "outside_market": False,
                                "similar_stage": True},
                          CadenceChoice("2w", "09:30", 30, "Europe/Berlin"))
        before = onboarding(bo)  # no first sync yet: nothing from Ada, the default proposed
        assert not before.arrived and not before.cadence_chosen and before.partner == "Ada"
        assert before.cadence.every_days == 21
        sync_in_process(ada, bo)
        info = onboarding(bo)
        assert info.arrived and info.cadence_chosen and info.cadence_by == "Ada"
        assert info.checklist.by == "Ada" and info.checklist.unticked() == [
            "My partner works outside my market (not a competitor)"]
        assert info.cadence.zone == "Europe/Berlin" and info.cadence.at == "09:30"
        # a bad cadence is refused before anything is written
        with pytest.raises(ValidationError, match="time zone"):
            confirm_partnership(bo, checklist_from(["all"]), CadenceChoice(zone="Nowhere/Land"))
        assert peer_checklist(bo).by == "Ada"
        # keeping the cadence writes no schedule operation; the answers are recorded as ticked
        confirm_partnership(bo, checklist_from(["outside_company"]), CadenceChoice())
        assert cadence(bo).sequence == cadence(ada).sequence == 1
        box = peer_checklist(bo)
        assert box.by == "Bo" and box.confirmed and not box.all_ticked
        assert dict(box.ticked) == {"outside_company": True, "outside_market": False,
                                    "similar_stage": False}
    finally:
        ada.close()
        bo.close()
