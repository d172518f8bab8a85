"""The wire format: auth, version header, errors, task lifecycle, deletes, uploads, control."""

from __future__ import annotations

import re
import time
from typing import Any

import httpx
import pytest
import runwayml
from runwayml import RunwayML

from vidgate.emulator.app import CONTROL_TOKEN_HEADER
from vidgate.emulator.server import EmulatorServer
from vidgate.emulator.testing import data_uri, download, still_image, wait_for_task
from vidgate.media.probe import probe_media

API_KEY = "key_" + "ab" * 64
HEADERS = {"Authorization": f"Bearer {API_KEY}", "X-Runway-Version": "2024-11-06"}
T2V = {"model": "gen4.5", "promptText": "A kite", "ratio": "1280:720", "duration": 2}


def _post(emulator: EmulatorServer, path: str, body: Any, **headers: str) -> httpx.Response:
    return httpx.post(f"{emulator.base_url}{path}", json=body, headers={**HEADERS, **headers})


def test_auth_and_version_headers(emulator: EmulatorServer) -> None:
    url = f"{emulator.base_url}/v1/organization"
    missing = httpx.get(url, headers={"X-Runway-Version": "2024-11-06"})
    assert missing.status_code == 401
    assert missing.json()["error"].startswith("Missing API key")
    basic = httpx.get(url, headers={"Authorization": "Basic abc", "X-Runway-Version": "2024-11-06"})
    assert basic.status_code == 401
    no_version = httpx.get(url, headers={"Authorization": HEADERS["Authorization"]})
    assert no_version.status_code == 400
    assert no_version.json() == {"error": "X-Runway-Version: required; send 2024-11-06"}
    old = httpx.get(url, headers={**HEADERS, "X-Runway-Version": "2023-01-01"})
    assert old.status_code == 400
    assert "X-Runway-Version" in old.json()["error"]
    extra = {"X-Stainless-Lang": "python", "X-Something-Else": "1", "Content-Type": "text/x"}
    fine = httpx.get(url, headers={**HEADERS, **extra})
    assert fine.status_code == 200
    for response in (missing, basic, no_version, old, fine):
        assert response.headers["x-vidgate-emulator"] == "1"
        assert response.headers["content-type"] == "application/json"


def test_sdk_raises_authentication_error_for_a_wrong_key(emulator: EmulatorServer) -> None:
    emulator.control(apiKey=API_KEY)
    with (
        RunwayML(api_key="key_wrong", base_url=emulator.base_url) as wrong,
        pytest.raises(runwayml.AuthenticationError),
    ):
        wrong.organization.retrieve()
    with RunwayML(api_key=API_KEY, base_url=emulator.base_url) as right:
        assert right.organization.retrieve().credit_balance == 1_000_000


def test_every_response_is_marked_as_the_emulator(
    client: RunwayML, emulator: EmulatorServer
) -> None:
    created = _post(emulator, "/v1/text_to_video", T2V)
    task = wait_for_task(client, created.json()["id"])
    responses = [
        created,
        httpx.get(f"{emulator.base_url}/v1/tasks/{task.id}", headers=HEADERS),
        httpx.get(f"{emulator.base_url}/v1/nothing-here", headers=HEADERS),
        httpx.put(f"{emulator.base_url}/v1/organization", headers=HEADERS),
        httpx.get(task.output[0]),  # type: ignore[union-attr]
        httpx.get(f"{emulator.base_url}/_emulator/stats", headers=emulator.control_headers),
    ]
    assert [r.status_code for r in responses] == [200, 200, 404, 405, 200, 200]
    assert all(r.headers["x-vidgate-emulator"] == "1" for r in responses)
    assert responses[2].json() == {"error": "Not Found"}


def test_task_lifecycle_on_the_wire(emulator: EmulatorServer) -> None:
    emulator.control(taskSeconds=0.6, pendingSeconds=0.4)  # long enough to be seen
    created = _post(emulator, "/v1/text_to_video", T2V).json()
    assert re.fullmatch(r"[0-9a-f-]{36}", created["id"])
    assert created["estimatedCost"] == {"credits": 24}  # gen4.5: 12 credits/s x 2 s
    url = f"{emulator.base_url}/v1/tasks/{created['id']}"
    views = []
    while True:
        view = httpx.get(url, headers=HEADERS).json()
        views.append(view)
        if view["status"] in ("SUCCEEDED", "FAILED", "CANCELLED"):
            break
        time.sleep(0.02)
    statuses = [v["status"] for v in views]
    order = ["PENDING", "RUNNING", "SUCCEEDED"]
    assert sorted(set(statuses), key=order.index) == order
    assert statuses == sorted(statuses, key=order.index)
    progress = [v["progress"] for v in views if v["status"] == "RUNNING"]
    assert progress == sorted(progress) and progress[0] >= 0 and progress[-1] <= 1
    for view in views[:-1]:
        assert view["estimatedCost"] == {"credits": 24} and "cost" not in view
    final = views[-1]
    assert set(final) == {"id", "status", "createdAt", "cost", "output"}
    assert final["cost"] == {"credits": 24}
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", final["createdAt"])
    assert final["output"][0].startswith(f"{emulator.base_url}/_emulator/outputs/")


