"""Fault knobs produce what the SDK sees from the real service, and limits behave like Runway's."""

from __future__ import annotations

import time

import httpx
import pytest
import runwayml
from runwayml import RunwayML

from vidgate.emulator.server import EmulatorServer
from vidgate.emulator.testing import download, wait_for_task
from vidgate.errors import MediaRejected
from vidgate.media.probe import probe_media


def _t2v(client: RunwayML, prompt: str = "A quiet street") -> str:
    task = client.text_to_video.create(
        model="gen4.5", prompt_text=prompt, ratio="1280:720", duration=2
    )
    return task.id


def test_429s_are_retried_by_the_sdk_then_raise_rate_limit_error(
    client: RunwayML, emulator: EmulatorServer
) -> None:
    emulator.control(http429Rate=1)
    with pytest.raises(runwayml.RateLimitError) as raised:
        client.organization.retrieve()
    assert raised.value.status_code == 429
    assert raised.value.response.headers["x-vidgate-emulator"] == "1"
    stats = emulator.stats()
    assert stats["faults"]["http429"] == 3  # the first try and the SDK's two retries
    assert stats["retriedRequests"] == 2
    assert stats["responsesByStatus"] == {"429": 3}


def test_5xx_are_retried_by_the_sdk_then_raise_internal_server_error(
    client: RunwayML, emulator: EmulatorServer
) -> None:
    emulator.control(http5xxRate=1)
    with pytest.raises(runwayml.InternalServerError):
        client.tasks.retrieve("00000000-0000-0000-0000-000000000000")
    stats = emulator.stats()
    assert stats["faults"]["http5xx"] == 3
    assert stats["retriedRequests"] == 2
    assert stats["taskGets"] == 0  # a faulted request never reaches the API


def test_dropped_connections_raise_api_connection_error_after_retries(
    client: RunwayML, emulator: EmulatorServer
) -> None:
    emulator.control(dropConnectionRate=1)
    with pytest.raises(runwayml.APIConnectionError):
        client.organization.retrieve()
    stats = emulator.stats()
    assert stats["faults"]["droppedConnections"] == 3
    assert stats["retriedRequests"] == 2


def test_a_fault_storm_that_passes_is_absorbed_by_the_sdk_retries(
    client: RunwayML, emulator: EmulatorServer
) -> None:
    emulator.control(http5xxRate=0.4, seed=3)  # seeded: 4 faults, never 3 in a row
    for _ in range(4):
        assert client.organization.retrieve().credit_balance == 1_000_000
    stats = emulator.stats()
    assert stats["faults"]["http5xx"] > 0
    assert stats["retriedRequests"] == stats["faults"]["http5xx"]


@pytest.mark.parametrize(
    ("code", "text"),
    [
        ("SAFETY.INPUT.TEXT", "prompt text did not pass content moderation"),
        ("INTERNAL.BAD_OUTPUT.CODE01", "quality check"),
        ("INPUT_PREPROCESSING.SAFETY.TEXT", "rejected by input moderation"),
    ],
)
def test_fail_rate_makes_tasks_fail_with_the_code_and_matching_text(
    client: RunwayML, emulator: EmulatorServer, code: str, text: str
) -> None:
    emulator.control(failRate=1, failureCode=code)
    task = wait_for_task(client, _t2v(client))
    assert task.status == "FAILED"
    assert task.failure_code == code  # type: ignore[union-attr]
    assert text in task.failure  # type: ignore[union-attr]
    assert task.cost.credits == 0  # type: ignore[union-attr]  # failed tasks are refunded


def test_invalid_input_raises_bad_request_naming_the_field(client: RunwayML) -> None:
    with pytest.raises(runwayml.BadRequestError) as raised:
        client.text_to_video.create(
            model="veo3.1", prompt_text="A fox", ratio="1280:720", duration=5
        )
    assert raised.value.status_code == 400
    assert raised.value.body == {"error": "duration: veo3.1 accepts 4, 6 or 8, got 5"}

    with pytest.raises(runwayml.BadRequestError) as raised:
        client.image_to_video.create(model="gen4.5", prompt_image="ftp://x/y.png", ratio="1:1")
    message = raised.value.body["error"]  # type: ignore[index]
    for field in ("promptImage", "ratio", "promptText", "duration"):
        assert f"{field}:" in message

    with pytest.raises(runwayml.BadRequestError, match="model: unknown model 'gen9'"):
        client.post("/v1/text_to_video", body={"model": "gen9"}, cast_to=dict[str, str])


