"""Prometheus metrics of one API app, in its own registry (two apps in a process never collide).

Request counts are kept as they happen; job figures (jobs by status, polls, bytes stored,
credits) are read from the job store at scrape time, and so is the provider's circuit (at most a
second old, see :mod:`vidgate.provider.health`), so every API process reports the same truth about
the shared database.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from vidgate.jobs.models import Job
from vidgate.jobs.status import Status
from vidgate.jobs.store import JobStore
from vidgate.provider.health import ProviderStatus
from vidgate.tenancy.reconcile import Reconciliation
from vidgate.tenancy.tables import Upload

__all__ = ["CONTENT_TYPE_LATEST", "ApiMetrics", "JobFigures"]


@dataclass
class JobFigures:
    """The job store's totals at one moment."""

    by_status: dict[Status, int] = field(default_factory=dict)
    polls: int = 0
    stored_bytes: int = 0
    credits_spent: float = 0.0
    credits_estimated: float = 0.0


class _JobCollector(Collector):
    def __init__(self) -> None:
        self.figures = JobFigures()

    def collect(self) -> Iterator[Metric]:
        figures = self.figures
        jobs = GaugeMetricFamily("vidgate_jobs", "Jobs by status.", labels=["status"])
        for status in Status:
            jobs.add_metric([status.value], figures.by_status.get(status, 0))
        yield jobs
        yield CounterMetricFamily(
            "vidgate_provider_polls", "Polls of provider tasks, over all jobs.", figures.polls
        )
        yield GaugeMetricFamily(
            "vidgate_stored_bytes", "Bytes of finished videos in storage.", figures.stored_bytes
        )
        yield CounterMetricFamily(
            "vidgate_credits_spent", "Credits charged by the provider.", figures.credits_spent
        )
        yield CounterMetricFamily(
            "vidgate_credits_estimated",
            "Credits estimated at submission, over all jobs.",
            figures.credits_estimated,
        )


class ApiMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "vidgate_http_requests",
            "HTTP requests answered, by route template and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        # Up to the answer's last byte: a `?wait=` or an event stream lasts as long as it is held.
        self.request_seconds = Histogram(
            "vidgate_http_request_duration_seconds",
            "Time from a request's arrival to its answer's last byte, by route template.",
            ["method", "route"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
            registry=self.registry,
        )
        self.rate_limited = Counter(
            "vidgate_rate_limited_requests",
            "Requests refused by the per-key rate limit.",
            registry=self.registry,
        )
        self.uploads = Counter(
            "vidgate_uploads",
            "Media files accepted (uploads of every surface, ingested URLs).",
            registry=self.registry,
        )
        self.upload_bytes = Counter(
            "vidgate_upload_bytes", "Bytes of the media files accepted.", registry=self.registry
        )
        self.provider_down = Gauge(
            "vidgate_provider_down",
            "1 while the provider is known to be down and new generations and uploads are "
            "answered 503, else 0.",
            ["provider"],
            registry=self.registry,
        )
        self.provider_failures = Gauge(
            "vidgate_provider_failures",
            "Provider calls failed in a row (5xx, dropped connection, timeout), as last recorded.",
            ["provider"],
            registry=self.registry,
        )
        self.unaccounted_credits = Gauge(
            "vidgate_unaccounted_credits",
            "Credits the provider's usage report shows for the last days that no vidgate job "
            "accounts for (see GET /v1/usage).",
            registry=self.registry,
        )
        self._jobs = _JobCollector()
        self.registry.register(self._jobs)

    def upload_accepted(self, upload: Upload) -> None:
        self.uploads.inc()
        self.upload_bytes.inc(upload.bytes)

    def show_provider(self, status: ProviderStatus) -> None:
        """Set the provider gauges (call before :meth:`render`)."""
        self.provider_down.labels(status.provider).set(1 if status.down else 0)
        self.provider_failures.labels(status.provider).set(status.failures)

    def show_reconciliation(self, reconciliation: Reconciliation) -> None:
        """Set the unaccounted-credits gauge (call before :meth:`render`)."""
        self.unaccounted_credits.set(reconciliation.unaccounted_credits)

    async def refresh(self, store: JobStore) -> None:
        """Read the job figures from the store (call before :meth:`render`)."""
        by_status = await store.count_by_status()
        stmt = select(
            func.coalesce(func.sum(Job.poll_count), 0),
            func.coalesce(func.sum(Job.output_bytes), 0),
            func.coalesce(func.sum(Job.cost_credits), 0.0),
            func.coalesce(func.sum(Job.estimated_credits), 0.0),
        )
        async with store.engine.connect() as conn:
            polls, stored, spent, estimated = (await conn.execute(stmt)).one()
        self._jobs.figures = JobFigures(
            by_status=by_status,
            polls=int(polls or 0),
            stored_bytes=int(stored or 0),
            credits_spent=float(spent or 0.0),
            credits_estimated=float(estimated or 0.0),
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
