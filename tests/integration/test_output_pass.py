"""One pass over a finished output: downloaded once to a local file, everything derived from that
file, then committed. With S3 (moto behind a recording proxy, s3_support.py) the requests the
store step makes are counted: nothing it stored is read back from the bucket."""

from __future__ import annotations

import hashlib
from pathlib import Path

from pipeline_harness import Harness
from s3_support import RefusingProxy, s3_options
from sqlalchemy.ext.asyncio import AsyncEngine

from vidgate.emulator.server import EmulatorServer
from vidgate.jobs.status import FailureCode, Status
from vidgate.jobs.store import JobStore
from vidgate.storage import Storage


async def _read(storage: Storage, key: str | None) -> bytes:
    assert key is not None
    return b"".join([chunk async for chunk in await storage.open_range(key)])


async def test_a_finished_video_is_read_back_from_s3_zero_times(
    engine: AsyncEngine,
    emulator: EmulatorServer,
    moto_endpoint: str,
    s3_bucket: str,
    tmp_path: Path,
) -> None:
    with RefusingProxy(moto_endpoint) as proxy:
        storage = Storage.from_url(f"s3://{s3_bucket}/media", options=s3_options(proxy.endpoint))
        harness = Harness.build(JobStore(engine), tmp_path / "media", emulator, storage=storage)
        try:
            job = await harness.submit()
            [done] = await harness.run_until_done(job.id)
            during = list(proxy.requests)
            assert done.status is Status.SUCCEEDED, done.status_reason
            assert done.output_key and done.poster_key and done.preview_key
            prefix = f"/{s3_bucket}/media/jobs/{job.id}/"

            # Not one GET: the video, poster and preview came from the one local download.
            assert [r for r in during if r[0] == "GET"] == []
            written = {path for method, path in during if method == "PUT"}
            for name in ("video.mp4", "poster.jpg", "preview.webp"):
                assert prefix + name in written, during  # committed (a copy from tmp/)

            # What was committed is right: read now, after the count.
            video = await _read(storage, done.output_key)
            assert hashlib.sha256(video).hexdigest() == done.output_sha256
            assert len(video) == done.output_bytes
            sent = harness.emulator.state.outputs.path(done.task_id or "").read_bytes()
            assert video == sent
            assert (await _read(storage, done.poster_key))[:3] == b"\xff\xd8\xff"
            preview = await _read(storage, done.preview_key)
            assert preview[:4] == b"RIFF" and preview[8:12] == b"WEBP"
            assert done.provenance is not None and done.provenance["valid"]
        finally:
            await harness.aclose()


async def test_a_chain_reads_back_only_its_segments(
    engine: AsyncEngine,
    emulator: EmulatorServer,
    moto_endpoint: str,
    s3_bucket: str,
    tmp_path: Path,
) -> None:
    with RefusingProxy(moto_endpoint) as proxy:
        storage = Storage.from_url(f"s3://{s3_bucket}/media", options=s3_options(proxy.endpoint))
        harness = Harness.build(JobStore(engine), tmp_path / "media", emulator, storage=storage)
        try:
            parent = await harness.submit_chain(
                {
                    "model": "gen4.5",
                    "promptText": "a lighthouse at dusk",
                    "ratio": "1280:720",
                    "duration": 4,
                    "segmentDurations": [2, 2],
                }
            )
            [done] = await harness.run_until_done(parent.id, timeout=90)
            assert done.status is Status.SUCCEEDED, done.status_reason
            children = await harness.store.list_children(parent.id)
        finally:
            await harness.aclose()
    reads = {path for method, path in proxy.requests if method == "GET"}
    # The chain reads its segments' videos (the seam frame, the join); the joined video, its
    # poster and preview, and the segments' own, are never read back.
    assert reads == {f"/{s3_bucket}/media/{c.output_key}" for c in children}
    assert done.preview_key is not None


async def test_an_output_over_the_size_cap_fails_the_job_once(harness: Harness) -> None:
    harness.pipeline.context.output_max_bytes = 10_000  # the emulator's 2 s clip is larger
    job = await harness.submit()
    [done] = await harness.run_until_done(job.id)
    assert done.status is Status.FAILED
    assert done.failure_code == FailureCode.DOWNLOAD_FAILED
    assert "10000 bytes" in (done.failure_message or ""), done.failure_message
    assert done.output_key is None
    assert harness.emulator.stats()["outputDownloads"] == 1  # a size cap is not tried again
    # Nothing stored, nothing staged left behind.
    assert [p for p in harness.media_dir.rglob("*") if p.is_file()] == []


async def test_a_local_store_takes_the_download_whole(harness: Harness) -> None:
    job = await harness.submit()
    [done] = await harness.run_until_done(job.id)
    assert done.status is Status.SUCCEEDED, done.status_reason
    stored = harness.path(done.output_key).read_bytes()
    assert hashlib.sha256(stored).hexdigest() == done.output_sha256
    # The staged download became the video (renamed in place): nothing else left in tmp/.
    assert sorted(p.name for p in harness.media_dir.rglob("*") if p.is_file()) == [
        "poster.jpg",
        "preview.webp",
        "video.mp4",
    ]
