"""Whether the provider is up, judged from real calls: a circuit kept in the database.

Every call to the provider goes through :class:`MonitoredProvider` (the worker's submits, polls,
downloads and cancels, the tier-limit reads, uploads), which records its outcome:

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
the row at most once a second and keeps it (:data:`CACHE_SECONDS`), so asking costs a clock read.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Literal, TypeVar

from sqlalchemy import Enum, Integer, String, Text, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm import Mapped, mapped_column

from vidgate.clock import utcnow
from vidgate.db.base import Base
from vidgate.db.dialect import for_update, insert_or_ignore
from vidgate.db.engine import Transactions
from vidgate.errors import (
    NotFound,
    ProviderCredentialsRefused,
    ProviderRefused,
    ProviderUnavailable,
    SubmissionUncertain,
)
from vidgate.jobs.models import NO_OWNER, Job
from vidgate.provider.base import (
    CreatedTask,
    Organization,
    OutputBody,
    Provider,
    TaskSnapshot,
    UsedCredits,
)
from vidgate.requests.generation import GenerationRequest
from vidgate.settings import Settings

__all__ = [
    "CACHE_SECONDS",
    "Circuit",
    "CircuitPolicy",
    "CircuitState",
    "MonitoredProvider",
    "ProviderHealth",
    "ProviderHealthRow",
    "ProviderStatus",
    "outcome_of",
]

log = logging.getLogger("vidgate.provider.health")

T = TypeVar("T")

#: How long a process keeps the row it read before reading it again.
CACHE_SECONDS = 1.0
# While open, a failure is written only if it moves the probe time on by this much.
_WRITE_EVERY = timedelta(seconds=1.0)
_ERROR_CHARS = 500

Outcome = Literal["success", "failure", "key_refused"]
# Starts the stored ``last_error`` of a circuit opened by a refused API key (no column of its own).
KEY_REFUSED = "provider_credentials"


class CircuitState(StrEnum):
    """Where the circuit stands; only ``closed`` and ``open`` are stored."""

    CLOSED = "closed"  # calls succeed, or too few failed to tell: work goes through
    OPEN = "open"  # known down: work that needs the provider is refused until the probe time
    PROBING = "probing"  # open, past its probe time: work goes through, the next call decides


@dataclass(frozen=True)
class CircuitPolicy:
    """When the circuit opens, and how long it refuses after a failure."""

    failures_to_open: int = 3
    window_seconds: float = 60.0
    probe_seconds: float = 15.0

    @classmethod
    def from_settings(cls, settings: Settings) -> CircuitPolicy:
        return cls(
            failures_to_open=settings.provider_down_after_failures,
            window_seconds=settings.provider_down_window_seconds,
            probe_seconds=settings.provider_probe_seconds,
        )


@dataclass(frozen=True)
class Circuit:
    """One provider's circuit at one moment: the row's values, and the rules that move them."""

    state: CircuitState = CircuitState.CLOSED
    #: Calls failed in a row (a success resets it).
    failures: int = 0
    #: When the current run of failures began; older than the window, a failure starts a new one.
    streak_started_at: datetime | None = None
    opened_at: datetime | None = None
    #: While open: when the next probe is due; requests are refused until then.
    retry_at: datetime | None = None
    last_error: str | None = None

    def after_failure(
        self, now: datetime, policy: CircuitPolicy, *, error: str, retry_after: float | None = None
    ) -> Circuit:
        """The circuit once a call failed at ``now`` (``retry_after``: the provider's own)."""
        probe_at = now + timedelta(seconds=max(policy.probe_seconds, retry_after or 0.0))
        error = error[:_ERROR_CHARS]
        if self.state is CircuitState.OPEN:
            return replace(
                self,
                failures=self.failures + 1,
                retry_at=max(self.retry_at or probe_at, probe_at),
                last_error=error,
            )
        started = self.streak_started_at
        if started is None or (now - started).total_seconds() > policy.window_seconds:
            started, failures = now, 1
        else:
            failures = self.failures + 1
        if failures < policy.failures_to_open:
            return Circuit(failures=failures, streak_started_at=started, last_error=error)
        return Circuit(
            state=CircuitState.OPEN,
            failures=failures,
            streak_started_at=started,
            opened_at=now,
            retry_at=probe_at,
            last_error=error,
        )

    def after_key_refused(self, now: datetime, policy: CircuitPolicy, *, error: str) -> Circuit:
        """The circuit once the provider refused our API key: open, whatever came before."""
        probe_at = now + timedelta(seconds=policy.probe_seconds)
        return Circuit(
            state=CircuitState.OPEN,
            failures=self.failures + 1,
            streak_started_at=self.streak_started_at or now,
            opened_at=self.opened_at if self.state is CircuitState.OPEN else now,
            retry_at=max(self.retry_at or probe_at, probe_at),
            last_error=error[:_ERROR_CHARS],
        )

    @property
    def key_refused(self) -> bool:
        """True when the last failure was the provider refusing our API key."""
        return (self.last_error or "").startswith(KEY_REFUSED)

    def after_success(self) -> Circuit:
        """Any answer closes the circuit and forgets the failures."""
        return Circuit()

    def state_at(self, now: datetime) -> CircuitState:
        if self.state is CircuitState.OPEN and self.retry_at is not None and now >= self.retry_at:
            return CircuitState.PROBING
        return self.state

    def refuses(self, now: datetime) -> bool:
        """True while work that needs the provider is refused."""
        return self.state_at(now) is CircuitState.OPEN

    def seconds_to_probe(self, now: datetime) -> float:
        """Seconds until the next probe is due (0 when none is waited for)."""
        if self.retry_at is None or self.state is not CircuitState.OPEN:
            return 0.0
        return max((self.retry_at - now).total_seconds(), 0.0)

    def worth_writing(self, after: Circuit) -> bool:
        """Whether moving from this circuit (as last read) to ``after`` must be stored."""
        if after == self:
            return False
        if after.state is not self.state or self.state is CircuitState.CLOSED:
            return True  # a transition, or a failure counted towards one
        # Open and still failing: only a probe time moved on by a second is worth a write.
        if after.retry_at is None or self.retry_at is None:
            return after.retry_at != self.retry_at
        return after.retry_at - self.retry_at >= _WRITE_EVERY


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


def outcome_of(exc: BaseException | None) -> Outcome | None:
    """What a call that ended with ``exc`` (None: it returned) says about the provider."""
    if exc is None or isinstance(exc, ProviderRefused | NotFound):
        return "success"  # it answered, if only to say no
    if isinstance(exc, ProviderUnavailable | SubmissionUncertain):
        return "failure"
    if isinstance(exc, ProviderCredentialsRefused):
        return "key_refused"
    return None  # a 429, an expired output URL: nothing about being up


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
        self._circuit = Circuit()
        self._read_at: datetime | None = None
        # One read or write at a time in this process; the others use what it finds.
        self._lock = asyncio.Lock()

    # --- reading -----------------------------------------------------------------------------

    async def current(self) -> Circuit:
        """The circuit, read again if this process's copy is older than :data:`CACHE_SECONDS`."""
        if self._fresh():
            return self._circuit
        if self._lock.locked() and self._read_at is not None:
            return self._circuit  # another task is reading (or writing) it: no queue behind it
        async with self._lock:
            if not self._fresh():
                await self._read()
        return self._circuit

    def _fresh(self) -> bool:
        if self._read_at is None:
            return False
        age = (self.clock() - self._read_at).total_seconds()
        return 0 <= age < CACHE_SECONDS

    async def _read(self) -> None:
        read_at = self.clock()
        try:
            async with self._reading() as session:
                row = await session.get(ProviderHealthRow, self.provider)
        except (SQLAlchemyError, OSError) as exc:
            # Keep the last known circuit for another second rather than fail the asker.
            log.warning("could not read the provider circuit: %s", exc)
        else:
            self._circuit = row.circuit() if row is not None else Circuit()
        self._read_at = read_at

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
            if not self._circuit.worth_writing(move(self._circuit)):
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
        self._circuit, self._read_at = after, now
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


class MonitoredProvider:
    """A :class:`~vidgate.provider.base.Provider` that records every call's outcome on a
    :class:`ProviderHealth`, and otherwise is the provider it wraps."""

    def __init__(self, provider: Provider, health: ProviderHealth) -> None:
        self.provider = provider
        self.health = health
        self.name = provider.name

    async def _watch(self, call: Awaitable[T]) -> T:
        try:
            result = await call
        except Exception as exc:
            await self._record(exc)
            raise
        await self._record(None)
        return result

    async def _record(self, exc: BaseException | None) -> None:
        try:
            await self.health.record(exc)
        except (SQLAlchemyError, OSError) as error:
            # The record must never fail the call it describes.
            log.warning("could not record a provider outcome: %s", error)

    async def create_task(self, request: GenerationRequest) -> CreatedTask:
        return await self._watch(self.provider.create_task(request))

    async def get_task(self, task_id: str) -> TaskSnapshot:
        return await self._watch(self.provider.get_task(task_id))

    async def cancel_task(self, task_id: str) -> None:
        await self._watch(self.provider.cancel_task(task_id))

    async def upload(self, path: Path, *, filename: str | None = None) -> str:
        return await self._watch(self.provider.upload(path, filename=filename))

    async def organization(self) -> Organization:
        return await self._watch(self.provider.organization())

    async def usage(self, start: date, before: date) -> list[UsedCredits]:
        return await self._watch(self.provider.usage(start, before))

    @contextlib.asynccontextmanager
    async def open_output(self, url: str) -> AsyncIterator[OutputBody]:
        """The provider's body; its outcome is recorded once it has been read (or failed)."""
        try:
            async with self.provider.open_output(url) as body:
                yield body
        except Exception as exc:
            await self._record(exc)
            raise
        await self._record(None)

    async def aclose(self) -> None:
        await self.provider.aclose()
