"""The operator console's reads on real SQLite and PostgreSQL (JSON text vs JSONB, text days vs
``to_char``), with real jobs run by the pipeline against the emulator: the job filters (a prompt
with non-ASCII text, a failure code, a key), failures by code and day, bytes stored, slots in use,
spend per key per day, and key roles kept and authenticated."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from pipeline_harness import GEN45, Harness
from sqlalchemy.ext.asyncio import AsyncEngine

from vidgate.clock import utcnow
from vidgate.intake.console import WITHOUT_KEY, OperatorConsole
from vidgate.jobs.status import Status
from vidgate.provider.health import ProviderHealth
from vidgate.tenancy.keys import KeyStore
from vidgate.tenancy.tables import KeyRole


def console_on(engine: AsyncEngine, harness: Harness) -> OperatorConsole:
    return OperatorConsole(
        engine=engine,
        store=harness.store,
        keys=KeyStore(engine),
        provider_health=ProviderHealth(engine),
        limits=harness.pipeline.limits,
    )


async def test_filters_failures_storage_and_spend_on_real_jobs(
    engine: AsyncEngine, harness: Harness
) -> None:
    console = console_on(engine, harness)
    key = (await console.create_key("team", KeyRole.USER)).key
    café = await harness.submit(
        {**GEN45, "duration": 2, "promptText": "Un CAFÉ au bord de l'eau"},
        owner=key.id,
        estimated_credits=24,
    )
    plain = await harness.submit(estimated_credits=24)
    await harness.run_until_done(café.id, plain.id)
    harness.emulator.control(failRate=1, failureCode="SAFETY.INPUT.TEXT")
    bad = await harness.submit({**GEN45, "duration": 3, "promptText": "a storm"}, owner=key.id)
    (failed,) = await harness.run_until_done(bad.id)
    assert failed.status is Status.FAILED and failed.failure_code == "SAFETY.INPUT.TEXT"

    async def ids(**filters: object) -> list[str]:
        return [j.id for j in (await console.list_jobs(**filters)).jobs]  # type: ignore[arg-type]

    assert await ids() == [bad.id, plain.id, café.id]
    assert await ids(text="café") == [café.id]  # the stored JSON, read as text, in any case
    assert await ids(text="au bord") == [café.id]
    assert await ids(text="STORM") == [bad.id]
    assert await ids(text=plain.id) == [plain.id]
    assert await ids(text="%") == []
    assert await ids(failure_code="SAFETY.INPUT.TEXT") == [bad.id]
    assert await ids(key_id=key.id, status=Status.SUCCEEDED) == [café.id]
    assert await ids(key_id=WITHOUT_KEY) == [plain.id]

    failures = await console.failures_by_code(7)
    assert [(f.day, f.code, f.jobs) for f in failures.rows] == [
        (utcnow().date(), "SAFETY.INPUT.TEXT", 1)
    ]
    assert failures.last - failures.first == timedelta(days=6)

    stored = await harness.store.stored_outputs()
    done = [await harness.store.get_job(i) for i in (café.id, plain.id)]
    assert stored.outputs == 2 and stored.bytes == sum(j.output_bytes or 0 for j in done)
    assert all(j.output_bytes for j in done)

    spend = await console.spend_by_key(1)
    by_key = {row.key_id: row.spend for row in spend.rows}
    assert set(by_key) == {None, key.id}
    assert by_key[key.id].jobs == 2 and by_key[key.id].spent == done[0].cost_credits
    (listed,) = await console.list_keys()
    assert listed.today == listed.month == by_key[key.id]


async def test_slots_in_use_count_the_tasks_alive_upstream(
    engine: AsyncEngine, harness: Harness
) -> None:
    harness.emulator.control(taskSeconds=60)
    assert await harness.store.slots_in_use() == {}
    job = await harness.submit()
    async with harness.running():
        async with asyncio.timeout(30):
            while (await harness.store.get_job(job.id)).status is not Status.RUNNING:
                await asyncio.sleep(0.02)
        assert await harness.store.slots_in_use() == {"gen4.5": 1}
        assert (await harness.cancel(job.id)).status is Status.CANCELLED
    assert await harness.store.slots_in_use() == {}


async def test_key_roles_are_kept_and_authenticated(engine: AsyncEngine) -> None:
    keys = KeyStore(engine)
    admin = await keys.create_key("ops", role=KeyRole.ADMIN)
    user = await keys.create_key("team")
    assert (await keys.authenticate(admin.token)).role is KeyRole.ADMIN  # type: ignore[union-attr]
    assert (await keys.authenticate(user.token)).role is KeyRole.USER  # type: ignore[union-attr]
    await keys.set_role(user.key.id, KeyRole.ADMIN)
    assert (await keys.authenticate(user.token)).role is KeyRole.ADMIN  # type: ignore[union-attr]
    assert [k.role for k in await KeyStore(engine).list_keys()] == [KeyRole.ADMIN, KeyRole.ADMIN]
