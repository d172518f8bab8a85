"""The durable pipeline end to end: the real worker, the real store (SQLite and PostgreSQL), the
emulator as a real HTTP server and the official SDK as the client. Faults are chosen through the
emulator's control endpoint, never by patching."""

from __future__ import annotations

import asyncio
import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import stamina
from pipeline_harness import Harness

from vidgate.jobs.status import FailureCode, Status
from vidgate.media.probe import probe_media
from vidgate.pipeline.download import DOWNLOAD_ATTEMPTS


def _files(root: Path) -> list[Path]:
    """Every file under ``root``, relative to it."""
    if not root.exists():
        return []
    return sorted(p.relative_to(root) for p in root.rglob("*") if p.is_file())


async def test_job_is_stored_whole_probed_and_postered(harness: Harness) -> None:
    job = await harness.submit()
    [done] = await harness.run_until_done(job.id)

    assert done.status is Status.SUCCEEDED, done.status_reason
    assert done.task_id and done.output_key and done.poster_key
    video = harness.storage.local_path(done.output_key)
    assert video is not None and video.exists()
    data = video.read_bytes()
    assert len(data) == done.output_bytes
    assert hashlib.sha256(data).hexdigest() == done.output_sha256
    info = probe_media(video)
    assert (info.width, info.height, info.video_codec) == (1280, 720, "h264")
    assert done.output_duration_seconds == pytest.approx(2.0, abs=1 / 24)
    poster = probe_media(harness.storage.local_path(done.poster_key) or "")
    assert poster.mime_type == "image/jpeg"
    assert done.cost_credits == 24  # gen4.5: 12 credits/s x 2 s
    # Exactly one upstream task for the job, and no temporary file left behind.
    assert harness.emulator.stats()["tasksCreated"]["total"] == 1
    # The preview was made with the poster, from the same download, before the job succeeded.
    assert done.preview_key == f"jobs/{job.id}/preview.webp"
    assert _files(harness.media_dir) == [
        Path(f"jobs/{job.id}/poster.jpg"),
        Path(f"jobs/{job.id}/preview.webp"),
        Path(f"jobs/{job.id}/video.mp4"),
    ]
    # Stored as sent: the emulator's own file for the task, byte for byte (its content
    # credentials intact), and reported on the job.
    sent = harness.emulator.state.outputs.path(done.task_id).read_bytes()
    assert hashlib.sha256(sent).hexdigest() == done.output_sha256
    assert done.provenance is not None
    assert done.provenance["valid"] and done.provenance["ai_generated"]
    assert done.output_audio_codec is None  # gen4.5 makes no sound
    attempts = await harness.store.list_attempts(job.id)
    assert [(a.number, a.task_id, a.status) for a in attempts] == [
        (1, done.task_id, Status.SUCCEEDED)
    ]


async def test_polls_fewer_times_than_the_sdk_would(harness: Harness) -> None:
    harness.emulator.control(taskSeconds=2.0)
    job = await harness.submit()
    [done] = await harness.run_until_done(job.id)
    assert done.status is Status.SUCCEEDED
    # The SDK's helper polls every 4.5-7.5 s; the cadence polls sparsely, not in a tight loop.
    assert 1 <= done.poll_count <= 12


async def test_http_faults_are_retried_and_every_job_ends(harness: Harness) -> None:
    harness.emulator.control(http429Rate=0.3, http5xxRate=0.2)
    jobs = [await harness.submit() for _ in range(4)]
    done = await harness.run_until_done(*(j.id for j in jobs), timeout=60)
    assert all(j.status is Status.SUCCEEDED for j in done), [j.status_reason for j in done]
    stats = harness.emulator.stats()
    assert stats["tasksCreated"]["total"] == 4  # refused creates made no task, so none doubled
    assert stats["responsesByStatus"].get("429", 0) + stats["responsesByStatus"].get("503", 0) > 0


@pytest.mark.parametrize("code", ["SAFETY.INPUT.TEXT", "INPUT_PREPROCESSING.SAFETY.TEXT"])
async def test_final_failures_are_not_retried(harness: Harness, code: str) -> None:
    harness.emulator.control(failRate=1.0, failureCode=code)
    job = await harness.submit()
    [done] = await harness.run_until_done(job.id)
    assert done.status is Status.FAILED
    assert done.failure_code == code and done.failure_message
    assert harness.emulator.stats()["tasksCreated"]["total"] == 1


async def test_internal_failures_get_new_tasks_up_to_the_bound(harness: Harness) -> None:
    harness.emulator.control(failRate=1.0, failureCode="INTERNAL.BAD_OUTPUT.CODE01")
    job = await harness.submit()
    [done] = await harness.run_until_done(job.id)
    assert done.status is Status.FAILED
    assert done.failure_code == "INTERNAL.BAD_OUTPUT.CODE01"
    attempts = await harness.store.list_attempts(job.id)
    assert [a.number for a in attempts] == [1, 2, 3]
    assert len({a.task_id for a in attempts}) == 3
    assert harness.emulator.stats()["tasksCreated"]["total"] == 3