def test_daily_limit_answers_429_with_retry_after(
    client: RunwayML, emulator: EmulatorServer
) -> None:
    emulator.control(dailyLimit={"gen4.5": 1})
    _t2v(client)
    with pytest.raises(runwayml.RateLimitError) as raised:
        client.with_options(max_retries=0).text_to_video.create(
            model="gen4.5", prompt_text="Once more", ratio="1280:720", duration=2
        )
    retry_after = int(raised.value.response.headers["retry-after"])
    assert 86_000 < retry_after <= 86_400  # a rolling 24 h window from the first task
    assert "daily generation limit" in raised.value.body["error"]  # type: ignore[index]
    # other models keep their own limits
    client.text_to_video.create(model="veo3.1", prompt_text="Fine", ratio="1280:720", duration=4)
    org = client.organization.retrieve()
    assert org.tier.models["gen4.5"].max_daily_generations == 1
    assert org.usage.models["gen4.5"].daily_generations == 1
    assert emulator.stats()["tasksCreated"]["byModel"] == {"gen4.5": 1, "veo3.1": 1}


def test_concurrency_one_throttles_the_second_task_until_the_first_ends(
    client: RunwayML, emulator: EmulatorServer
) -> None:
    emulator.control(concurrency={"gen4.5": 1})
    first, second, third = (_t2v(client, f"Clip {n}") for n in range(3))
    assert client.tasks.retrieve(second).status == "THROTTLED"  # the SDK parses it
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        snapshot = emulator.tasks()  # one consistent view of all three
        live = [t for t in snapshot if t["status"] in ("PENDING", "RUNNING")]
        assert len(live) <= 1, snapshot  # never two at once
        if all(t["status"] == "SUCCEEDED" for t in snapshot):
            break
        time.sleep(0.02)
    tasks = {t["id"]: t for t in emulator.tasks()}
    # each started the instant the one before it ended, in submission order
    assert tasks[second]["startedAt"] == tasks[first]["endedAt"]
    assert tasks[third]["startedAt"] == tasks[second]["endedAt"]
    assert all(client.tasks.retrieve(t).status == "SUCCEEDED" for t in (first, second, third))


def test_expired_output_url_is_refused_and_a_fresh_get_signs_a_new_one(
    client: RunwayML, emulator: EmulatorServer
) -> None:
    emulator.control(outputTtlSeconds=1)
    task = wait_for_task(client, _t2v(client))
    url = task.output[0]  # type: ignore[union-attr]
    assert httpx.get(url).status_code == 200
    time.sleep(1.05)
    expired = httpx.get(url)
    assert expired.status_code == 403
    assert expired.json() == {"error": "Request has expired"}
    tampered = url.replace("signature=", "signature=0")
    assert httpx.get(tampered).status_code == 403
    fresh = client.tasks.retrieve(task.id).output[0]  # type: ignore[union-attr]
    assert fresh != url
    assert probe_media(download(fresh)).duration_seconds == 2.0


def test_truncated_download_is_detectably_short(client: RunwayML, emulator: EmulatorServer) -> None:
    task = wait_for_task(client, _t2v(client))
    url = task.output[0]  # type: ignore[union-attr]
    whole = download(url)
    emulator.control(truncateDownloads=True)
    received = bytearray()
    with pytest.raises(httpx.RemoteProtocolError), httpx.stream("GET", url) as response:
        assert int(response.headers["content-length"]) == len(whole)
        for chunk in response.iter_raw():
            received += chunk
    assert 0 < len(received) < len(whole)
    with pytest.raises(MediaRejected):
        probe_media(bytes(received))
    assert emulator.stats()["faults"]["truncatedDownloads"] == 1


def test_download_rate_limit_and_ranges(client: RunwayML, emulator: EmulatorServer) -> None:
    task = wait_for_task(client, _t2v(client))
    url = task.output[0]  # type: ignore[union-attr]
    whole = download(url)

    part = httpx.get(url, headers={"Range": "bytes=100-199"})
    assert part.status_code == 206
    assert part.headers["content-range"] == f"bytes 100-199/{len(whole)}"
    assert part.content == whole[100:200]
    tail = httpx.get(url, headers={"Range": "bytes=-10"})
    assert tail.content == whole[-10:]
    assert httpx.get(url, headers={"Range": f"bytes={len(whole)}-"}).status_code == 416
    head = httpx.head(url)
    assert head.headers["content-length"] == str(len(whole))
    assert head.headers["accept-ranges"] == "bytes"

    rate = len(whole) / 0.4
    emulator.control(downloadBytesPerSecond=rate)
    started = time.monotonic()
    assert download(url) == whole
    assert time.monotonic() - started >= 0.3  # paced; a lower bound only, never flaky
