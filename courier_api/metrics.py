"""Prometheus metrics: what is counted, and the one place that records it.

One `Metrics` per process, built when the app (or the outbox worker) starts and installed as the
process's recorder; the hooks below (`observe_verdict`, `observe_verification`, ...) are no-ops
until then, so use cases and tests that never start an app pay nothing and need no registry.

`courier-api serve --workers N` runs N processes behind one socket: each writes its values to
memory-mapped files in `PROMETHEUS_MULTIPROC_DIR` (created per server start by the CLI), and the
process that answers a scrape adds up every process's files. Gauges say how (`multiprocess_mode`):
`livesum` for quantities that add up across processes, `livemin` for "is every process fine".

Label values come from closed sets only (route templates, check codes, verdicts): never ids.
"""

from __future__ import annotations

import bisect
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Protocol

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, values
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead
from prometheus_client.registry import Collector

from infra.database import PoolUsage
from infra.repositories.outbox import OutboxBacklog

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
# Route label for requests no route matched (404, 405 from the router): the raw path would let any
# caller mint a new series per request.
UNMATCHED_ROUTE = "unmatched"
# Request latency: from 2 ms (health, cached eligibility) to 30 s (a slow photo upload).
_REQUEST_BUCKETS = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
# Verification of one photo: tens of milliseconds to a few seconds under load.
_VERIFY_BUCKETS = (0.025, 0.05, 0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 6.4)
# CPU of one verification stage: a tenth of a millisecond (checks) to ~0.1 s (a 48 MP decode).
_STAGE_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5)


class _Check(Protocol):
    @property
    def code(self) -> str: ...

    @property
    def passed(self) -> bool: ...


class Metrics:
    """The metric objects of this process; `registry()` is what a scrape reads."""

    def __init__(self) -> None:
        # prometheus_client picks plain or memory-mapped values when it is first imported; the CLI
        # sets PROMETHEUS_MULTIPROC_DIR later than that (in the process that also runs the app when
        # --workers is 1), so the choice is made again here, before any metric exists.
        values.ValueClass = values.get_value_class()  # type: ignore[no-untyped-call]  # untyped upstream
        self.multiprocess_dir = os.environ.get(MULTIPROC_ENV) or None
        # In multiprocess mode nothing is registered: a scrape reads the files of every process.
        own = None if self.multiprocess_dir else CollectorRegistry(auto_describe=True)
        self._own_registry = own
        self.request_duration = Histogram(
            "courier_http_request_duration_seconds",
            "HTTP requests by method, route template and status: latency (its _count is the request count)",
            ["method", "route", "status"],
            buckets=_REQUEST_BUCKETS,
            registry=own,
        )
        self.photo_verdicts = Counter(
            "courier_photo_verdicts",
            "Photo attempts recorded, by verdict (replays of an earlier answer are not counted)",
            ["verdict"],
            registry=own,
        )
        self.photo_failed_checks = Counter(
            "courier_photo_failed_checks",
            "Failed checks of recorded photo attempts, by check code",
            ["code"],
            registry=own,
        )
        self.verification_seconds = Histogram(
            "courier_photo_verification_seconds",
            "Time to verify one photo in the verification pool (queueing included)",
            buckets=_VERIFY_BUCKETS,
            registry=own,
        )
        self.verification_stage_cpu = Histogram(
            "courier_photo_verification_stage_cpu_seconds",
            "CPU time of each stage of one photo's verification (decode, label, copy, fingerprint...): "
            "where verification spends, in production, on the photos couriers really send",
            ["stage"],
            buckets=_STAGE_BUCKETS,
            registry=own,
        )
        self.uploads_in_flight = Gauge(
            "courier_photo_uploads_in_flight",
            "Photo upload requests being received, verified or stored right now",
            registry=own,
            multiprocess_mode="livesum",
        )
        self.db_pool = Gauge(
            "courier_db_pool_connections",
            "PostgreSQL pool connections by state (in_use, idle, max), summed over processes",
            ["state"],
            registry=own,
            multiprocess_mode="livesum",
        )
        self.change_feed_live = Gauge(
            "courier_change_feed_live",
            "1 when the policy/bar change feed listens in every process; 0 while any process reads the database instead",
            registry=own,
            multiprocess_mode="livemin",
        )
        self.change_feed_last_event = Gauge(
            "courier_change_feed_last_event_timestamp_seconds",
            "Unix time of the last change notification (or (re)connection) of the most behind process",
            registry=own,
            multiprocess_mode="livemin",
        )
        self.outbox_deliveries = Counter(
            "courier_outbox_deliveries",
            "Outbox rows settled by the worker, by channel and outcome (sent, skipped, retry, dead)",
            ["channel", "outcome"],
            registry=own,
        )
        # Requests per (method, route, status) since the last flush: [sum of seconds, count per bucket...].
        self._tallies: dict[tuple[str, str, int], list[float]] = {}

    def sample(
        self, pool: PoolUsage, *, feed_live: bool | None = None, feed_event_at: float | None = None
    ) -> None:
        """Copy this process's pool and change-feed state into its gauges."""
        self.db_pool.labels("in_use").set(pool.in_use)
        self.db_pool.labels("idle").set(pool.idle)
        self.db_pool.labels("max").set(pool.max)
        if feed_live is not None:
            self.change_feed_live.set(1 if feed_live else 0)
        if feed_event_at is not None:
            self.change_feed_last_event.set(feed_event_at)

    def retire(self) -> None:
        """This process stops: its live gauges leave the sums (its counters stay, as counters must)."""
        if self.multiprocess_dir:
            mark_process_dead(os.getpid(), self.multiprocess_dir)  # type: ignore[no-untyped-call]

    def registry(self, extra: Iterable[Collector] = ()) -> CollectorRegistry:
        """A registry for one scrape: this process's metrics or every process's files, plus `extra`."""
        registry = CollectorRegistry()
        if self._own_registry is not None:
            registry.register(self._own_registry)
        else:
            MultiProcessCollector(registry, path=self.multiprocess_dir)  # type: ignore[no-untyped-call]
        for collector in extra:
            registry.register(collector)
        return registry

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        """Tally one request in memory; `flush_requests` moves the tallies into the histogram.

        A histogram observation in multiprocess mode is two locked writes to the memory-mapped file
        (~5 µs, 5% of a /health request's CPU); a tally is a dict look-up and two additions.
        """
        key = (method, route, status)
        tally = self._tallies.get(key)
        if tally is None:
            tally = self._tallies[key] = [0.0] * (len(_REQUEST_BUCKETS) + 2)
        tally[0] += seconds
        tally[1 + bisect.bisect_left(_REQUEST_BUCKETS, seconds)] += 1  # the first bucket with le >= seconds

    def flush_requests(self) -> None:
        """Add the requests tallied since the last flush to the histogram (every second, and at each scrape)."""
        tallies, self._tallies = self._tallies, {}
        for (method, route, status), tally in tallies.items():
            child = self.request_duration.labels(method, route, str(status))
            # prometheus_client has no public "observe n times"; its value objects are what observe() uses.
            child._sum.inc(tally[0])
            for bucket, count in zip(child._buckets, tally[1:], strict=True):
                if count:
                    bucket.inc(count)


