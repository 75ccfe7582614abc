"""Feedback given before the partner joined names nobody (there was nobody to name): once
the partner is known it is theirs to answer, in the app, the agenda and the export, not a
"?" that nobody may answer. Real journals, paired and synced in process."""

from __future__ import annotations

from pathlib import Path

from comentor import model
from comentor.model import Journal
from comentor.model.testing import pair_in_process, paired_journals, sync_in_process
from comentor.tui.screens.feedback import FeedbackScreen


def test_feedback_given_before_the_partner_joined_is_the_partners_to_answer(
        tmp_path: Path) -> None:
    ada = Journal.create(tmp_path / "ada.db", "Ada")  # alone: no partner to name yet
    assert ada.partner() is None
    given = model.add_feedback(ada, "You explain trade-offs well")
    row = ada.get("feedback", given)
    assert row is not None and row["to_person"] is None
    assert model.feedback_receiver(row, ada.me, ada.partner()) is None  # nobody known yet
    mine = {i["id"]: i for i in FeedbackScreen().load(ada)}[given]
    assert (mine["to_name"], mine["for_me"]) == ("your partner", False)
    line = next(x for x in model.export_markdown(ada).splitlines() if "explain" in x)
    assert line.startswith("- **Ada** → the partner, a perspective")  # not "**?**"
    waiting = [i for i in model.agenda(ada) if i.table == "feedback" and i.id == given]
    assert [i.person for i in waiting] == ["your partner"]  # not its giver, Ada

    ben = Journal.create(tmp_path / "ben.db", "Ben", joining=True)
    pair_in_process(ada, ben)
    sync_in_process(ada, ben)
    for j in (ada, ben):
        assert model.feedback_receiver(j.get("feedback", given) or {}, j.me, j.partner()) == ben.me
    theirs = {i["id"]: i for i in FeedbackScreen().load(ben)}[given]
    assert (theirs["to_name"], theirs["for_me"]) == ("Ben", True)  # Ben may answer it
    mine = {i["id"]: i for i in FeedbackScreen().load(ada)}[given]
    assert (mine["to_name"], mine["for_me"]) == ("Ben", False)

    waiting = [i for i in model.agenda(ben) if i.table == "feedback" and i.id == given]
    assert [i.person for i in waiting] == ["Ben"]
    line = next(x for x in model.export_markdown(ben).splitlines() if "explain" in x)
    assert line.startswith("- **Ada** → **Ben**, a perspective") and "?" not in line


def test_feedback_named_for_someone_keeps_that_name(tmp_path: Path) -> None:
    ada, ben = paired_journals(tmp_path)
    given = model.add_feedback(ada, "Thanks for the intro", to_person=ben.me)
    sync_in_process(ada, ben)
    row = ben.get("feedback", given) or {}
    assert model.feedback_receiver(row, ben.me, ben.partner()) == ben.me
    assert model.feedback_receiver(row, ada.me, ada.partner()) == ben.me
    own = model.add_feedback(ben, "Noted for myself", to_person=ben.me)
    assert model.feedback_receiver(ben.get("feedback", own) or {}, ben.me, ben.partner()) == ben.me
