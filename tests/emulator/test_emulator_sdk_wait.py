"""The SDKs' own ``wait_for_task_output`` (sync and async) against the emulator.

The SDK sleeps 4.5-7.5 s before each poll, so each test runs its tasks side by side and pays
that wait once.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import pytest
from runwayml import AsyncRunwayML, RunwayML, TaskFailedError

from vidgate.emulator.server import EmulatorServer
from vidgate.emulator.testing import data_uri, download, still_image, video_clip
from vidgate.media.probe import probe_media


def test_sync_wait_returns_the_task_or_raises_task_failed_with_the_code(
    client: RunwayML, emulator: EmulatorServer
) -> None:
    emulator.control(failRate=1, failureCode="SAFETY.INPUT.TEXT")
    failing = client.text_to_video.create(
        model="veo3.1_fast", prompt_text="Something unsafe", ratio="1280:720", duration=4
    )
    emulator.control(failRate=0)
    upload = client.uploads.create_ephemeral(file=("still.png", still_image(320, 240)))
    working = client.image_to_video.create(
        model="gen4.5", prompt_image=upload.uri, prompt_text="Clouds", ratio="1280:720", duration=2
    )

    with ThreadPoolExecutor(2) as pool:
        succeeded = pool.submit(working.wait_for_task_output, timeout=30)
        failed = pool.submit(failing.wait_for_task_output, timeout=30)
        task = succeeded.result()
        with pytest.raises(TaskFailedError) as raised:
            failed.result()

    assert task.status == "SUCCEEDED"
    info = probe_media(download(task.output[0]))
    assert (info.width, info.height, info.duration_seconds) == (1280, 720, 2.0)
    details = raised.value.task_details
    assert details.status == "FAILED"
    assert details.failure_code == "SAFETY.INPUT.TEXT"  # type: ignore[union-attr]
    assert "moderation" in details.failure  # type: ignore[union-attr]


async def test_async_client_runs_every_endpoint_and_raises_on_failed_and_cancelled(
    async_client: AsyncRunwayML, emulator: EmulatorServer
) -> None:
    image = await async_client.uploads.create_ephemeral(file=("still.png", still_image(240, 240)))
    clip = await async_client.uploads.create_ephemeral(file=("clip.mp4", video_clip(160, 120, 3)))
    t2v = await async_client.text_to_video.create(
        model="gen4.5", prompt_text="A paper boat", ratio="1280:720", duration=2
    )
    i2v = await async_client.image_to_video.create(
        model="seedance2", prompt_image=image.uri, ratio="640:640", duration=4
    )
    v2v = await async_client.video_to_video.create(
        model="aleph2", video_uri=data_uri(video_clip(320, 240, 1.0), "video/mp4")
    )
    act = await async_client.character_performance.create(
        model="act_two",
        character={"type": "image", "uri": image.uri},
        reference={"type": "video", "uri": clip.uri},
    )
    emulator.control(throttleSeconds=60)  # these two wait long enough to be ended by hand
    doomed = await async_client.text_to_video.create(
        model="veo3.1", prompt_text="A storm", ratio="1280:720", duration=4
    )
    cancelled = await async_client.text_to_video.create(
        model="veo3.1", prompt_text="A calm sea", ratio="1280:720", duration=4
    )
    emulator.force(doomed.id, "fail", failure_code="INTERNAL.BAD_OUTPUT.CODE01")
    emulator.force(cancelled.id, "cancel")

    waits = [t.wait_for_task_output(timeout=30) for t in (t2v, i2v, v2v, act, doomed, cancelled)]
    results = await asyncio.gather(*waits, return_exceptions=True)

    shapes = []
    for result in results[:4]:
        assert not isinstance(result, BaseException), result
        assert result.status == "SUCCEEDED"
        info = probe_media(download(result.output[0]))  # type: ignore[union-attr]
        shapes.append((info.width, info.height, info.duration_seconds))
    assert shapes == [(1280, 720, 2.0), (640, 640, 4.0), (320, 240, 1.0), (240, 240, 3.0)]
    failed, gone = results[4], results[5]
    assert isinstance(failed, TaskFailedError)
    assert failed.task_details.failure_code == "INTERNAL.BAD_OUTPUT.CODE01"  # type: ignore[union-attr]
    assert isinstance(gone, TaskFailedError)
    assert gone.task_details.status == "CANCELLED"