async def test_internal_failure_then_success(harness: Harness) -> None:
    harness.emulator.control(failRate=1.0, failureCode="INTERNAL")
    job = await harness.submit()
    async with harness.running():
        # The attempt row appears before the create; the task's outcome is drawn at the create.
        async with asyncio.timeout(20):
            while not any(a.task_id for a in await harness.store.list_attempts(job.id)):
                await asyncio.sleep(0.02)
        harness.emulator.control(failRate=0.0)
    [done] = await harness.run_until_done(job.id)
    assert done.status is Status.SUCCEEDED, done.status_reason
    assert done.attempt >= 2


async def test_cancel_deletes_upstream(harness: Harness) -> None:
    harness.emulator.control(taskSeconds=30)
    job = await harness.submit()
    async with harness.running():
        async with asyncio.timeout(20):
            while (await harness.store.get_job(job.id)).status is not Status.RUNNING:
                await asyncio.sleep(0.02)
        done = await harness.cancel(job.id)
    assert done.status is Status.CANCELLED
    assert harness.emulator.stats()["taskDeletes"] == 1


async def test_cancelled_upstream_is_reported(harness: Harness) -> None:
    harness.emulator.control(taskSeconds=30)
    job = await harness.submit()
    async with harness.running():
        async with asyncio.timeout(20):
            while not (current := await harness.store.get_job(job.id)).task_id:
                await asyncio.sleep(0.02)
        assert current.task_id is not None
        harness.emulator.force(current.task_id, "cancel")
    [done] = await harness.run_until_done(job.id)
    assert done.status is Status.CANCELLED
    assert done.failure_code == FailureCode.CANCELLED_UPSTREAM


async def test_timeout_cancels_upstream_and_says_so(harness: Harness) -> None:
    harness.emulator.control(taskSeconds=60)
    job = await harness.submit(deadline_at=datetime.now(UTC) + timedelta(seconds=1.5))
    [done] = await harness.run_until_done(job.id)
    assert done.status is Status.FAILED
    assert done.failure_code == FailureCode.TIMEOUT
    assert "cancelled upstream" in (done.status_reason or "")
    assert harness.emulator.stats()["taskDeletes"] == 1


async def test_long_throttling_waits_then_succeeds(harness: Harness) -> None:
    harness.emulator.control(throttleSeconds=2.0)
    job = await harness.submit()
    seen: set[Status] = set()
    async with harness.running():
        async with asyncio.timeout(20):
            while not (current := await harness.store.get_job(job.id)).status.is_terminal:
                seen.add(current.status)
                await asyncio.sleep(0.02)
    assert Status.THROTTLED in seen
    assert current.status is Status.SUCCEEDED


async def test_expired_output_urls_are_refreshed(harness: Harness) -> None:
    # Every URL the emulator signs is expired on arrival until the test lifts the knob: the
    # pipeline gets through only by fetching the task again for a freshly signed URL.
    harness.emulator.control(outputTtlSeconds=0)
    job = await harness.submit()
    async with harness.running():
        async with asyncio.timeout(20):
            while not harness.emulator.stats()["responsesByStatus"].get("403"):
                await asyncio.sleep(0.01)
        harness.emulator.control(outputTtlSeconds=3600.0)
    [done] = await harness.run_until_done(job.id)
    assert done.status is Status.SUCCEEDED, done.status_reason
    assert harness.emulator.stats()["tasksCreated"]["total"] == 1


async def test_output_urls_that_stay_expired_fail_with_a_reason(harness: Harness) -> None:
    harness.emulator.control(outputTtlSeconds=0)
    job = await harness.submit()
    with stamina.set_testing(True, attempts=DOWNLOAD_ATTEMPTS, cap=True):  # no backoff waits
        [done] = await harness.run_until_done(job.id, timeout=60)
    assert done.status is Status.FAILED
    assert done.failure_code == FailureCode.DOWNLOAD_FAILED
    assert done.status_reason == f"the output could not be stored after {DOWNLOAD_ATTEMPTS} tries"
    # Each try read the task again for a fresh URL, and found it expired.
    assert harness.emulator.stats()["responsesByStatus"]["403"] == DOWNLOAD_ATTEMPTS


async def test_truncated_downloads_leave_no_partial_file(harness: Harness) -> None:
    harness.emulator.control(truncateDownloads=True)
    job = await harness.submit()
    with stamina.set_testing(True, attempts=DOWNLOAD_ATTEMPTS, cap=True):
        [done] = await harness.run_until_done(job.id, timeout=60)
    assert done.status is Status.FAILED
    assert done.failure_code == FailureCode.DOWNLOAD_FAILED
    assert done.status_reason == f"the output could not be stored after {DOWNLOAD_ATTEMPTS} tries"
    assert _files(harness.media_dir) == []  # nothing half-written looks complete


async def test_dropped_connections_end_every_job(harness: Harness) -> None:
    harness.emulator.control(dropConnectionRate=0.3)
    jobs = [await harness.submit() for _ in range(4)]
    done = await harness.run_until_done(*(j.id for j in jobs), timeout=60)
    for job in done:
        assert job.status.is_terminal and job.status_reason
        if job.status is Status.FAILED:
            # Only an unknowable create outcome may fail a job here, and it is never resent.
            assert job.failure_code == FailureCode.SUBMISSION_UNCERTAIN
    created = harness.emulator.stats()["tasksCreated"]["total"]
    assert created <= len(jobs)