def test_delete_cancels_a_live_task_deletes_a_finished_one_and_both_are_gone(
    client: RunwayML, emulator: EmulatorServer
) -> None:
    emulator.control(taskSeconds=30)
    running = client.text_to_video.create(
        model="gen4.5", prompt_text="Long", ratio="1280:720", duration=2
    )
    emulator.control(taskSeconds=0.2)
    done = wait_for_task(
        client,
        client.text_to_video.create(
            model="gen4.5", prompt_text="Short", ratio="1280:720", duration=2
        ).id,
    )
    output = done.output[0]  # type: ignore[union-attr]
    assert download(output)

    for task_id in (running.id, done.id):
        assert client.tasks.delete(task_id) is None
        with pytest.raises(runwayml.NotFoundError):
            client.tasks.retrieve(task_id)
        with pytest.raises(runwayml.NotFoundError):
            client.tasks.delete(task_id)
    assert httpx.get(output).status_code == 404  # the output went with the task
    raw = httpx.delete(f"{emulator.base_url}/v1/tasks/{done.id}", headers=HEADERS)
    assert raw.status_code == 404
    stats = emulator.stats()
    assert stats["taskDeletes"] == 5
    assert stats["responsesByStatus"]["204"] == 2


def test_unknown_task_is_not_found(client: RunwayML) -> None:
    with pytest.raises(runwayml.NotFoundError) as raised:
        client.tasks.retrieve("9b0a4c52-5d9e-4b3e-9a7e-2f6d5c1e0a11")
    assert raised.value.body == {"error": "Task 9b0a4c52-5d9e-4b3e-9a7e-2f6d5c1e0a11 not found"}


def test_forced_outcomes_through_the_control_endpoint(
    client: RunwayML, emulator: EmulatorServer
) -> None:
    emulator.control(taskSeconds=30)
    ids = [
        client.text_to_video.create(
            model="gen4.5", prompt_text=f"Clip {n}", ratio="1280:720", duration=2
        ).id
        for n in range(3)
    ]
    failed = emulator.force(ids[0], "fail", failure_code="SAFETY.OUTPUT.VIDEO")
    assert failed["status"] == "FAILED"
    assert failed["failureCode"] == "SAFETY.OUTPUT.VIDEO"
    cancelled = emulator.force(ids[1], "cancel")
    assert cancelled["status"] == "CANCELLED"
    emulator.force(ids[2], "succeed")
    succeeded = wait_for_task(client, ids[2], timeout=5)
    assert succeeded.status == "SUCCEEDED"
    assert probe_duration(succeeded.output[0]) == 2.0  # type: ignore[union-attr]
    # the SDK parses every final shape
    assert client.tasks.retrieve(ids[1]).status == "CANCELLED"
    assert client.tasks.retrieve(ids[0]).status == "FAILED"


def probe_duration(url: str) -> float | None:
    return probe_media(download(url)).duration_seconds


def test_upload_slot_storage_form_and_runway_uri(
    client: RunwayML, emulator: EmulatorServer
) -> None:
    slot = _post(emulator, "/v1/uploads", {"filename": "dir/a.png", "type": "ephemeral"}).json()
    assert set(slot) == {"uploadUrl", "fields", "runwayUri"}
    assert slot["runwayUri"].startswith("runway://")
    body = {"model": "gen4_turbo", "promptImage": slot["runwayUri"], "ratio": "960:960"}
    not_yet = _post(emulator, "/v1/image_to_video", body)
    assert not_yet.status_code == 400
    assert not_yet.json()["error"].startswith("promptImage: unknown or expired runway:// URI")

    forged = {**slot["fields"], "x-amz-signature": "0" * 64}
    files = {"file": ("a.png", still_image(64, 64), "image/png")}
    refused = httpx.post(slot["uploadUrl"], data=forged, files=files)
    assert refused.status_code == 403
    stored = httpx.post(slot["uploadUrl"], data=slot["fields"], files=files)
    assert stored.status_code == 204
    assert stored.headers["x-vidgate-emulator"] == "1"
    assert _post(emulator, "/v1/image_to_video", body).status_code == 200

    bad = _post(emulator, "/v1/uploads", {"type": "permanent"})
    assert bad.status_code == 400
    assert bad.json()["error"] == (
        "filename: required, the name of the file to upload; type: must be 'ephemeral', "
        "got 'permanent'"
    )
    assert emulator.stats()["uploads"] == 1
    assert emulator.stats()["uploadFiles"] == 1


