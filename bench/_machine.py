"""What the machine gave the benches: the share of its CPU time the hypervisor gave to
other guests ("steal", from Linux's /proc/stat).

On the shared virtual machines these figures come from, steal comes and goes between 0
and about 40 % in episodes of tens of seconds, and every process measured meanwhile slows
with it, the baseline as much as comentor. A figure is comparable with another only at a
like steal share, so the benches print it beside their runs (bench/relay.py samples it
once a second in its own ``MachineClock``).
"""

from __future__ import annotations

__all__ = ["Steal", "ticks"]


def ticks() -> tuple[int, int] | None:
    """(steal, all) CPU ticks since boot, summed over the CPUs; None off Linux."""
    try:
        with open("/proc/stat") as f:  # cpu user nice system idle iowait irq softirq steal
            counts = [int(x) for x in f.readline().split()[1:9]]
    except (OSError, ValueError):
        return None
    return (counts[7], sum(counts)) if len(counts) == 8 else None


class Steal:
    """Steal over a span: made at its start, :meth:`share` at its end (or any time)."""

    def __init__(self) -> None:
        self._start = ticks()

    def share(self) -> float:
        """Steal as a share of all the CPU time since this was made (NaN: not known, or
        too short a span for the kernel's 10 ms ticks)."""
        end = ticks()
        if self._start is None or end is None or end[1] == self._start[1]:
            return float("nan")
        return (end[0] - self._start[0]) / (end[1] - self._start[1])

    def percent(self) -> str:
        """:meth:`share` as it is printed: "3%", or "?" when it is not known."""
        share = self.share()
        return "?" if share != share else f"{share * 100:.0f}%"
