"""Storage on a local directory and on S3 (moto in server mode, s3_support.py): streaming,
atomicity, ranges, and a store that refuses vidgate's credentials while running."""

from __future__ import annotations

import asyncio
import hashlib
import os
import random
import tracemalloc
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import obstore
import pytest
from pipeline_harness import Harness
from s3_support import CREDENTIALS, RefusingProxy, s3_options
from sqlalchemy.ext.asyncio import AsyncEngine

from vidgate.emulator.server import EmulatorServer
from vidgate.errors import ConfigurationError, NotFound, RangeNotSatisfiable, StorageRefused
from vidgate.jobs.status import Status
from vidgate.jobs.store import JobStore
from vidgate.storage import TEMP_PREFIX, Storage

MIB = 1024 * 1024
PAYLOAD = 20 * MIB
CHUNK = 256 * 1024


@pytest.fixture(params=["local", "s3"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Storage:
    if request.param == "local":
        return Storage.from_url((tmp_path / "media").as_uri())
    endpoint: str = request.getfixturevalue("moto_endpoint")
    bucket: str = request.getfixturevalue("s3_bucket")
    return Storage.from_url(f"s3://{bucket}/media", options=s3_options(endpoint))


class Payload:
    """Deterministic bytes made chunk by chunk, never held whole."""

    def __init__(self, size: int, *, seed: int = 7, fail_after: int | None = None) -> None:
        self.size = size
        self.seed = seed
        self.fail_after = fail_after
        self.error = RuntimeError("the source broke")

    async def chunks(self) -> AsyncIterator[bytes]:
        rng = random.Random(self.seed)
        sent = 0
        while sent < self.size:
            if self.fail_after is not None and sent >= self.fail_after:
                raise self.error
            chunk = rng.randbytes(min(CHUNK, self.size - sent))
            sent += len(chunk)
            yield chunk

    def whole(self) -> bytes:
        rng = random.Random(self.seed)
        parts = []
        left = self.size
        while left:
            parts.append(rng.randbytes(min(CHUNK, left)))
            left -= len(parts[-1])
        return b"".join(parts)


async def read_all(storage: Storage, key: str, start: int = 0, end: int | None = None) -> bytes:
    return b"".join([chunk async for chunk in await storage.open_range(key, start, end)])


async def temporary_objects(storage: Storage) -> list[str]:
    root = storage.local_path("x")
    if root is not None:
        tmp = root.parent / TEMP_PREFIX
        return sorted(os.listdir(tmp)) if tmp.exists() else []
    store = storage._store
    return [m["path"] for batch in obstore.list(store, TEMP_PREFIX) for m in batch]


# -- saving ------------------------------------------------------------------------------------


async def test_streamed_save_in_constant_memory(storage: Storage) -> None:
    payload = Payload(PAYLOAD)
    expected_sha = hashlib.sha256(payload.whole()).hexdigest()

    tracemalloc.start()
    try:
        stored = await storage.save_stream(
            "outputs/big.mp4", payload.chunks(), content_type="video/mp4"
        )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert (stored.key, stored.size, stored.sha256) == ("outputs/big.mp4", PAYLOAD, expected_sha)
    # Chunks are passed on, not gathered: memory is a few parts, not the payload.
    assert peak < PAYLOAD // 2, f"peak {peak / MIB:.1f} MiB for a {PAYLOAD // MIB} MiB payload"
    assert await storage.size("outputs/big.mp4") == PAYLOAD
    digest = hashlib.sha256()
    async for chunk in await storage.open_range("outputs/big.mp4"):
        digest.update(chunk)
    assert digest.hexdigest() == expected_sha
    assert await temporary_objects(storage) == []


async def test_a_failing_source_leaves_nothing_behind(storage: Storage) -> None:
    payload = Payload(PAYLOAD, fail_after=7 * MIB)  # past the first multipart part
    with pytest.raises(RuntimeError) as caught:
        await storage.save_stream("outputs/broken.mp4", payload.chunks())
    assert caught.value is payload.error
    assert not await storage.exists("outputs/broken.mp4")
    assert await temporary_objects(storage) == []


async def test_a_failed_save_keeps_the_previous_object(storage: Storage) -> None:
    await storage.save_bytes("outputs/v.mp4", b"version one")
    with pytest.raises(RuntimeError):
        await storage.save_stream("outputs/v.mp4", Payload(3 * MIB, fail_after=MIB).chunks())
    assert await read_all(storage, "outputs/v.mp4") == b"version one"
    replaced = await storage.save_bytes("outputs/v.mp4", b"version two!")
    assert replaced.size == 12
    assert await read_all(storage, "outputs/v.mp4") == b"version two!"


async def test_empty_object(storage: Storage) -> None:
    stored = await storage.save_bytes("outputs/empty.bin", b"")
    assert (stored.size, stored.sha256) == (0, hashlib.sha256(b"").hexdigest())
    assert await storage.size("outputs/empty.bin") == 0
    assert await read_all(storage, "outputs/empty.bin", 0, 0) == b""


async def test_s3_keeps_the_content_type(moto_endpoint: str, s3_bucket: str) -> None:
    storage = Storage.from_url(f"s3://{s3_bucket}/media", options=s3_options(moto_endpoint))
    await storage.save_bytes("posters/p.jpg", b"\xff\xd8\xff", content_type="image/jpeg")
    client = boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1", **CREDENTIALS)
    head = client.head_object(Bucket=s3_bucket, Key="media/posters/p.jpg")
    client.close()
    assert head["ContentType"] == "image/jpeg"
    assert storage.local_path("posters/p.jpg") is None


# -- reading -----------------------------------------------------------------------------------


async def test_range_reads_are_exact(storage: Storage) -> None:
    payload = Payload(3 * MIB + 123, seed=3)
    data = payload.whole()
    await storage.save_stream("outputs/r.mp4", payload.chunks())
    size = len(data)
    for start, end in [
        (0, 1),
        (0, size),
        (10, 20),
        (size - 1, size),
        (MIB - 5, MIB + 5),
        (2 * MIB, None),
        (0, None),
        (100, 100),
    ]:
        got = await read_all(storage, "outputs/r.mp4", start, end)
        assert got == data[start:end], (start, end)


async def test_a_range_past_the_end_is_not_satisfiable(storage: Storage) -> None:
    await storage.save_bytes("outputs/short.mp4", b"0123456789")
    for start in (10, 11, 500):
        with pytest.raises(RangeNotSatisfiable) as caught:
            await storage.open_range("outputs/short.mp4", start, start + 5)
        assert caught.value.size == 10
    assert await read_all(storage, "outputs/short.mp4", 5, 50) == b"56789"


async def test_missing_objects(storage: Storage) -> None:
    with pytest.raises(NotFound):
        await storage.open_range("outputs/none.mp4", 0, 10)
    with pytest.raises(NotFound):
        await storage.size("outputs/none.mp4")
    assert not await storage.exists("outputs/none.mp4")
    await storage.delete("outputs/none.mp4")  # deleting twice is fine


async def test_delete(storage: Storage) -> None:
    await storage.save_bytes("outputs/d.mp4", b"x")
    assert await storage.exists("outputs/d.mp4")
    await storage.delete("outputs/d.mp4")
    assert not await storage.exists("outputs/d.mp4")


@pytest.mark.parametrize("as_uri", [True, False])
async def test_local_path_points_at_the_file(tmp_path: Path, as_uri: bool) -> None:
    root = tmp_path / "new" / "media"
    storage = Storage.from_url(root.as_uri() if as_uri else str(root))
    await storage.save_bytes("outputs/a.mp4", b"abc")
    path = storage.local_path("outputs/a.mp4")
    assert path == root / "outputs" / "a.mp4"
    assert path.read_bytes() == b"abc"


# -- housekeeping and misuse -------------------------------------------------------------------


async def test_cleanup_removes_only_old_temporary_objects(storage: Storage) -> None:
    await storage.save_bytes("outputs/keep.mp4", b"keep")
    store = storage._store
    await obstore.put_async(store, f"{TEMP_PREFIX}abandoned", b"half a video")
    assert await storage.cleanup_temporary(timedelta(hours=1)) == 0  # too young
    later = datetime.now(UTC) + timedelta(hours=2)
    assert await storage.cleanup_temporary(timedelta(hours=1), now=later) == 1
    assert await temporary_objects(storage) == []
    assert await read_all(storage, "outputs/keep.mp4") == b"keep"


async def test_local_cleanup_also_sees_half_written_staging_files(tmp_path: Path) -> None:
    storage = Storage.from_url((tmp_path / "media").as_uri())
    staging = tmp_path / "media" / "tmp" / "0123abcd#1"
    staging.parent.mkdir(parents=True)
    staging.write_bytes(b"partial")
    old = (datetime.now(UTC) - timedelta(days=2)).timestamp()
    os.utime(staging, (old, old))
    assert await storage.cleanup_temporary(timedelta(days=1)) == 1
    assert not staging.exists()


@pytest.mark.parametrize("key", ["", "/abs", "a/../b", "a//b", "tmp/x", "./a", "a\\b"])
async def test_bad_keys_are_refused(tmp_path: Path, key: str) -> None:
    storage = Storage.from_url((tmp_path / "media").as_uri())
    with pytest.raises(ValueError, match="invalid storage key"):
        await storage.size(key)


@pytest.mark.parametrize(
    ("url", "options"),
    [
        ("gs://bucket/prefix", None),
        ("az://container/prefix", {"azure_storage_account_name": "account"}),
        ("memory://", None),
    ],
)
def test_cloud_urls_make_stores_without_touching_the_network(
    url: str, options: dict[str, Any] | None
) -> None:
    storage = Storage.from_url(url, options=options)
    assert storage.url == url and storage.local_path("a/b") is None


@pytest.mark.parametrize(
    ("url", "options"),
    [
        ("ftp://host/dir", None),
        ("az://container/prefix", None),  # no account anywhere
        ("s3://bucket/prefix", {"aws_no_such_option": "1"}),
    ],
)
def test_bad_storage_urls_are_configuration_errors(
    url: str, options: dict[str, Any] | None
) -> None:
    with pytest.raises(ConfigurationError):
        Storage.from_url(url, options=options)


async def test_a_store_refusing_access_while_running_is_a_passing_fault(
    moto_endpoint: str, s3_bucket: str
) -> None:
    with RefusingProxy(moto_endpoint) as proxy:
        storage = Storage.from_url(f"s3://{s3_bucket}/media", options=s3_options(proxy.endpoint))
        await storage.save_bytes("a/b.bin", b"kept")
        proxy.refusing.set()  # the credentials were revoked
        for call in (storage.exists("a/b.bin"), storage.save_bytes("a/c.bin", b"new")):
            with pytest.raises(StorageRefused, match="refused access") as refused:
                await call
            assert refused.value.status_code == 503  # the API says so, never a 500
        proxy.refusing.clear()
        assert await storage.exists("a/b.bin")


async def test_a_job_whose_output_cannot_be_stored_waits_then_succeeds(
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
            proxy.refusing.set()
            job = await harness.submit()
            async with harness.running(), asyncio.timeout(60):
                # Several rounds refused: the output is paid for upstream, so the job is kept.
                while proxy.refused < 3:
                    await asyncio.sleep(0.05)
                waiting = await harness.store.get_job(job.id)
                assert waiting.status is Status.DOWNLOADING, waiting.status_reason
                assert "waiting for the media store" in (waiting.status_reason or "")
                proxy.refusing.clear()  # the operator fixed the credentials
                while not (done := await harness.store.get_job(job.id)).status.is_terminal:
                    await asyncio.sleep(0.05)
            assert done.status is Status.SUCCEEDED, done.status_reason
            assert await storage.exists(done.output_key or "")
        finally:
            await harness.aclose()
    assert harness.emulator.stats()["tasksCreated"]["total"] == 1
