"""The baselines of a partnership's first check-in: where each partner stands at the start.

Each partner records one baseline (role, situation, main clients and how concentrated the
business is, near- and long-term goals). On one machine the partner's baseline is recorded
from what they say on the call, under their name.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from comentor import model
from comentor.model import missing_baselines

from ..modals.fields import field
from ..modals.form import FormModal
from ..text import first_name, one_line

__all__ = ["baseline_form", "missing_baselines"]


def baseline_form(person: str, name: str, *, is_me: bool, session: str | None,
                  today: dt.date) -> FormModal:
    fields = [
        field("role", "Role", required=True, placeholder="e.g. independent UX researcher"),
        field("situation", "Situation", "long"),
        field("clients", "Main clients", placeholder="who pays, and how much of it"),
        field("concentration", "Client concentration", "select", default="medium",
              options=[("low", "low"), ("medium", "medium"), ("high", "high")]),
        field("near_goals", "Near-term goals"),
        field("long_goals", "Long-term goals"),
    ]

    def submit(j: Any, v: dict[str, Any]) -> str:
        return model.record_baseline(
            j, role=v["role"], situation=v["situation"] or "", clients=v["clients"] or "",
            concentration=v["concentration"], near_goals=v["near_goals"] or "",
            long_goals=v["long_goals"] or "", session=session, person=person)

    name = one_line(name)
    note = ("Your baseline: where you stand as the partnership starts." if is_me else
            f"{name}'s baseline, as {first_name(name)} tells it on the call.")
    return FormModal(f"Baseline: {name}", fields, submit, note=note)