def test_invalid_json_and_non_object_bodies(emulator: EmulatorServer) -> None:
    response = httpx.post(
        f"{emulator.base_url}/v1/text_to_video", content=b"{nope", headers=HEADERS
    )
    assert response.status_code == 400
    assert response.json() == {"error": "body: not valid JSON"}
    listed = _post(emulator, "/v1/text_to_video", [1, 2])
    assert listed.status_code == 400


def test_control_config_stats_and_reset(client: RunwayML, emulator: EmulatorServer) -> None:
    config = emulator.control(taskSeconds=1.5, concurrency={"gen4.5": 2}, failure_code="INTERNAL")
    assert config["taskSeconds"] == 1.5
    assert config["concurrency"] == {"gen4.5": 2}
    assert config["failureCode"] == "INTERNAL"
    assert emulator.get_config() == config

    knobs = f"{emulator.base_url}/_emulator/config"
    token = emulator.control_headers
    bad = httpx.post(
        knobs, json={"failRate": 2, "nope": 1, "concurrency": {"gen9": 1}}, headers=token
    )
    assert bad.status_code == 400
    assert bad.json()["error"].startswith("nope: unknown knob")
    bad = httpx.post(knobs, json={"failRate": 2}, headers=token)
    assert bad.json() == {"error": "failRate: Input should be less than or equal to 1"}
    bad = httpx.post(knobs, json={"concurrency": {"gen9": 1}}, headers=token)
    assert bad.json()["error"] == "concurrency: unknown model 'gen9'"
    bad = httpx.post(knobs, json={"renderWorkers": 9}, headers=token)
    assert bad.json()["error"] == "renderWorkers: can only be set when the emulator starts"

    client.text_to_video.create(model="gen4.5", prompt_text="A", ratio="1280:720", duration=2)
    client.image_to_video.create(
        model="gen4_turbo", prompt_image=_png_uri(), ratio="960:960", duration=2
    )
    stats = emulator.stats()
    assert stats["tasksCreated"] == {
        "total": 2,
        "byModel": {"gen4.5": 1, "gen4_turbo": 1},
        "byEndpoint": {"text_to_video": 1, "image_to_video": 1},
    }
    emulator.reset()
    assert emulator.get_config()["taskSeconds"] == 0.3
    assert emulator.stats()["tasksCreated"]["total"] == 0
    assert emulator.tasks() == []


def _png_uri() -> str:
    return data_uri(still_image(64, 64), "image/png")


def test_the_control_endpoint_needs_the_token(emulator: EmulatorServer) -> None:
    base = f"{emulator.base_url}/_emulator"
    before = emulator.get_config()
    for wrong in ({}, {CONTROL_TOKEN_HEADER: "guess"}, {CONTROL_TOKEN_HEADER: ""}):
        calls = [
            httpx.post(f"{base}/reset", headers=wrong),
            httpx.post(f"{base}/config", json={"failRate": 1}, headers=wrong),
            httpx.get(f"{base}/config", headers=wrong),
            httpx.get(f"{base}/stats", headers=wrong),
            httpx.get(f"{base}/tasks", headers=wrong),
            httpx.post(f"{base}/tasks/x/fail", headers=wrong),
        ]
        assert [c.status_code for c in calls] == [401] * len(calls)
        assert CONTROL_TOKEN_HEADER in calls[0].json()["error"]
    assert emulator.get_config() == before  # nothing changed
    assert httpx.get(f"{base}/health").status_code == 200
    reset = httpx.post(f"{base}/reset", headers={CONTROL_TOKEN_HEADER: emulator.control_token})
    assert reset.status_code == 200
    other = EmulatorServer()  # another process's emulator draws its own token
    assert other.control_token != emulator.control_token
    other.stop()
