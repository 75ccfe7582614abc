"""What an operator sees of a running relay: Prometheus metrics and a quiet, useful log.

``GET /metrics`` serves :class:`RelayMetrics`' registry in the Prometheus text format
(through ``prometheus_client``); every relay has its own registry, so several relays in one
process (tests, benchmarks) never mix their counts. Counts only: no mailbox id, address or
content appears in a label.

The log gets one line per event (start, stop, an expiry sweep that removed something) and
refusals, slow readers dropped and storage failures summarised per interval by kind (the
first at once, then ``N more``), so a hostile client (or a full disk) cannot flood it; an expected condition never logs a
traceback.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from comentor.sync._summary import EventSummary

__all__ = ["METRICS_CONTENT_TYPE", "RelayMetrics", "log"]

log = logging.getLogger("comentor.sync.relay")

#: The Prometheus text exposition format, version 0.0.4.
METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class _StoreCollector(Collector):
    """Mailbox, envelope and byte counts of the store (its running counts, as last read:
    the ``/metrics`` route refreshes them before each scrape)."""

    def __init__(self, stats: Callable[[], dict[str, int]]) -> None:
        self._stats = stats

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            stats = self._stats()
        except Exception:  # the store is closed or failing: report nothing rather than fail
            return
        for name, doc in (("mailboxes", "Mailboxes the relay holds"),
                          ("envelopes", "Envelopes held, not yet acked by every device"),
                          ("bytes", "Envelope bytes held")):
            if name in stats:
                yield GaugeMetricFamily(f"comentor_relay_{name}", doc, value=stats[name])


class RelayMetrics:
    """The relay's counters and its refusal log; one per :class:`RelayServer`."""

    def __init__(self, interval: float = 60.0) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.connections = Gauge("comentor_relay_connections", "Open WebSocket connections",
                                 registry=r)
        self.pairings = Gauge("comentor_relay_pairings", "Open pairing rendezvous", registry=r)
        self.pairings_opened = Counter("comentor_relay_pairings_opened",
                                       "Pairing rendezvous opened", registry=r)
        self.stored = Counter("comentor_relay_envelopes_stored", "Envelopes stored", registry=r)
        self.stored_bytes = Counter("comentor_relay_envelope_bytes_stored",
                                    "Envelope bytes stored", registry=r)
        self.delivered = Counter("comentor_relay_envelopes_delivered",
                                 "Envelopes sent to a device (pushed or fetched)", registry=r)
        self.delivered_bytes = Counter("comentor_relay_envelope_bytes_delivered",
                                       "Envelope bytes sent to a device", registry=r)
        self.refusals = Counter("comentor_relay_refusals", "Requests or connections refused",
                                ["reason"], registry=r)
        self.slow_dropped = Counter(
            "comentor_relay_slow_readers_dropped", "Connections dropped (close 1013) because "
            "the client did not read what the relay wrote to it", registry=r)
        self.store_failures = Counter("comentor_relay_store_failures",
                                      "Store operations that failed (disk, database)", registry=r)
        self.store_latency = Histogram(
            "comentor_relay_store_seconds", "Time spent in the store per operation", ["op"],
            buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
            registry=r)
        self.summary = EventSummary(log.warning, interval)
        self.errors = EventSummary(log.error, interval)  # storage failures

    def watch_store(self, stats: Callable[[], dict[str, int]]) -> None:
        """Report the store's counts at each scrape."""
        self.registry.register(_StoreCollector(stats))

    def refused(self, reason: str, line: str) -> None:
        """One refusal: counted by reason, logged summarised per interval."""
        self.refusals.labels(reason).inc()
        self.summary.note(f"refusals ({reason})", line)

    def dropped(self, line: str) -> None:
        """A slow reader dropped: counted, logged summarised per interval."""
        self.slow_dropped.inc()
        self.summary.note("slow readers dropped", line)

    def store_failed(self, line: str) -> None:
        """A storage failure: counted, logged (at once the first, then summarised) as an
        error; a client hitting a full disk 50 times a second gets one line a minute."""
        self.store_failures.inc()
        self.errors.note("storage failures", line)

    def tick(self) -> None:
        """Report the summaries that are due (call now and then)."""
        self.summary.tick()
        self.errors.tick()

    def flush(self) -> None:
        """Report every pending summary (at shutdown)."""
        self.summary.flush()
        self.errors.flush()

    def deliver(self, count: int, size: int) -> None:
        if count:
            self.delivered.inc(count)
            self.delivered_bytes.inc(size)

    @contextmanager
    def timed(self, op: str) -> Iterator[None]:
        """Time one store call (a put batch, a fetch, an ack...)."""
        started = time.perf_counter()
        try:
            yield
        finally:
            self.store_latency.labels(op).observe(time.perf_counter() - started)

    def exposition(self) -> tuple[str, str]:
        """(content type, body) for ``GET /metrics`` (refresh the store's counts first)."""
        return METRICS_CONTENT_TYPE, generate_latest(self.registry).decode()
