"""Chained generations end to end: the real worker and store (SQLite and PostgreSQL), the emulator
as a real HTTP server and the official SDK as the client; faults through the emulator's knobs."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import io
import itertools
from pathlib import Path

import av
import numpy as np
import pytest
from numpy.typing import NDArray
from PIL import Image
from pipeline_harness import Harness
from runwayml import RunwayML
from sqlalchemy.ext.asyncio import AsyncEngine

from vidgate.emulator.content_credentials import ISSUER, make_test_identity
from vidgate.emulator.server import EmulatorServer
from vidgate.emulator.testing import download
from vidgate.jobs.status import Status
from vidgate.jobs.store import JobStore
from vidgate.media.c2pa_trust import load_trust
from vidgate.media.frames import extract_frame
from vidgate.media.mp4_layout import is_faststart
from vidgate.media.probe import probe_media
from vidgate.media.provenance import read_provenance
from vidgate.runtime import EMULATOR_API_KEY

FPS = 24
# Mean absolute difference (0-255 RGB) two decodes of "the same picture" may show after one more
# round of H.264 at crf 23 (measured: about 1.5); the emulator's slow pans move by 5 and more.
SEAM_TOLERANCE = 2.5
# A chain renders several segments one after another: it may take longer than one job.
CHAIN_TIMEOUT = 90.0
CHAIN_30S = {
    "model": "gen4.5",
    "promptText": "a lighthouse at dusk, the camera circling it",
    "ratio": "1280:720",
    "duration": 30,
}


def _pixels(image: Image.Image) -> NDArray[np.float64]:
    return np.asarray(image.convert("RGB"), dtype=np.float64)


def _difference(a: Image.Image, b: Image.Image) -> float:
    return float(np.abs(_pixels(a) - _pixels(b)).mean())


def _frames(path: Path, indexes: set[int]) -> dict[int, Image.Image]:
    found: dict[int, Image.Image] = {}
    with av.open(str(path)) as container:
        for index, frame in enumerate(container.decode(video=0)):
            if index in indexes:
                found[index] = frame.to_image()
    return found


async def test_30_second_chain_is_one_continuous_video_from_three_tasks(harness: Harness) -> None:
    parent = await harness.submit_chain(CHAIN_30S)
    assert parent.estimated_credits == 360  # 12 credits/s x 30 s: the whole chain
    progress: set[str] = set()
    async with harness.running(), asyncio.timeout(120):
        while not (current := await harness.store.get_job(parent.id)).status.is_terminal:
            if current.status_reason:
                progress.add(current.status_reason.split(":")[0])
            await asyncio.sleep(0.05)
    done = current
    assert done.status is Status.SUCCEEDED, done.status_reason
    assert {"segment 1 of 3", "segment 2 of 3", "segment 3 of 3"} <= progress

    # Exactly three upstream tasks: one text to video, then two image to video.
    stats = harness.emulator.stats()
    assert stats["tasksCreated"]["total"] == 3
    assert stats["tasksCreated"]["byEndpoint"] == {"text_to_video": 1, "image_to_video": 2}
    children = await harness.store.list_children(parent.id)
    assert [(c.segment_index, c.endpoint, c.status) for c in children] == [
        (0, "text_to_video", Status.SUCCEEDED),
        (1, "image_to_video", Status.SUCCEEDED),
        (2, "image_to_video", Status.SUCCEEDED),
    ]
    assert all(c.request["duration"] == 10 for c in children)
    assert children[1].request["promptImage"].startswith("runway://")
    assert done.cost_credits == 360

    # One playable MP4 of 30 s (within a frame), at the requested ratio, whole and checksummed.
    video = harness.path(done.output_key)
    assert hashlib.sha256(video.read_bytes()).hexdigest() == done.output_sha256
    info = probe_media(video)
    assert (info.width, info.height, info.video_codec) == (1280, 720, "h264")
    assert info.duration_seconds == pytest.approx(30.0, abs=1 / FPS)
    assert done.output_duration_seconds == pytest.approx(30.0, abs=1 / FPS)
    assert harness.path(done.poster_key).exists()
    with av.open(str(video)) as container:
        decoded = sum(1 for _ in container.decode(video=0))
    assert decoded == 3 * 10 * FPS == 720  # every frame of every segment, none lost at a seam
    assert info.frame_count == 720 and info.audio_codec is None  # gen4.5 makes no sound
    assert done.output_audio_codec is None
    assert is_faststart(video)
    # No certificate configured: the joined file is reported plainly as unsigned.
    assert done.provenance is not None and not done.provenance["present"]
    assert "VIDGATE_C2PA_CERTIFICATE" in done.provenance["unsigned_reason"]

    # Each segment starts on the picture the previous one ended on.
    for before, after in itertools.pairwise(children):
        last = extract_frame(harness.path(before.output_key), "last")
        first = extract_frame(harness.path(after.output_key), "first")
        across = _difference(last, first)
        assert across < SEAM_TOLERANCE
        # ...and not on just any picture of the previous segment: the comparison can fail.
        elsewhere = extract_frame(harness.path(before.output_key), "first")
        assert _difference(elsewhere, first) > 2 * across

    # In the joined video segment 2 begins right after all 240 of segment 1's frames, with the
    # copied, bit-exact pictures: segment 1's last picture, then segment 2 continuing it.
    seam = 10 * FPS
    joined = _frames(video, {seam - 1, seam})
    last_of_1 = extract_frame(harness.path(children[0].output_key), "last")
    first_of_2 = extract_frame(harness.path(children[1].output_key), "first")
    assert _difference(joined[seam - 1], last_of_1) < 0.5
    assert _difference(joined[seam], first_of_2) < 0.5
    assert _difference(joined[seam - 1], joined[seam]) < 2 * SEAM_TOLERANCE  # continuous motion


async def test_chain_from_a_first_image_at_a_portrait_ratio(harness: Harness) -> None:
    picture = Image.new("RGB", (720, 1280), (200, 40, 40))
    picture.paste((20, 60, 220), (0, 640, 720, 1280))
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    data_uri = "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()
    parent = await harness.submit_chain(
        {
            "model": "gen4.5",
            "promptTexts": ["a red and blue flag", "the flag waves"],
            "promptImage": data_uri,
            "ratio": "720:1280",
            "duration": 12,
        }
    )
    [done] = await harness.run_until_done(parent.id, timeout=CHAIN_TIMEOUT)
    assert done.status is Status.SUCCEEDED, done.status_reason
    children = await harness.store.list_children(parent.id)
    assert [c.request["duration"] for c in children] == [6, 6]
    assert [c.request["promptText"] for c in children] == ["a red and blue flag", "the flag waves"]
    assert [c.endpoint for c in children] == ["image_to_video", "image_to_video"]
    info = probe_media(harness.path(done.output_key))
    assert (info.width, info.height) == (720, 1280)
    assert info.duration_seconds == pytest.approx(12.0, abs=1 / FPS)
    first = extract_frame(harness.path(done.output_key), "first")
    assert _difference(first, picture) < SEAM_TOLERANCE
    assert harness.emulator.stats()["tasksCreated"]["total"] == 2


async def test_cancelling_the_chain_cancels_the_running_segment(harness: Harness) -> None:
    harness.emulator.control(taskSeconds=30)
    parent = await harness.submit_chain(CHAIN_30S)
    async with harness.running():
        async with asyncio.timeout(30):
            while not any(c.task_id for c in await harness.store.list_children(parent.id)):
                await asyncio.sleep(0.05)
        done = await harness.cancel(parent.id)
    assert done.status is Status.CANCELLED, done.status_reason
    [child] = await harness.store.list_children(parent.id)
    assert child.status is Status.CANCELLED
    stats = harness.emulator.stats()
    assert stats["tasksCreated"]["total"] == 1  # the rest of the chain never started
    assert stats["taskDeletes"] == 1


async def test_a_failed_segment_fails_the_chain_with_its_reason(harness: Harness) -> None:
    harness.emulator.control(failRate=1.0, failureCode="SAFETY.INPUT.TEXT")
    parent = await harness.submit_chain(CHAIN_30S)
    [done] = await harness.run_until_done(parent.id, timeout=CHAIN_TIMEOUT)
    assert done.status is Status.FAILED
    assert done.failure_code == "SAFETY.INPUT.TEXT"
    assert (done.status_reason or "").startswith("segment 1 of 3 failed")
    assert harness.emulator.stats()["tasksCreated"]["total"] == 1


async def test_internal_failures_of_a_segment_are_retried_by_the_pipeline(
    harness: Harness,
) -> None:
    parent = await harness.submit_chain({**CHAIN_30S, "duration": 4})  # one 4 s segment
    harness.emulator.control(failRate=1.0, failureCode="INTERNAL")
    async with harness.running():
        async with asyncio.timeout(30):
            while True:
                children = await harness.store.list_children(parent.id)
                if children and children[0].attempt >= 2:
                    break
                await asyncio.sleep(0.02)
        harness.emulator.control(failRate=0.0)
    [done] = await harness.run_until_done(parent.id, timeout=CHAIN_TIMEOUT)
    assert done.status is Status.SUCCEEDED, done.status_reason
    [child] = await harness.store.list_children(parent.id)
    assert child.attempt >= 2
    assert harness.emulator.stats()["tasksCreated"]["total"] == child.attempt


async def test_a_restart_resumes_after_the_last_finished_segment(
    harness: Harness, engine: AsyncEngine
) -> None:
    parent = await harness.submit_chain({**CHAIN_30S, "duration": 12})  # 6 s + 6 s
    async with harness.running(), asyncio.timeout(60):
        while len(await harness.store.list_children(parent.id)) < 2:
            await asyncio.sleep(0.02)
    # A new process: its own pipeline, worker and provider client, the same database.
    restarted = Harness.build(JobStore(engine), harness.media_dir, harness.emulator)
    try:
        [done] = await restarted.run_until_done(parent.id, timeout=CHAIN_TIMEOUT)
    finally:
        await restarted.aclose()
    assert done.status is Status.SUCCEEDED, done.status_reason
    assert len(await harness.store.list_children(parent.id)) == 2
    assert harness.emulator.stats()["tasksCreated"]["total"] == 2


def _emulator_bytes(emulator: EmulatorServer, task_id: str | None) -> bytes:
    """The output as the emulator serves it, fetched afresh with the official SDK."""
    assert task_id is not None
    with RunwayML(api_key=EMULATOR_API_KEY, base_url=emulator.base_url) as client:
        task = client.tasks.retrieve(task_id)
        assert task.status == "SUCCEEDED" and task.output
        return download(task.output[0])


async def test_a_chain_with_sound_keeps_it_and_names_its_segments_when_signed(
    harness: Harness, tmp_path: Path
) -> None:
    identity, operator_root = make_test_identity("operator")
    harness.pipeline.context.signing = identity
    # Both roots are anchors: the emulator's (the segments' signer) and the operator's.
    anchors = tmp_path / "anchors.pem"
    anchors.write_bytes(operator_root + harness.emulator.state.outputs.signer.root_pem)
    trust = harness.pipeline.context.trust = load_trust(anchors)
    parent = await harness.submit_chain(
        {
            "model": "veo3.1",
            "promptText": "surf on a beach",
            "ratio": "1280:720",
            "duration": 12,
            "segmentDurations": [4, 4, 4],
            "audio": True,
        }
    )
    [done] = await harness.run_until_done(parent.id, timeout=120)
    assert done.status is Status.SUCCEEDED, done.status_reason
    children = await harness.store.list_children(parent.id)
    assert len(children) == 3 and all(c.request["audio"] is True for c in children)

    # Each segment: stored byte for byte as the emulator sent it, with sound and credentials.
    for child in children:
        sent = _emulator_bytes(harness.emulator, child.task_id)
        stored = harness.path(child.output_key).read_bytes()
        assert hashlib.sha256(sent).hexdigest() == child.output_sha256
        assert hashlib.sha256(stored).hexdigest() == child.output_sha256
        assert child.output_audio_codec == "aac" and child.output_audio_channels == 2
        assert child.output_audio_seconds == pytest.approx(4.0, abs=1 / FPS)
        assert child.provenance is not None
        assert child.provenance["valid"] and child.provenance["ai_generated"]
        assert child.provenance["issuer"] == ISSUER
        assert child.provenance["trusted"], child.provenance["trust_reason"]
        assert child.preview_key is not None

    # The chain: one sound track as long as the video, faststart, signed naming its segments.
    video = harness.path(done.output_key)
    info = probe_media(video)
    assert info.frame_count == 12 * FPS
    assert info.audio_codec == "aac" and info.audio_duration_seconds is not None
    assert info.duration_seconds is not None
    assert abs(info.audio_duration_seconds - 12.0) <= 1 / FPS
    assert done.output_audio_seconds == pytest.approx(info.audio_duration_seconds)
    assert is_faststart(video)
    report = read_provenance(video, trust)
    assert report.valid and report.ai_generated and report.signer == "operator"
    assert report.ingredients == ("segment 1 of 3", "segment 2 of 3", "segment 3 of 3")
    assert done.provenance == report.as_dict()
    # Every signer, the operator's and each segment's, judged by the job's trust lists.
    assert [(s["title"], s["trusted"], s["issuer"]) for s in done.provenance["signers"]] == [
        (None, True, ISSUER),
        *((f"segment {k} of 3", True, ISSUER) for k in (1, 2, 3)),
    ]
    assert done.preview_key == f"jobs/{done.id}/preview.webp"  # made as it was stored
    preview = harness.path(done.preview_key).read_bytes()
    assert preview[:4] == b"RIFF" and preview[8:12] == b"WEBP"
