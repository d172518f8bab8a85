"""A cancel raced against the create: whenever it lands, the job ends cancelled at once, the task
the create made is cancelled upstream and its cost is recorded.

The emulator's ``createAnswerSeconds`` holds each create's answer back after its task exists, so a
cancel sent 0, 100, 250 or 400 ms after the task appeared upstream lands while the create is in
flight; one more is sent after the answer was recorded. Each runs on SQLite and PostgreSQL with the
worker's claim loop, and on PostgreSQL with the procrastinate step queue as well. The 3 s deadline
is a test timeout (a lost cancel used to wait out the 30 s lease), not a speed measurement.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta

import pytest
from pipeline_harness import Harness

from vidgate.catalog import get_catalog
from vidgate.clock import utcnow
from vidgate.db.engine import create_engine
from vidgate.emulator.server import EmulatorServer
from vidgate.errors import NotFound
from vidgate.jobs.models import Job
from vidgate.jobs.status import Status
from vidgate.jobs.step_queue import QueueTimings, StepQueue
from vidgate.jobs.store import JobStore, StaleJob
from vidgate.requests.generation import validate_request

#: The create answers this long after its task exists: every offset below lands inside it.
ANSWER_SECONDS = 1.0
#: Seconds after the task appeared upstream that the cancel is sent; None: after the answer.
OFFSETS = [0.0, 0.1, 0.25, 0.4, None]
CANCEL_DEADLINE_SECONDS = 3.0
DURING_CREATE = "cancelled while being submitted; the task was cancelled upstream"
TAKEN_OVER = "taken over from a worker that stopped while submitting it; following the task it made"
FAST_QUEUE = QueueTimings(
    poll_seconds=0.1, heartbeat_seconds=0.5, stall_seconds=2.0, recover_every_seconds=1
)

Cancel = Callable[[str], Awaitable[None]]


def offset_id(offset: float | None) -> str:
    return "after-answer" if offset is None else f"{offset * 1000:.0f}ms"


@pytest.fixture
def slow_creates(emulator: EmulatorServer) -> EmulatorServer:
    """Creates that answer ``ANSWER_SECONDS`` after their task exists; tasks that run a minute
    (so a task gone from the emulator was cancelled, never finished)."""
    emulator.control(createAnswerSeconds=ANSWER_SECONDS, taskSeconds=60)
    return emulator


async def _upstream_task(emulator: EmulatorServer) -> str:
    """The id of the one task the emulator made, once it exists (its control endpoint)."""
    async with asyncio.timeout(20):
        while not (tasks := await asyncio.to_thread(emulator.tasks)):
            await asyncio.sleep(0.005)
    [task] = tasks
    return str(task["id"])


async def _race(
    store: JobStore, emulator: EmulatorServer, job: Job, offset: float | None, cancel: Cancel
) -> tuple[str, Job]:
    """Send the cancel ``offset`` seconds after the job's task appeared upstream; the task id
    and the job once ended (within the deadline)."""
    task_id = await _upstream_task(emulator)
    if offset is None:
        async with asyncio.timeout(20):
            while (await store.get_job(job.id)).task_id is None:
                await asyncio.sleep(0.01)
    else:
        await asyncio.sleep(offset)  # times the race; nothing is proved by it
    await cancel(job.id)
    async with asyncio.timeout(CANCEL_DEADLINE_SECONDS):
        while not (done := await store.get_job(job.id)).status.is_terminal:
            await asyncio.sleep(0.01)
    return task_id, done


async def _assert_cancelled_everywhere(
    harness: Harness, done: Job, task_id: str, offset: float | None
) -> None:
    store, emulator = harness.store, harness.emulator
    assert done.status is Status.CANCELLED, done.status_reason
    expected = DURING_CREATE if offset is not None else "cancelled by request"
    assert done.status_reason == expected
    # The task id was kept, on the job and on its attempt.
    assert done.task_id == task_id
    assert [a.task_id for a in await store.list_attempts(done.id)] == [task_id]
    # No step of the job claimed a restart: nothing restarted.
    events = await store.events_since(job_id=done.id, limit=1000)
    reasons = [e.data.get("status_reason", "") for e in events]
    assert not [r for r in reasons if "restart" in r or "taken over" in r], reasons
    # Upstream: one task made, and deleted while it ran (a minute long: it never finished).
    stats = await asyncio.to_thread(emulator.stats)
    assert stats["tasksCreated"]["total"] == 1
    assert stats["taskDeletes"] == 1
    assert task_id not in [t["id"] for t in await asyncio.to_thread(emulator.tasks)]
    with pytest.raises(NotFound):
        await harness.pipeline.context.provider.get_task(task_id)
    # Its cost is what the provider charged (its usage report): cancelled while RUNNING, the
    # estimate, none of it refunded.
    today = utcnow().date()
    used = await harness.pipeline.context.provider.usage(today, today + timedelta(days=1))
    charged = sum(u.credits for u in used)
    assert charged > 0
    assert done.cost_credits == charged


@pytest.mark.parametrize("offset", OFFSETS, ids=offset_id)
async def test_a_cancel_during_the_create_wins_with_the_claim_loop(
    harness: Harness, slow_creates: EmulatorServer, offset: float | None
) -> None:
    async def cancel(job_id: str) -> None:
        await harness.store.request_cancel(job_id)
        harness.worker.wake()  # as the API does after a cancel

    async with harness.running():
        job = await harness.submit()
        task_id, done = await _race(harness.store, slow_creates, job, offset, cancel)
    await _assert_cancelled_everywhere(harness, done, task_id, offset)


@contextlib.asynccontextmanager
async def _step_queue(url: str, harness: Harness) -> AsyncIterator[StepQueue]:
    """A worker of the procrastinate step queue on ``url``, running ``harness``'s pipeline."""
    async with StepQueue(url, harness.store, harness.pipeline, timings=FAST_QUEUE) as queue:
        running = asyncio.create_task(queue.run_worker(concurrency=4, name="race"))
        try:
            yield queue
        finally:
            running.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await running


