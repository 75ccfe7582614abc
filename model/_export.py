"""Exports: Markdown to read, JSON to process, iCalendar to put the series in a calendar.

Exports hold what both partners share; private notes are only included when asked for,
because an export file is easy to send on by mistake.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from ._calendar import export_ics
from ._markdown import export_markdown
from ._schema import TABLES

if TYPE_CHECKING:
    from ._journal import Journal

__all__ = ["export_json", "export_markdown", "export_ics", "FORMATS"]


FORMATS = ("md", "json", "ics")
_SKIP = {"hlc_created", "hlc_updated", "deleted"}


def _clean(row: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.hex() if isinstance(v, bytes) else v) for k, v in row.items() if k not in _SKIP}


def export_json(j: Journal, *, private: bool = False) -> str:
    data: dict[str, Any] = {"format": "comentor-export-1", "exported_at": j.now_iso()}
    for table in TABLES:
        data[table] = [_clean(r) for r in j.rows(table)]
    if private:
        data["private_notes"] = j.private_notes()
    return json.dumps(data, indent=2, ensure_ascii=False, sort_keys=True)
