"""The provider circuit in the database (SQLite and PostgreSQL), shared by processes, and moved by
real calls to the emulator through MonitoredProvider."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import stamina
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from vidgate.db.engine import create_engine
from vidgate.emulator.server import EmulatorServer
from vidgate.errors import NotFound, ProviderUnavailable, RateLimited
from vidgate.jobs.store import JobStore
from vidgate.provider.circuit import CircuitPolicy, CircuitState
from vidgate.provider.health import ProviderHealth
from vidgate.provider.monitored import MonitoredProvider
from vidgate.provider.runway import RunwayProvider
from vidgate.runtime import EMULATOR_API_KEY

POLICY = CircuitPolicy(failures_to_open=3, window_seconds=60.0, probe_seconds=15.0)
T0 = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
DOWN = ProviderUnavailable("provider error 503: overloaded")


class Clock:
    """A wall clock the test moves by hand, shared by the "processes" of a test."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def second_engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    """Another engine on the same database: a second process, as far as the circuit goes."""
    engine = create_engine(database_url)
    yield engine
    await engine.dispose()


def health_on(engine: AsyncEngine, clock: Clock) -> ProviderHealth:
    return ProviderHealth(engine, policy=POLICY, clock=clock)


class StatementCounter:
    """Counts the statements on the provider_health table, by their first word."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.counts: dict[str, int] = {"SELECT": 0, "INSERT": 0, "UPDATE": 0}
        event.listen(engine.sync_engine, "before_cursor_execute", self._seen)

    def _seen(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if "provider_health" in statement:
            verb = statement.split(None, 1)[0].upper()
            self.counts[verb] = self.counts.get(verb, 0) + 1

    @property
    def writes(self) -> int:
        return self.counts["UPDATE"]


async def test_the_circuit_is_shared_between_processes(
    engine: AsyncEngine, second_engine: AsyncEngine, clock: Clock
) -> None:
    api, worker = health_on(engine, clock), health_on(second_engine, clock)
    assert (await api.status()).state is CircuitState.CLOSED

    # Failures recorded by two processes count towards one run.
    await worker.record_failure(DOWN)
    clock.advance(1)
    await api.record_failure(DOWN)
    clock.advance(1)
    await worker.record_failure(DOWN)
    assert (await worker.status()).down

    clock.advance(1)  # the API process's copy is a second old: it reads the row again
    status = await api.status()
    assert status.down and status.failures == 3
    assert status.retry_after == pytest.approx(14.0)  # 15 s after the last failure
    with pytest.raises(ProviderUnavailable) as refused:
        await api.refuse_while_down("uploads")
    assert refused.value.retry_after == pytest.approx(14.0)
    assert "uploads are refused" in str(refused.value)

    # One success anywhere closes it; the other process sees it within a second.
    await worker.record_success()
    assert (await worker.status()).state is CircuitState.CLOSED
    assert (await api.status()).down  # its copy is still fresh
    clock.advance(1)
    assert (await api.status()).state is CircuitState.CLOSED
    await api.refuse_while_down("uploads")


async def test_concurrent_failures_from_two_processes_open_it_once(
    engine: AsyncEngine, second_engine: AsyncEngine, clock: Clock
) -> None:
    one, two = health_on(engine, clock), health_on(second_engine, clock)
    await asyncio.gather(*(h.record_failure(DOWN) for h in (one, two) * 4))
    clock.advance(1)
    for health in (one, two):
        status = await health.status()
        assert status.down and status.failures >= 3


async def test_concurrent_asks_share_one_read(engine: AsyncEngine, clock: Clock) -> None:
    counter = StatementCounter(engine)
    health = health_on(engine, clock)
    await asyncio.gather(*(health.status() for _ in range(20)))
    assert counter.counts["SELECT"] == 1
    clock.advance(1)  # stale: the next asks read it again, once
    await asyncio.gather(*(health.status() for _ in range(20)))
    assert counter.counts["SELECT"] == 2


async def test_an_unreadable_row_keeps_the_last_circuit(
    engine: AsyncEngine, second_engine: AsyncEngine, clock: Clock
) -> None:
    worker, api = health_on(engine, clock), health_on(second_engine, clock)
    for _ in range(3):
        await worker.record_failure(DOWN)
    assert (await api.status()).down

    async with engine.begin() as conn:  # the table goes away: every read of it fails
        await conn.exec_driver_sql("ALTER TABLE provider_health RENAME TO provider_health_away")
    try:
        clock.advance(1)
        assert (await api.status()).down  # the last circuit read, not an error
        with pytest.raises(ProviderUnavailable):
            await api.refuse_while_down("uploads")
    finally:
        async with engine.begin() as conn:
            await conn.exec_driver_sql("ALTER TABLE provider_health_away RENAME TO provider_health")


async def test_writes_only_when_the_picture_changes(engine: AsyncEngine, clock: Clock) -> None:
    counter = StatementCounter(engine)
    health = health_on(engine, clock)

    for _ in range(100):  # up, and succeeding: one read, no write
        await health.record_success()
    assert counter.counts == {"SELECT": 1, "INSERT": 0, "UPDATE": 0}

    for _ in range(3):  # each failure counts towards opening
        await health.record_failure(DOWN)
    assert counter.writes == 3 and (await health.status()).down

    for _ in range(20):  # still failing within the same second: nothing new to store
        await health.record_failure(DOWN)
    assert counter.writes == 3
    clock.advance(1.0)  # a second on, the probe time moves: one write
    for _ in range(20):
        await health.record_failure(DOWN)
    assert counter.writes == 4

    for _ in range(20):  # the first success closes it; the rest find nothing to clear
        await health.record_success()
    assert counter.writes == 5
    assert counter.counts["INSERT"] == 1  # the row, made by the first write
    assert (await health.status()).state is CircuitState.CLOSED


async def test_a_replay_is_let_through_while_down(
    engine: AsyncEngine, job_store: JobStore, clock: Clock
) -> None:
    body = {"model": "gen4.5", "promptText": "a lighthouse", "ratio": "1280:720", "duration": 2}
    await job_store.create_job(
        endpoint="text_to_video", model="gen4.5", request=body, idempotency_key="first"
    )
    await job_store.create_job(
        endpoint="text_to_video", model="gen4.5", request=body, owner="ak_1", idempotency_key="k"
    )
    health = health_on(engine, clock)
    await health.refuse_new_job(None, None)  # up: anything goes
    for _ in range(3):
        await health.record_failure(DOWN)

    await health.refuse_new_job(None, "first")  # a replay: the store answers it
    await health.refuse_new_job("ak_1", "k")
    for owner, key in ((None, None), (None, "second"), ("ak_2", "k"), ("ak_1", "first")):
        with pytest.raises(ProviderUnavailable) as refused:
            await health.refuse_new_job(owner, key)
        assert refused.value.retry_after == pytest.approx(15.0)
        assert "new generations are refused" in str(refused.value)

    clock.advance(15.0)  # the probe is due: new work goes through and decides
    assert (await health.status()).state is CircuitState.PROBING
    await health.refuse_new_job(None, "second")


@pytest.fixture
def one_attempt_per_call() -> Iterator[None]:
    """The provider's own retries (stamina) collapse to one attempt without backoff, so a faulted
    call fails at once; the circuit sees calls, never the retries inside them."""
    with stamina.set_testing(True, attempts=1):
        yield


@pytest.mark.usefixtures("one_attempt_per_call")
async def test_real_calls_move_the_circuit(engine: AsyncEngine, emulator: EmulatorServer) -> None:
    health = ProviderHealth(engine, policy=POLICY)
    runway = RunwayProvider(api_key=EMULATOR_API_KEY, base_url=emulator.base_url)
    provider = MonitoredProvider(runway, health)
    try:
        await provider.organization()
        assert (await health.status()).failures == 0

        emulator.control(http429Rate=1.0)  # throttled is not down
        for _ in range(5):
            with pytest.raises(RateLimited):
                await provider.organization()
        assert (await health.status()).failures == 0

        emulator.control(http429Rate=0.0, http5xxRate=1.0)
        for _ in range(3):
            with pytest.raises(ProviderUnavailable):
                await provider.organization()
        status = await health.status()
        assert status.down and status.failures == 3

        emulator.control(http5xxRate=0.0)
        with pytest.raises(NotFound):  # an answer, if a no: the provider is up
            await provider.get_task("00000000-0000-0000-0000-000000000000")
        assert (await health.status()).state is CircuitState.CLOSED
    finally:
        await provider.aclose()