@pytest.mark.parametrize("offset", OFFSETS, ids=offset_id)
async def test_a_cancel_during_the_create_wins_with_the_step_queue(
    postgres_url: str, slow_creates: EmulatorServer, tmp_path: object, offset: float | None
) -> None:
    engine = create_engine(postgres_url)
    harness = Harness.build(JobStore(engine), tmp_path / "media", slow_creates)  # type: ignore[operator]
    try:
        async with _step_queue(postgres_url, harness) as queue:

            async def cancel(job_id: str) -> None:
                await harness.store.request_cancel(job_id)
                await queue.schedule(job_id)  # as the API does after a cancel

            created = await harness.store.create_job(
                endpoint="text_to_video",
                model="gen4.5",
                request={
                    "model": "gen4.5",
                    "promptText": "a lighthouse",
                    "ratio": "1280:720",
                    "duration": 2,
                },
            )
            await queue.schedule(created.job.id)
            task_id, done = await _race(harness.store, slow_creates, created.job, offset, cancel)
        await _assert_cancelled_everywhere(harness, done, task_id, offset)
    finally:
        await harness.aclose()
        await engine.dispose()


# --- a write that meets a newer version --------------------------------------------------------


async def test_a_cancel_between_the_claim_and_the_create_sends_nothing(harness: Harness) -> None:
    job = await harness.submit()
    [claimed] = await harness.store.claim_due_jobs("w1")
    await harness.store.request_cancel(job.id)  # leased: only asked for, the version moves
    done = await harness.pipeline.step(claimed)  # its move to submitting meets the cancel
    assert done.status is Status.CANCELLED
    assert done.status_reason == "cancelled before submission"
    assert (await asyncio.to_thread(harness.emulator.stats))["tasksCreated"]["total"] == 0


async def test_a_cancel_during_a_poll_cancels_the_task_in_the_same_step(harness: Harness) -> None:
    harness.emulator.control(taskSeconds=60)
    job = await harness.submit()
    async with harness.running():
        async with asyncio.timeout(20):
            while (await harness.store.get_job(job.id)).status is not Status.RUNNING:
                await asyncio.sleep(0.01)
    [claimed] = await harness.store.claim_due_jobs("w1", now=utcnow() + timedelta(minutes=1))
    await harness.store.request_cancel(job.id)
    done = await harness.pipeline.step(claimed)  # the poll's write meets the cancel
    assert done.status is Status.CANCELLED and done.status_reason == "cancelled by request"
    assert (await asyncio.to_thread(harness.emulator.stats))["taskDeletes"] == 1
    assert done.cost_credits is not None and done.cost_credits > 0  # cancelled while RUNNING


async def test_a_takeover_is_not_mistaken_for_a_cancel(harness: Harness) -> None:
    job = await harness.submit()
    [first] = await harness.store.claim_due_jobs("w1", lease_seconds=0.0)
    later = utcnow() + timedelta(seconds=1)
    [taken] = await harness.store.claim_due_jobs("w2", now=later)  # w1's lease ran out
    await harness.store.request_cancel(job.id)
    with pytest.raises(StaleJob):
        await harness.pipeline.step(first)  # w1 leaves the job to w2
    assert (await harness.store.get_job(job.id)).lease_owner == taken.lease_owner == "w2"
    assert (await asyncio.to_thread(harness.emulator.stats))["tasksCreated"]["total"] == 0


async def test_only_a_real_takeover_says_taken_over(harness: Harness) -> None:
    """A worker dies between the create's answer and its write: the next one takes the job over
    once the lease has run out, says so, and follows the task the dead one made."""
    job = await harness.submit()
    [claimed] = await harness.store.claim_due_jobs("dead", lease_seconds=0.3)
    moved, waiting = await harness.store.begin_submission(
        claimed, admit=lambda slots: None, since=claimed.created_at, status_reason="creating"
    )
    assert waiting is None
    request = validate_request(moved.endpoint, moved.request, catalog=get_catalog())
    created = await harness.pipeline.context.provider.create_task(request)
    await harness.store.record_attempt(job.id, 1, task_id=created.id, status=Status.RUNNING)
    [done] = await harness.run_until_done(job.id)  # "dead" writes nothing more
    assert done.status is Status.SUCCEEDED, done.status_reason
    assert done.task_id == created.id
    reasons = [e.data.get("status_reason") for e in await harness.store.events_since(job_id=job.id)]
    assert TAKEN_OVER in reasons
    assert not [r for r in reasons if r and "restart" in r]
    assert (await asyncio.to_thread(harness.emulator.stats))["tasksCreated"]["total"] == 1
