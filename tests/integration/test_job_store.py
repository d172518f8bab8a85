"""The job store on real SQLite and PostgreSQL: idempotency, claims, compare-and-set, events."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import AsyncEngine

from vidgate.db.base import new_job_id
from vidgate.db.engine import create_engine, normalize_url
from vidgate.errors import ConfigurationError, Conflict, NotFound, ValidationFailed
from vidgate.jobs.models import NO_OWNER
from vidgate.jobs.status import TERMINAL_STATUSES, Status
from vidgate.jobs.store import JobStore, StaleJob, hash_request
from vidgate.migrations import (
    current_revision,
    head_revision,
    include_name,
    target_metadata,
    upgrade_database,
)

T0 = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
BODY: dict[str, Any] = {"model": "gen4_turbo", "promptText": "a cat", "ratio": "1280:720"}


async def make_job(store: JobStore, **kwargs: Any) -> Any:
    kwargs.setdefault("endpoint", "image_to_video")
    kwargs.setdefault("model", "gen4_turbo")
    kwargs.setdefault("request", BODY)
    kwargs.setdefault("now", T0)
    created = await store.create_job(**kwargs)
    return created.job


@pytest.fixture
async def second_engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    """Another engine on the same database: a second process, as far as locking goes."""
    engine = create_engine(database_url)
    yield engine
    await engine.dispose()


# -- ids, hashes, URLs ---------------------------------------------------------------------------


def test_job_ids_are_sortable_and_unique() -> None:
    ids = [new_job_id() for _ in range(2000)]
    assert len(set(ids)) == len(ids)
    assert ids == sorted(ids)
    assert all(len(i) == 26 and i.isalnum() and i.isupper() for i in ids)


def test_request_hash_is_canonical() -> None:
    assert hash_request("e", {"a": 1, "b": [1, 2]}) == hash_request("e", {"b": [1, 2], "a": 1})
    assert hash_request("e", {"a": 1}) != hash_request("e", {"a": 2})
    assert hash_request("e", {"a": 1}) != hash_request("f", {"a": 1})


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql://u@h:5432/db", "postgresql+asyncpg://u@h:5432/db"),
        ("postgres://u@h/db", "postgresql+asyncpg://u@h/db"),
        ("postgresql+psycopg://u@h/db", "postgresql+asyncpg://u@h/db"),
        ("postgresql://u@h/db?sslmode=require", "postgresql+asyncpg://u@h/db?ssl=require"),
        ("sqlite:///var/vidgate.db", "sqlite+aiosqlite:///var/vidgate.db"),
        ("sqlite+aiosqlite:///x.db", "sqlite+aiosqlite:///x.db"),
    ],
)
def test_database_urls_are_normalised(url: str, expected: str) -> None:
    assert normalize_url(url).render_as_string() == expected


@pytest.mark.parametrize("url", ["mysql://u@h/db", "not a url"])
def test_unsupported_database_urls_are_configuration_errors(url: str) -> None:
    with pytest.raises(ConfigurationError):
        normalize_url(url)


def test_status_helpers() -> None:
    assert {s for s in Status if s.is_terminal} == TERMINAL_STATUSES
    assert not Status.SUBMITTING.is_terminal
    assert Status("running") is Status.RUNNING


# -- migrations ----------------------------------------------------------------------------------


async def test_upgrade_is_idempotent_and_reaches_head(empty_database_url: str) -> None:
    assert await current_revision(empty_database_url) is None
    await upgrade_database(empty_database_url)
    await upgrade_database(empty_database_url)
    assert await current_revision(empty_database_url) == head_revision()


async def test_a_database_from_the_future_is_a_configuration_error(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
        with pytest.raises(ConfigurationError, match="9999"):
            await upgrade_database(engine)
    finally:
        await engine.dispose()


async def test_migrations_match_the_models(engine: AsyncEngine) -> None:
    def diff(conn: Connection) -> list[Any]:
        opts = {"compare_type": True, "include_name": include_name}
        context = MigrationContext.configure(conn, opts=opts)
        return list(compare_metadata(context, target_metadata()))

    async with engine.connect() as conn:
        assert await conn.run_sync(diff) == []


async def test_sqlite_connections_are_tuned(sqlite_url: str) -> None:
    engine = create_engine(sqlite_url)
    try:
        async with engine.connect() as conn:
            pragmas = {
                name: (await conn.exec_driver_sql(f"PRAGMA {name}")).scalar()
                for name in ("journal_mode", "foreign_keys", "synchronous", "busy_timeout")
            }
    finally:
        await engine.dispose()
    assert pragmas == {
        "journal_mode": "wal",
        "foreign_keys": 1,
        "synchronous": 1,
        "busy_timeout": 30_000,
    }


# -- create / get / list -------------------------------------------------------------------------


async def test_create_and_get(job_store: JobStore) -> None:
    job = await make_job(job_store, owner="key1", estimated_credits=25, webhook_url="https://x")
    assert job.status is Status.QUEUED
    assert (job.version, job.attempt, job.progress, job.poll_count) == (1, 1, 0.0, 0)
    assert job.next_run_at == job.created_at == T0
    assert job.request_hash == hash_request("image_to_video", BODY)

    again = await job_store.get_job(job.id, owner="key1")
    assert again.request == BODY
    assert again.created_at == T0 and again.created_at.tzinfo is not None
    assert again.estimated_credits == 25
    assert (await job_store.get_job(job.id)).id == job.id  # no owner: internal read

    with pytest.raises(NotFound):
        await job_store.get_job(job.id, owner="key2")
    with pytest.raises(NotFound):
        await job_store.get_job(new_job_id())


async def test_times_come_back_as_utc(job_store: JobStore) -> None:
    paris = timezone(timedelta(hours=1))
    job = await make_job(job_store, now=datetime(2030, 1, 1, 13, 0, tzinfo=paris))
    stored = await job_store.get_job(job.id)
    assert stored.created_at == T0
    assert stored.created_at.utcoffset() == timedelta(0)


async def test_idempotent_create(job_store: JobStore) -> None:
    first = await job_store.create_job(
        endpoint="image_to_video", model="gen4_turbo", request=BODY, owner="k", idempotency_key="a"
    )
    again = await job_store.create_job(
        endpoint="image_to_video",
        model="gen4_turbo",
        request=dict(reversed(BODY.items())),
        owner="k",
        idempotency_key="a",
    )
    assert not first.existing and again.existing
    assert again.job.id == first.job.id

    with pytest.raises(Conflict):
        await job_store.create_job(
            endpoint="image_to_video",
            model="gen4_turbo",
            request={**BODY, "promptText": "a dog"},
            owner="k",
            idempotency_key="a",
        )
    # The same key under another owner is another job.
    other = await job_store.create_job(
        endpoint="image_to_video", model="gen4_turbo", request=BODY, owner="k2", idempotency_key="a"
    )
    assert not other.existing and other.job.id != first.job.id


async def test_idempotency_holds_without_an_owner(job_store: JobStore) -> None:
    a = await make_job(job_store, idempotency_key="same")
    b = await job_store.create_job(
        endpoint="image_to_video", model="gen4_turbo", request=BODY, idempotency_key="same"
    )
    assert b.existing and b.job.id == a.id and a.owner == NO_OWNER


async def test_concurrent_idempotent_creates_make_one_job(
    job_store: JobStore, second_engine: AsyncEngine
) -> None:
    stores = [job_store, JobStore(second_engine)]
    results = await asyncio.gather(
        *(
            stores[i % 2].create_job(
                endpoint="image_to_video",
                model="gen4_turbo",
                request=BODY,
                owner="k",
                idempotency_key="race",
            )
            for i in range(8)
        )
    )
    assert len({r.job.id for r in results}) == 1
    assert sum(not r.existing for r in results) == 1


async def test_list_jobs_pages_newest_first(job_store: JobStore) -> None:
    made = [await make_job(job_store, owner="k") for _ in range(7)]
    await make_job(job_store, owner="other")
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        page = await job_store.list_jobs("k", limit=3, cursor=cursor)
        seen += [job.id for job in page.jobs]
        pages += 1
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert seen == [job.id for job in reversed(made)]
    assert pages == 3
    assert len((await job_store.list_jobs(None, limit=100)).jobs) == 8


async def test_list_jobs_filters(job_store: JobStore) -> None:
    a = await make_job(job_store, owner="k", model="gen4_turbo")
    b = await make_job(job_store, owner="k", model="veo3")
    await job_store.update_job(b, expected_version=b.version, status=Status.RUNNING)
    assert [j.id for j in (await job_store.list_jobs("k", model="veo3")).jobs] == [b.id]
    assert [j.id for j in (await job_store.list_jobs("k", status=Status.QUEUED)).jobs] == [a.id]
    both = await job_store.list_jobs("k", status=[Status.QUEUED, Status.RUNNING])
    assert {j.id for j in both.jobs} == {a.id, b.id}
    with pytest.raises(ValidationFailed) as caught:
        await job_store.list_jobs("k", cursor="../etc")
    assert caught.value.problems[0].path == "cursor"


async def test_count_by_status(job_store: JobStore) -> None:
    a = await make_job(job_store, owner="k")
    await make_job(job_store, owner="k")
    await make_job(job_store, owner="x")
    await job_store.update_job(a, expected_version=1, status=Status.FAILED)
    counts = await job_store.count_by_status()
    assert counts[Status.QUEUED] == 2 and counts[Status.FAILED] == 1
    assert counts[Status.RUNNING] == 0 and set(counts) == set(Status)
    assert (await job_store.count_by_status(owner="k"))[Status.QUEUED] == 1


# -- claims --------------------------------------------------------------------------------------


async def test_claim_leases_due_jobs_once(job_store: JobStore) -> None:
    due = await make_job(job_store)
    await make_job(job_store, run_at=T0 + timedelta(minutes=5))  # not due yet
    done = await make_job(job_store)
    await job_store.update_job(done, expected_version=1, status=Status.SUCCEEDED)

    claimed = await job_store.claim_due_jobs("w1", now=T0, lease_seconds=30)
    assert [job.id for job in claimed] == [due.id]
    job = claimed[0]
    assert job.lease_owner == "w1"
    assert job.lease_expires_at == T0 + timedelta(seconds=30)
    assert job.version == 2
    assert await job_store.claim_due_jobs("w2", now=T0 + timedelta(seconds=10)) == []


async def test_expired_lease_is_claimable_and_fences_the_old_owner(job_store: JobStore) -> None:
    await make_job(job_store)
    [mine] = await job_store.claim_due_jobs("w1", now=T0, lease_seconds=30)
    [theirs] = await job_store.claim_due_jobs("w2", now=T0 + timedelta(seconds=31))
    assert theirs.id == mine.id and theirs.lease_owner == "w2"
    with pytest.raises(StaleJob) as caught:
        await job_store.update_job(mine, expected_version=mine.version, status=Status.SUBMITTING)
    assert (caught.value.expected_version, caught.value.actual_version) == (2, 3)


async def test_claim_orders_by_due_time_and_respects_limit(job_store: JobStore) -> None:
    late = await make_job(job_store, run_at=T0 - timedelta(seconds=1))
    early = await make_job(job_store, run_at=T0 - timedelta(seconds=60))
    middle = await make_job(job_store, run_at=T0 - timedelta(seconds=30))
    claimed = await job_store.claim_due_jobs("w", now=T0, limit=2)
    assert [j.id for j in claimed] == [early.id, middle.id]
    assert [j.id for j in await job_store.claim_due_jobs("w", now=T0)] == [late.id]


async def test_concurrent_claimers_never_share_a_job(
    job_store: JobStore, second_engine: AsyncEngine
) -> None:
    jobs = [await make_job(job_store) for _ in range(30)]
    stores = {"a": job_store, "b": JobStore(second_engine)}
    got: dict[str, list[str]] = {"a": [], "b": []}

    async def claimer(name: str) -> None:
        while True:
            batch = await stores[name].claim_due_jobs(name, now=T0, limit=3, lease_seconds=600)
            if not batch:
                return
            got[name] += [job.id for job in batch]
            await asyncio.sleep(0)

    await asyncio.gather(claimer("a"), claimer("b"), claimer("a"), claimer("b"))
    assert not set(got["a"]) & set(got["b"])
    assert sorted(got["a"] + got["b"]) == sorted(job.id for job in jobs)


@pytest.mark.postgres
async def test_postgres_claim_skips_locked_rows(postgres_url: str) -> None:
    engine = create_engine(postgres_url)
    try:
        store = JobStore(engine)
        locked = await make_job(store)
        free = await make_job(store)
        async with engine.connect() as conn, conn.begin():
            # Another transaction (a cancel, an update) holds the first row.
            await conn.execute(
                text("SELECT id FROM jobs WHERE id = :id FOR UPDATE"), {"id": locked.id}
            )
            claimed = await asyncio.wait_for(store.claim_due_jobs("w", now=T0), timeout=10)
        assert [job.id for job in claimed] == [free.id]
    finally:
        await engine.dispose()


async def test_release_ends_the_lease_and_reschedules(job_store: JobStore) -> None:
    await make_job(job_store)
    [job] = await job_store.claim_due_jobs("w", now=T0)
    later = T0 + timedelta(seconds=5)
    released = await job_store.release(job, later, now=T0, status=Status.RUNNING, poll_count=1)
    assert released.lease_owner is None and released.lease_expires_at is None
    assert released.next_run_at == later and released.poll_count == 1
    assert released.version == job.version + 1
    assert await job_store.claim_due_jobs("w", now=T0 + timedelta(seconds=4)) == []
    assert len(await job_store.claim_due_jobs("w", now=later)) == 1
    with pytest.raises(StaleJob):
        await job_store.release(job, later)


# -- compare-and-set and events ------------------------------------------------------------------


async def test_update_is_compare_and_set(job_store: JobStore) -> None:
    job = await make_job(job_store)
    running = await job_store.update_job(
        job, expected_version=1, status=Status.RUNNING, task_id="t-1", now=T0
    )
    assert (running.status, running.task_id, running.version) == (Status.RUNNING, "t-1", 2)
    assert running.updated_at == T0
    with pytest.raises(StaleJob):
        await job_store.update_job(job, expected_version=1, progress=0.5)
    by_id = await job_store.update_job(job.id, expected_version=2, progress=0.5)
    assert by_id.progress == 0.5 and by_id.version == 3
    with pytest.raises(NotFound):
        await job_store.update_job(new_job_id(), expected_version=1, progress=0.1)


async def test_update_rejects_bad_changes(job_store: JobStore) -> None:
    job = await make_job(job_store)
    with pytest.raises(TypeError, match="version"):
        await job_store.update_job(job, expected_version=1, version=9)  # type: ignore[call-arg]
    with pytest.raises(ValueError, match="progress"):
        await job_store.update_job(job, expected_version=1, progress=1.5)
    assert (await job_store.get_job(job.id)).version == 1


async def test_concurrent_updates_one_wins(job_store: JobStore, second_engine: AsyncEngine) -> None:
    job = await make_job(job_store)
    other = JobStore(second_engine)
    results = await asyncio.gather(
        job_store.update_job(job, expected_version=1, status=Status.RUNNING),
        other.update_job(job, expected_version=1, status=Status.FAILED),
        return_exceptions=True,
    )
    assert sum(isinstance(r, StaleJob) for r in results) == 1
    winner = next(r for r in results if not isinstance(r, BaseException))
    assert (await job_store.get_job(job.id)).status == winner.status


async def test_terminal_status_sets_finished_at(job_store: JobStore) -> None:
    job = await make_job(job_store)
    done = await job_store.update_job(
        job,
        expected_version=1,
        status=Status.SUCCEEDED,
        progress=1.0,
        output_key="outputs/x.mp4",
        output_bytes=123,
        output_sha256="ab" * 32,
        cost_credits=25,
        now=T0 + timedelta(seconds=9),
    )
    assert done.finished_at == T0 + timedelta(seconds=9)
    assert (done.output_key, done.output_bytes, done.cost_credits) == ("outputs/x.mp4", 123, 25)


async def test_events_follow_status_and_progress(job_store: JobStore) -> None:
    job = await make_job(job_store, owner="k")
    other = await make_job(job_store, owner="x")
    job = await job_store.update_job(job, expected_version=1, status=Status.RUNNING)
    job = await job_store.update_job(job, expected_version=2, progress=0.25)
    job = await job_store.update_job(job, expected_version=3, poll_count=4)  # no event
    job = await job_store.update_job(
        job, expected_version=4, status=Status.FAILED, failure_code="SAFETY.INPUT.TEXT"
    )

    events = await job_store.events_since(0, owner="k")
    assert [e.type for e in events] == ["created", "status", "progress", "status"]
    assert [e.data["status"] for e in events] == ["queued", "running", "running", "failed"]
    assert events[2].data["progress"] == 0.25
    assert events[3].data["failure_code"] == "SAFETY.INPUT.TEXT"
    assert all(e.job_id == job.id and e.owner == "k" for e in events)
    ids = [e.id for e in events]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)

    # Resuming after an id (SSE Last-Event-ID) returns only what came next.
    assert [e.id for e in await job_store.events_since(ids[1], owner="k")] == ids[2:]
    assert [e.id for e in await job_store.events_since(ids[0], owner="k", limit=2)] == ids[1:3]
    assert [e.type for e in await job_store.events_since(0, job_id=other.id)] == ["created"]
    assert len(await job_store.events_since(0)) == 5


async def test_many_concurrent_writers_do_not_lock_each_other_out(
    job_store: JobStore, second_engine: AsyncEngine
) -> None:
    other = JobStore(second_engine)
    jobs = await asyncio.gather(*(make_job((job_store, other)[i % 2]) for i in range(40)))

    async def advance(store: JobStore, job: Any) -> None:
        job = await store.update_job(job, expected_version=1, status=Status.RUNNING)
        await store.update_job(job, expected_version=2, progress=0.5)

    await asyncio.gather(*(advance((job_store, other)[i % 2], job) for i, job in enumerate(jobs)))
    assert (await job_store.count_by_status())[Status.RUNNING] == 40
    assert len(await job_store.events_since(0, limit=1000)) == 120


# -- attempts ------------------------------------------------------------------------------------


async def test_attempts_are_recorded_and_finished(job_store: JobStore) -> None:
    job = await make_job(job_store)
    first = await job_store.record_attempt(job.id, 1, now=T0)
    assert (first.task_id, first.status, first.finished_at) == (None, Status.SUBMITTING, None)
    first = await job_store.record_attempt(job.id, 1, task_id="t-1", status=Status.RUNNING)
    assert (first.task_id, first.status, first.created_at) == ("t-1", Status.RUNNING, T0)
    await job_store.finish_attempt(
        job.id, 1, status=Status.FAILED, failure_code="INTERNAL", failure_message="oops", now=T0
    )
    await job_store.record_attempt(job.id, 2, task_id="t-2")
    attempts = await job_store.list_attempts(job.id)
    assert [(a.number, a.task_id) for a in attempts] == [(1, "t-1"), (2, "t-2")]
    assert (attempts[0].status, attempts[0].failure_code, attempts[0].finished_at) == (
        Status.FAILED,
        "INTERNAL",
        T0,
    )
    with pytest.raises(NotFound):
        await job_store.finish_attempt(job.id, 3, status=Status.FAILED)
    with pytest.raises(NotFound):
        await job_store.record_attempt(new_job_id(), 1)


# -- cancellation --------------------------------------------------------------------------------


async def test_cancel_before_submission_is_immediate(job_store: JobStore) -> None:
    job = await make_job(job_store, owner="k")
    with pytest.raises(NotFound):
        await job_store.request_cancel(job.id, owner="intruder")
    cancelled = await job_store.request_cancel(job.id, owner="k", now=T0)
    assert cancelled.status is Status.CANCELLED and cancelled.cancel_requested
    assert cancelled.finished_at == T0
    assert await job_store.claim_due_jobs("w", now=T0) == []
    events = await job_store.events_since(0, job_id=job.id)
    assert [(e.type, e.data["status"]) for e in events][-1] == ("status", "cancelled")
    # Asking again changes nothing.
    assert (await job_store.request_cancel(job.id)).version == cancelled.version


async def test_cancel_of_a_running_job_reaches_the_worker(job_store: JobStore) -> None:
    job = await make_job(job_store)
    [job] = await job_store.claim_due_jobs("w", now=T0)
    job = await job_store.release(
        job, T0 + timedelta(seconds=30), status=Status.RUNNING, task_id="t-1"
    )
    [held] = await job_store.claim_due_jobs("w", now=T0 + timedelta(seconds=30))

    marked = await job_store.request_cancel(job.id, now=T0 + timedelta(seconds=31))
    assert marked.status is Status.RUNNING and marked.cancel_requested
    assert marked.next_run_at <= T0 + timedelta(seconds=31)
    # The worker's snapshot is stale: it must re-read and see the request.
    with pytest.raises(StaleJob):
        await job_store.update_job(held, expected_version=held.version, progress=0.5)
    events = await job_store.events_since(0, job_id=job.id)
    assert events[-1].type == "cancel_requested" and events[-1].data["cancel_requested"]


async def test_cancel_of_a_finished_job_changes_nothing(job_store: JobStore) -> None:
    job = await make_job(job_store)
    done = await job_store.update_job(job, expected_version=1, status=Status.SUCCEEDED)
    again = await job_store.request_cancel(job.id)
    assert again.status is Status.SUCCEEDED and not again.cancel_requested
    assert again.version == done.version
