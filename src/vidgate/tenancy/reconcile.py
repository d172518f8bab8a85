"""Spend reconciled with the provider's usage report: uncertain creates settled, strays shown.

A create whose answer was lost fails its job ``SUBMISSION_UNCERTAIN``: the task may exist upstream
and be billed, or may never have been made. Until it is known, the job keeps its estimate reserved
(:mod:`vidgate.tenancy.spend`), so budgets never undercount. Each round of
:class:`UsageReconciler` reads the provider's credits by UTC day and model (Runway:
``POST /v1/organization/usage``) and, for each day and model, compares them with what vidgate's
jobs account for (spent and reserved, the unsettled uncertain ones left out):

- the credits charged beyond that are given to the day's uncertain jobs of the model, oldest
  first, each its estimate while they cover it: such a job is settled at its estimate (it ran and
  was paid for);
- an uncertain job they do not cover is settled at 0 (it never reached the provider), once it is
  at least ``VIDGATE_USAGE_RECONCILE_SECONDS`` old, so that the report has had time to show it;
- what remains is credits spent upstream that no job accounts for (another client on the same
  Runway key, a job whose row was lost): ``GET /v1/usage`` and ``vidgate_unaccounted_credits``.

A request (``GET /v1/usage``, ``/metrics``) waits at most ``PROVIDER_WAIT_SECONDS`` for a round;
past that it is answered with the last round's figures (the uncertain jobs still reserved) while
the round goes on, so a provider that is slow or down never holds a page for its retries. Where
jobs run, :meth:`UsageReconciler.run` also has a round every ``VIDGATE_USAGE_RECONCILE_SECONDS``
while any uncertain job is unsettled, so they are settled though nobody asks.

Jobs count on the day they were created; a create in the last moments of a UTC day may be charged
on the next, and is then reported as unaccounted on one day and settled at 0 on the other.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncEngine

from vidgate.clock import utcnow
from vidgate.db.cache import ReadThrough
from vidgate.db.engine import Transactions
from vidgate.errors import VidgateError
from vidgate.jobs.models import Job
from vidgate.jobs.store import JobStore, StaleJob
from vidgate.jobs.wake import Wakeup, run_rounds
from vidgate.provider.base import PROVIDER_WAIT_SECONDS, Provider
from vidgate.tenancy.spend import unsettled_uncertain, usage_by_day

__all__ = ["RECONCILE_DAYS", "Reconciliation", "UnaccountedCredits", "UsageReconciler"]

log = logging.getLogger("vidgate.tenancy.reconcile")

#: The days each round compares, today included (uncertain jobs older than that stay reserved).
RECONCILE_DAYS = 7
# Credits are floats; sums of them may carry rounding dust.
_EPSILON = 1e-6


@dataclass(frozen=True)
class UnaccountedCredits:
    """Credits the provider charged for one model on one day that no vidgate job accounts for."""

    day: date
    model: str
    credits: float


@dataclass(frozen=True)
class Reconciliation:
    """What one round found."""

    checked_at: datetime
    #: By day and model; empty when every credit is accounted for.
    unaccounted: list[UnaccountedCredits]
    #: Uncertain jobs this round settled (charged or not).
    settled: int = 0
    #: False when the provider's report could not be read (nothing was compared).
    read: bool = True

    @property
    def unaccounted_credits(self) -> float:
        return sum(u.credits for u in self.unaccounted)


class UsageReconciler:
    """Rounds of reconciliation, at most one per ``every_seconds``, on demand (:meth:`current`)."""

    def __init__(
        self,
        engine: AsyncEngine,
        provider: Provider,
        *,
        every_seconds: float,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._store = JobStore(engine)
        self._reading = Transactions(engine).reading
        self._provider = provider
        self._every = timedelta(seconds=every_seconds)
        self._clock = clock
        self._rounds: ReadThrough[None, Reconciliation] = ReadThrough(every_seconds, clock=clock)

    async def current(self) -> Reconciliation:
        """The latest round, run now if the last one is older than ``every_seconds``; if it takes
        longer than ``PROVIDER_WAIT_SECONDS``, the last figures (the round goes on)."""
        return await self._rounds.get_within(
            None, self._round, PROVIDER_WAIT_SECONDS, lambda: self._unread(self._clock())
        )

    async def run(self, stop: asyncio.Event) -> None:
        """A round every ``every_seconds`` while an uncertain job is unsettled, until ``stop``."""
        await run_rounds(
            self._background_round,
            stop=stop,
            wakeup=Wakeup(),
            idle_seconds=self._every.total_seconds(),
            log=log,
            name="usage reconciliation",
        )

    async def _background_round(self) -> int:
        if await self._any_unsettled():
            await self._rounds.get(None, self._round)
        return 0  # always pause: the next round is due ``every_seconds`` later

    async def _any_unsettled(self) -> bool:
        async with self._reading() as session:
            return bool(await session.scalar(select(exists().where(unsettled_uncertain()))))

    def last(self) -> Reconciliation | None:
        """The latest round, however old; None before the first."""
        return self._rounds.last(None)

    async def _round(self) -> Reconciliation:
        now = self._clock()
        try:
            return await self.reconcile(now)
        except VidgateError as exc:
            # Keep the uncertain jobs reserved and the last figures shown; try again next round.
            log.warning("could not read the provider's usage report: %s", exc)
            return self._unread(now)

    def _unread(self, now: datetime) -> Reconciliation:
        last = self.last()
        return Reconciliation(now, last.unaccounted if last else [], read=False)

    async def reconcile(self, now: datetime | None = None) -> Reconciliation:
        """One round: compare, settle the uncertain jobs it can, return what is unaccounted."""
        now = now or self._clock()
        today = now.date()
        first = today - timedelta(days=RECONCILE_DAYS - 1)
        upstream: dict[tuple[date, str], float] = defaultdict(float)
        for used in await self._provider.usage(first, today + timedelta(days=1)):
            upstream[(used.day, used.model)] += used.credits
        uncertain_by: dict[tuple[date, str], list[Job]] = defaultdict(list)
        accounted: dict[tuple[date, str], float] = defaultdict(float)
        async with self._reading() as session:
            for row in await usage_by_day(session, None, first, today):
                accounted[(row.day, row.model)] += row.spend.committed
            since = datetime.combine(first, time(), tzinfo=UTC)
            uncertain = await session.scalars(
                select(Job)
                .where(unsettled_uncertain(), Job.parent_id.is_(None), Job.created_at >= since)
                .order_by(Job.created_at, Job.id)
            )
            for job in uncertain:
                key = (job.created_at.date(), job.model)
                uncertain_by[key].append(job)
                accounted[key] -= job.estimated_credits or 0.0  # reserved by spend's rule
        unaccounted: list[UnaccountedCredits] = []
        settled = 0
        for key in sorted(set(upstream) | set(uncertain_by)):
            excess = upstream.get(key, 0.0) - accounted.get(key, 0.0)
            for job in uncertain_by.get(key, []):
                estimate = job.estimated_credits or 0.0
                if excess + _EPSILON >= estimate:
                    excess -= estimate
                    settled += await self._settle(job, estimate, now)
                elif job.finished_at is None or now - job.finished_at >= self._every:
                    settled += await self._settle(job, 0.0, now)
                else:
                    excess -= min(max(excess, 0.0), estimate)  # may be this job's, not shown yet
            if excess > _EPSILON:
                unaccounted.append(UnaccountedCredits(key[0], key[1], excess))
        return Reconciliation(now, unaccounted, settled)

    async def _settle(self, job: Job, credits: float, now: datetime) -> int:
        try:
            await self._store.update_job(
                job, expected_version=job.version, now=now, cost_credits=credits
            )
        except StaleJob:
            return 0  # another process settled it first
        log.info(
            "job %s (create outcome unknown) settled at %g credits from the usage report",
            job.id,
            credits,
        )
        return 1
