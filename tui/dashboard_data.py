"""What the app reads before its first frame, with no Textual import.

The dashboard's read model is the model's (:func:`comentor.model.dashboard`); this module
only bundles it with the remembered theme, so the app can start reading on the database
thread while Textual is still being imported (see :mod:`comentor.tui.launch`): the first
frame of the dashboard then already carries real data.
"""

from __future__ import annotations

from comentor import model
from comentor.model import Dashboard as DashboardData
from comentor.model import Journal

__all__ = ["DashboardData", "StartData", "load_sync_details", "load_start"]


def load_sync_details(j: Journal) -> tuple[int, int]:
    """(conflicts, held-back operations): shown in the sync box once known (counting the
    conflicts scans long texts, so it comes after the first frame)."""
    return len(model.conflicts(j)), len(model.quarantined(j))


class StartData:
    """What the app needs before its first frame: the remembered theme and the dashboard.
    (A plain class: a dataclass costs its generated methods' compilation as the app starts.)"""

    __slots__ = ("theme", "dashboard")

    def __init__(self, theme: str | None, dashboard: DashboardData) -> None:
        self.theme = theme
        self.dashboard = dashboard

    def __repr__(self) -> str:
        return f"StartData(theme={self.theme!r}, dashboard={self.dashboard!r})"


def load_start(j: Journal) -> StartData:
    return StartData(j.setting("theme"), model.dashboard(j))