class OutboxCollector(Collector):
    """The outbox backlog read at scrape time (one query), rendered by the process that answers."""

    def __init__(self, backlog: OutboxBacklog) -> None:
        self._backlog = backlog

    def collect(self) -> Iterable[Metric]:
        backlog = GaugeMetricFamily(
            "courier_outbox_backlog", "Outbox rows not yet settled, by status", labels=["status"]
        )
        backlog.add_metric(["pending"], self._backlog.pending)
        backlog.add_metric(["sending"], self._backlog.sending)
        yield backlog
        yield GaugeMetricFamily(
            "courier_outbox_dead_letters",
            "Outbox rows that exhausted their attempts (support can retry them)",
            value=self._backlog.dead,
        )
        yield GaugeMetricFamily(
            "courier_outbox_oldest_pending_age_seconds",
            "Age of the oldest pending outbox row (0 when none is pending)",
            value=self._backlog.oldest_pending_age_s or 0.0,
        )


_current: Metrics | None = None


def install(metrics: Metrics | None) -> None:
    """Make `metrics` this process's recorder (None: recording off)."""
    global _current  # noqa: PLW0603 - Prometheus values are per process by nature
    _current = metrics


def current() -> Metrics | None:
    return _current


def observe_verdict(verdict: str, checks: Sequence[_Check]) -> None:
    """One recorded photo attempt: its verdict and the codes of the checks it failed."""
    metrics = _current
    if metrics is None:
        return
    metrics.photo_verdicts.labels(verdict).inc()
    for check in checks:
        if not check.passed:
            metrics.photo_failed_checks.labels(check.code).inc()


def observe_verification(seconds: float) -> None:
    metrics = _current
    if metrics is not None:
        metrics.verification_seconds.observe(seconds)


def observe_verification_stages(cpu_seconds: Mapping[str, float]) -> None:
    metrics = _current
    if metrics is not None:
        for stage, seconds in cpu_seconds.items():
            metrics.verification_stage_cpu.labels(stage).observe(seconds)


def observe_delivery(channel: str, outcome: str) -> None:
    metrics = _current
    if metrics is not None:
        metrics.outbox_deliveries.labels(channel, outcome).inc()


@contextmanager
def upload_in_flight() -> Iterator[None]:
    metrics = _current
    if metrics is None:
        yield
        return
    metrics.uploads_in_flight.inc()
    try:
        yield
    finally:
        metrics.uploads_in_flight.dec()
