"""One pass over a finished output: downloaded once to a local file, everything derived from that
file, then committed. With S3 (moto behind a recording proxy, s3_support.py) the requests the
store step makes are counted: nothing it stored is read back from the bucket."""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path

import pytest
from pipeline_harness import Harness
from s3_support import RefusingProxy, s3_options
from sqlalchemy.ext.asyncio import AsyncEngine

from vidgate.emulator.server import EmulatorServer
from vidgate.errors import PayloadTooLarge
from vidgate.jobs.status import FailureCode, Status
from vidgate.jobs.store import JobStore
from vidgate.storage import TEMP_PREFIX, Storage, fill_file

MIB = 1024 * 1024


async def _read(storage: Storage, key: str | None) -> bytes:
    assert key is not None
    return b"".join([chunk async for chunk in await storage.open_range(key)])


@pytest.fixture(params=["local", "s3"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Storage:
    if request.param == "local":
        return Storage.from_url((tmp_path / "media").as_uri(), scratch_dir=tmp_path / "scratch")
    endpoint: str = request.getfixturevalue("moto_endpoint")
    bucket: str = request.getfixturevalue("s3_bucket")
    return Storage.from_url(
        f"s3://{bucket}/media", options=s3_options(endpoint), scratch_dir=tmp_path / "scratch"
    )


def _left_behind(storage: Storage, tmp_path: Path) -> list[str]:
    """Files in the local store's tmp/ and in the scratch directory."""
    places = [tmp_path / "scratch", tmp_path / "media" / TEMP_PREFIX]
    return sorted(name for place in places if place.is_dir() for name in os.listdir(place))


async def test_a_staged_file_is_hashed_as_it_streams_and_committed_whole(
    storage: Storage, tmp_path: Path
) -> None:
    data = os.urandom(3 * MIB + 5)
    async with storage.staged(".mp4") as path:
        digest = await fill_file(path, io.BytesIO(data), length=None)
        assert (digest.size, digest.sha256) == (len(data), hashlib.sha256(data).hexdigest())
        stored = await storage.commit("jobs/x/video.mp4", path, digest, content_type="video/mp4")
    assert (stored.size, stored.sha256) == (digest.size, digest.sha256)
    assert await _read(storage, "jobs/x/video.mp4") == data
    assert _left_behind(storage, tmp_path) == []


async def test_a_local_store_commits_a_staged_file_by_renaming_it(tmp_path: Path) -> None:
    storage = Storage.from_url((tmp_path / "media").as_uri())
    async with storage.staged() as path:
        await fill_file(path, io.BytesIO(b"video bytes"), length=11)
        inode = path.stat().st_ino
        await storage.commit("jobs/x/video.mp4", path)  # no digest: read once to hash it
    final = storage.local_path("jobs/x/video.mp4")
    assert final is not None and final.stat().st_ino == inode  # the same file, not a copy


@pytest.mark.parametrize("announced", [True, False])
async def test_a_download_over_the_cap_stops_and_leaves_nothing(
    storage: Storage, tmp_path: Path, announced: bool
) -> None:
    data = b"x" * (2 * MIB)
    source = io.BytesIO(data)
    async with storage.staged(".mp4") as path:
        with pytest.raises(PayloadTooLarge):
            await fill_file(path, source, length=len(data) if announced else None, limit=MIB)
    if announced:
        assert source.tell() == 0  # refused by its announced length, before any byte is read
    assert _left_behind(storage, tmp_path) == []
    assert not await storage.exists("jobs/x/video.mp4")


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
