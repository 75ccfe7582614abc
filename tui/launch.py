"""Starting the app fast: open the journal and read the first screen while Textual loads.

Importing Textual takes longer than reading a dashboard from a journal of years. So the
command line starts the journal's database thread first and queues the first screen's read
(:func:`~comentor.tui.dashboard_data.load_start`) before it imports the app; the app then
finds the data ready and draws its first frame once, with real content. No Textual import
here.
"""

from __future__ import annotations

import concurrent.futures
import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from .dashboard_data import StartData, load_start
from .data import JournalGateway

if TYPE_CHECKING:
    from comentor.model import DeviceKeys

__all__ = ["Prefetch"]


class Prefetch:
    """A journal gateway with the first screen's data already on its way."""

    def __init__(self, path: Path, *, now: Callable[[], dt.datetime] | None = None,
                 keys: DeviceKeys | None = None) -> None:
        self.path = Path(path)
        self.gateway = JournalGateway(self.path, keys=keys, now=now)
        self.future: concurrent.futures.Future[StartData] | None = (
            self.gateway.read_later(load_start) if self.path.exists() else None
        )

    def result(self, timeout: float) -> StartData | None:
        """The data if it arrives within `timeout` seconds; None on any failure or delay.

        Failures are not lost: the dashboard reads again in its worker and shows the error.
        """
        if self.future is None:
            return None
        try:
            return self.future.result(timeout=timeout)
        except Exception:  # noqa: BLE001 - reported by the dashboard's own read
            return None
