"""Whether the provider is up, judged from real calls: a circuit kept in the database.

Every call to the provider goes through :class:`~vidgate.provider.monitored.MonitoredProvider`,
which records its outcome here (the rules: :mod:`vidgate.provider.circuit`):

- a failure: :class:`~vidgate.errors.ProviderUnavailable` (5xx, dropped connection, timeout, after
  the provider's own retries) or :class:`~vidgate.errors.SubmissionUncertain` (a create lost the
  same ways);
- a success: an answer, including a definite no (``ProviderRefused``, ``NotFound``);
- neither: a 429 (``RateLimited``), an expired output URL, a refused API key, anything else.

The circuit (:class:`Circuit`) opens after ``VIDGATE_PROVIDER_DOWN_AFTER_FAILURES`` failures in a
row, counted within ``VIDGATE_PROVIDER_DOWN_WINDOW_SECONDS`` of the first; any success closes it.
While it is open, work that needs the provider is refused with
:class:`~vidgate.errors.ProviderUnavailable` (503) whose ``retry_after`` is the time until the next
probe is due: ``VIDGATE_PROVIDER_PROBE_SECONDS`` after the last failure, or longer if the
provider's own Retry-After said so. There is no probe of its own: the worker never consults the
circuit, so its retries of jobs in flight keep trying the provider and each failure pushes the
probe time on. Once that time passes with no new failure the circuit is ``probing``: work goes
through again, and the next call (a retry, or a new job's create) closes or reopens it.

One row per provider name in ``provider_health`` (migration 0006) is shared by every process. It
is written only when that changes the picture: a failure while closed (at most the threshold of
them before it opens), a failure while open only when it moves the probe time on by a second or
more, a success only when there is a failure count or an open circuit to clear. Each process reads
the row at most once a second and keeps it (:data:`CACHE_SECONDS`, in the project's read-through
cache, :class:`~vidgate.db.cache.ReadThrough`), so asking costs a clock read.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Enum, Integer, String, Text, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm import Mapped, mapped_column

from vidgate.clock import utcnow
from vidgate.db.base import Base
from vidgate.db.cache import ReadThrough
from vidgate.db.dialect import for_update, insert_or_ignore
from vidgate.db.engine import Transactions
from vidgate.errors import ProviderCredentialsRefused, ProviderUnavailable
from vidgate.jobs.models import NO_OWNER, Job
from vidgate.provider.circuit import (
    KEY_REFUSED,
    Circuit,
    CircuitPolicy,
    CircuitState,
    outcome_of,
)

__all__ = ["CACHE_SECONDS", "ProviderHealth", "ProviderHealthRow", "ProviderStatus"]

log = logging.getLogger("vidgate.provider.health")

#: How long a process keeps the row it read before reading it again.
CACHE_SECONDS = 1.0


class ProviderHealthRow(Base):
    """The stored circuit of one provider (migration 0006); see :class:`Circuit`."""

    __tablename__ = "provider_health"

    provider: Mapped[str] = mapped_column(String(32), primary_key=True)
    state: Mapped[CircuitState] = mapped_column(
        Enum(
            CircuitState,
            native_enum=False,
            length=16,
            values_callable=lambda members: [m.value for m in members],
            validate_strings=True,
        ),
        default=CircuitState.CLOSED,
    )
    failures: Mapped[int] = mapped_column(Integer, default=0)
    streak_started_at: Mapped[datetime | None]
    opened_at: Mapped[datetime | None]
    retry_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime]

    def circuit(self) -> Circuit:
        return Circuit(
            state=self.state,
            failures=self.failures,
            streak_started_at=self.streak_started_at,
            opened_at=self.opened_at,
            retry_at=self.retry_at,
            last_error=self.last_error,
        )

    def __repr__(self) -> str:
        return f"<ProviderHealthRow {self.provider} {self.state.value} {self.failures}>"


@dataclass(frozen=True)
class ProviderStatus:
    """What ``/readyz`` and ``/metrics`` show of the circuit."""

    provider: str
    state: CircuitState
    #: Calls failed in a row, as last recorded.
    failures: int
    #: Seconds until the next probe is due; 0 unless ``state`` is ``open``.
    retry_after: float
    #: The provider refused vidgate's API key (the last failure was a 401/403).
    key_refused: bool = False

    @property
    def down(self) -> bool:
        """True while work that needs the provider is refused."""
        return self.state is CircuitState.OPEN


class ProviderHealth:
    """One provider's circuit as this process sees it: read from the database at most once a
    second, written when an outcome changes it (see the module docstring)."""

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        provider: str = "runway",
        policy: CircuitPolicy | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.provider = provider
        self.policy = policy or CircuitPolicy()
        self.clock = clock
        self._engine = engine
        transactions = Transactions(engine)
        self._reading = transactions.reading
        self._writing = transactions.writing
        self._cache: ReadThrough[str, Circuit] = ReadThrough(
            CACHE_SECONDS, clock=lambda: self.clock()
        )
        # One read or write of the row at a time in this process; the others use what it finds.
        self._lock = asyncio.Lock()

    # --- reading -----------------------------------------------------------------------------

    async def current(self) -> Circuit:
        """The circuit, read again if this process's copy is older than :data:`CACHE_SECONDS`."""
        last = self._cache.last(self.provider)
        if last is not None and not self._cache.fresh(self.provider) and self._lock.locked():
            return last  # another task is reading (or writing) it: no queue behind it
        return await self._cache.get(self.provider, self._read)

    def _known(self) -> Circuit:
        """The last circuit this process read or wrote, however old."""
        return self._cache.last(self.provider) or Circuit()

    async def _read(self) -> Circuit:
        # Under the lock: a read never lands after, and over, a write of this process.
        async with self._lock:
            try:
                async with self._reading() as session:
                    row = await session.get(ProviderHealthRow, self.provider)
            except (SQLAlchemyError, OSError) as exc:
                # Keep the last known circuit for another second rather than fail the asker.
                log.warning("could not read the provider circuit: %s", exc)
                return self._known()
        return row.circuit() if row is not None else Circuit()

    async def status(self) -> ProviderStatus:
        circuit = await self.current()
        now = self.clock()
        return ProviderStatus(
            provider=self.provider,
            state=circuit.state_at(now),
            failures=circuit.failures,
            retry_after=circuit.seconds_to_probe(now),
            key_refused=circuit.key_refused,
        )

    # --- refusing ----------------------------------------------------------------------------

    async def refuse_while_down(self, work: str) -> None:
        """Raise :class:`~vidgate.errors.ProviderUnavailable` (503) while the circuit is open;
        ``work`` names what is refused in its message (``"uploads"``)."""
        circuit = await self.current()
        now = self.clock()
        if circuit.refuses(now):
            raise self._unavailable(circuit, now, work)

    async def refuse_new_job(self, owner: str | None, idempotency_key: str | None) -> None:
        """As :meth:`refuse_while_down`, except for a replay: a request whose Idempotency-Key
        already names a job of ``owner`` goes on (the store answers it with that job, or 409).

        The lookup is made only while the circuit is open: up, this costs a clock read.
        """
        circuit = await self.current()
        now = self.clock()
        if not circuit.refuses(now):
            return
        if idempotency_key is not None and await self._job_exists(owner, idempotency_key):
            return
        raise self._unavailable(circuit, now, "new generations")

    async def _job_exists(self, owner: str | None, idempotency_key: str) -> bool:
        stmt = select(Job.id).where(
            Job.owner == (owner or NO_OWNER), Job.idempotency_key == idempotency_key
        )
        async with self._reading() as session:
            return await session.scalar(stmt) is not None

    def _unavailable(
        self, circuit: Circuit, now: datetime, work: str
    ) -> ProviderUnavailable | ProviderCredentialsRefused:
        seconds = circuit.seconds_to_probe(now)
        if circuit.key_refused:
            return ProviderCredentialsRefused(
                f"the video provider refuses vidgate's API key; {work} are refused until the "
                "operator sets a valid RUNWAYML_API_SECRET"
            )
        return ProviderUnavailable(
            f"the video provider is unavailable ({circuit.failures} calls to it failed in a row); "
            f"{work} are refused until it is tried again in {math.ceil(seconds)} s",
            retry_after=seconds,
        )

    # --- recording ---------------------------------------------------------------------------

    async def record(self, exc: BaseException | None) -> None:
        """Record how a call ended (``exc`` None: it returned); see :func:`outcome_of`."""
        outcome = outcome_of(exc)
        if outcome == "success":
            await self.record_success()
        elif outcome == "failure":
            assert isinstance(exc, Exception)
            await self.record_failure(exc)
        elif outcome == "key_refused":
            # Every call would be refused alike: open the circuit at once, not after a streak.
            now, error = self.clock(), f"{KEY_REFUSED}: {exc}"
            await self._change(
                lambda circuit: circuit.after_key_refused(now, self.policy, error=error)
            )

    async def record_success(self) -> None:
        await self._change(lambda circuit: circuit.after_success())

    async def record_failure(self, exc: Exception) -> None:
        retry_after = exc.retry_after if isinstance(exc, ProviderUnavailable) else None
        error = str(exc) or type(exc).__name__
        now = self.clock()
        await self._change(
            lambda circuit: circuit.after_failure(
                now, self.policy, error=error, retry_after=retry_after
            )
        )

    async def _change(self, move: Callable[[Circuit], Circuit]) -> None:
        # Decided on the cached copy first: the common case (up, and a success) writes nothing.
        cached = await self.current()
        if not cached.worth_writing(move(cached)):
            return
        async with self._lock:
            known = self._known()
            if not known.worth_writing(move(known)):
                return  # another task of this process just wrote it
            await self._write(move)

    async def _write(self, move: Callable[[Circuit], Circuit]) -> None:
        """Apply ``move`` to the stored row, locked, so that every process's outcomes count."""
        now = self.clock()
        missing = insert_or_ignore(
            ProviderHealthRow, self._engine, index_elements=["provider"]
        ).values(provider=self.provider, state=CircuitState.CLOSED, failures=0, updated_at=now)
        stmt = for_update(
            select(ProviderHealthRow)
            .where(ProviderHealthRow.provider == self.provider)
            .execution_options(populate_existing=True),
            self._engine,
        )
        async with self._writing() as session:
            row = (await session.scalars(stmt)).one_or_none()
            if row is None:  # the first write ever (another process may be making it too)
                await session.execute(missing)
                row = (await session.scalars(stmt)).one()
            before = row.circuit()
            after = move(before)
            if after != before:
                for name in (
                    "state",
                    "failures",
                    "streak_started_at",
                    "opened_at",
                    "retry_at",
                    "last_error",
                ):
                    setattr(row, name, getattr(after, name))
                row.updated_at = now
        self._cache.put(self.provider, after)
        self._log_transition(before, after, now)

    def _log_transition(self, before: Circuit, after: Circuit, now: datetime) -> None:
        if after.key_refused:
            return  # said once, plainly, by whoever met the refusal
        if before.state is CircuitState.CLOSED and after.state is CircuitState.OPEN:
            log.warning(
                "provider %s is down: %d calls failed in a row (last: %s); new work is refused "
                "for %.0f s",
                self.provider,
                after.failures,
                after.last_error,
                after.seconds_to_probe(now),
            )
        elif before.state is CircuitState.OPEN and after.state is CircuitState.CLOSED:
            log.warning("provider %s answers again: new work is accepted", self.provider)
