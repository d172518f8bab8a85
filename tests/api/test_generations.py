"""Submitting, reading, listing, cancelling and downloading generations, against the emulator."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from api_helpers import T2V, Api, ApiFactory

from vidgate.media.probe import probe_media


async def test_submit_wait_and_download(api: Api, tmp_path: Path) -> None:
    response = await api.post("/v1/generations", json=T2V)
    assert response.status_code == 202, response.text
    job = response.json()
    assert job["status"] == "queued"
    assert job["model"] == "gen4.5" and job["endpoint"] == "text_to_video"
    assert job["estimatedCredits"] == 24  # 12 credits/s x 2 s
    assert job["links"] == {
        "self": f"/v1/generations/{job['id']}",
        "video": None,
        "poster": None,
        "preview": None,
    }
    assert response.headers["location"] == job["links"]["self"]

    done = await api.wait_done(job["id"])
    assert done["status"] == "succeeded", done
    assert done["progress"] == 1.0
    video_url = done["links"]["video"]
    assert video_url == f"/v1/generations/{job['id']}/video"
    assert done["output"]["bytes"] > 0 and done["output"]["width"] == 1280
    # Never the provider's signed URLs (the credentials' issuer may say "emulator", a URL never).
    assert "/_emulator/" not in str(done) and "signature=" not in str(done)

    whole = await api.get(video_url)
    assert whole.status_code == 200
    assert whole.headers["content-type"] == "video/mp4"
    assert whole.headers["accept-ranges"] == "bytes"
    assert int(whole.headers["content-length"]) == len(whole.content) == done["output"]["bytes"]
    path = tmp_path / "out.mp4"
    path.write_bytes(whole.content)
    info = probe_media(path)
    assert info.kind == "video" and info.width == 1280 and info.height == 720

    part = await api.get(video_url, headers={"Range": "bytes=100-199"})
    assert part.status_code == 206
    assert part.headers["content-range"] == f"bytes 100-199/{len(whole.content)}"
    assert part.content == whole.content[100:200]

    tail = await api.get(video_url, headers={"Range": "bytes=-50"})
    assert tail.status_code == 206 and tail.content == whole.content[-50:]
    open_ended = await api.get(video_url, headers={"Range": f"bytes={len(whole.content) - 10}-"})
    assert open_ended.status_code == 206 and open_ended.content == whole.content[-10:]

    beyond = await api.get(video_url, headers={"Range": f"bytes={len(whole.content)}-"})
    assert beyond.status_code == 416
    assert beyond.headers["content-range"] == f"bytes */{len(whole.content)}"
    assert beyond.json()["error"]["code"] == "range_not_satisfiable"

    ignored = await api.get(video_url, headers={"Range": "bytes=0-1,5-9"})  # multi-range: ignored
    assert ignored.status_code == 200 and ignored.content == whole.content

    stale = await api.get(video_url, headers={"Range": "bytes=0-9", "If-Range": '"other"'})
    assert stale.status_code == 200

    poster = await api.get(done["links"]["poster"])
    assert poster.status_code == 200
    assert poster.headers["content-type"] == "image/jpeg"
    assert poster.content[:3] == b"\xff\xd8\xff"


async def test_video_of_an_unfinished_job_is_404(api_factory: ApiFactory) -> None:
    api = await api_factory(worker=False)
    job = (await api.post("/v1/generations", json=T2V)).json()
    response = await api.get(f"/v1/generations/{job['id']}/video")
    assert response.status_code == 404
    assert "queued" in response.json()["error"]["message"]


async def test_wait_holds_the_answer_without_blocking_others(api: Api) -> None:
    await api.emulator(taskSeconds=1.5)
    waiting = asyncio.create_task(api.post("/v1/generations", params={"wait": 20}, json=T2V))
    await asyncio.sleep(0.3)
    quick = await api.get("/healthz")
    assert quick.status_code == 200
    assert not waiting.done()  # answered while the other request still waits
    response = await waiting
    assert response.status_code == 200  # the job ended within the wait: a final answer
    assert response.json()["status"] == "succeeded"


async def test_wait_gives_up_after_the_wait(api_factory: ApiFactory) -> None:
    api = await api_factory(worker=False)
    started = time.monotonic()
    response = await api.post("/v1/generations", params={"wait": 0.5}, json=T2V)
    assert response.status_code == 202
    assert response.json()["status"] == "queued"
    assert time.monotonic() - started >= 0.5  # it waited the whole wait, then answered
    too_long = await api.post("/v1/generations", params={"wait": 61}, json=T2V)
    assert too_long.status_code == 422
    assert too_long.json()["error"]["fields"][0]["path"] == "wait"


async def test_idempotency_key(api_factory: ApiFactory) -> None:
    api = await api_factory(worker=False)
    headers = {"Idempotency-Key": "abc-123"}
    first = await api.post("/v1/generations", json=T2V, headers=headers)
    again = await api.post("/v1/generations", json=T2V, headers=headers)
    assert first.status_code == 202 and again.status_code == 200
    assert first.json()["id"] == again.json()["id"]
    assert again.headers["idempotent-replayed"] == "true"
    other = await api.post("/v1/generations", json={**T2V, "duration": 3}, headers=headers)
    assert other.status_code == 409
    plain = await api.post("/v1/generations", json=T2V)
    assert plain.json()["id"] != first.json()["id"]


async def test_list_filters_and_pages(api_factory: ApiFactory) -> None:
    api = await api_factory(worker=False)
    ids = []
    for n in range(5):
        body = {**T2V, "promptText": f"clip {n}"}
        if n == 4:
            body = {**body, "model": "veo3.1_fast", "duration": 4}
        ids.append((await api.post("/v1/generations", json=body)).json()["id"])
    page = (await api.get("/v1/generations", params={"limit": 2})).json()
    assert [j["id"] for j in page["data"]] == [ids[4], ids[3]]
    seen = [j["id"] for j in page["data"]]
    while page["nextCursor"]:
        page = (
            await api.get("/v1/generations", params={"limit": 2, "cursor": page["nextCursor"]})
        ).json()
        seen += [j["id"] for j in page["data"]]
    assert seen == list(reversed(ids))
    veo = (await api.get("/v1/generations", params={"model": "veo3.1_fast"})).json()
    assert [j["id"] for j in veo["data"]] == [ids[4]]
    queued = (await api.get("/v1/generations", params={"status": "queued"})).json()
    assert len(queued["data"]) == 5
    none = (await api.get("/v1/generations", params={"status": "succeeded"})).json()
    assert none == {"data": [], "nextCursor": None}
    bad = await api.get("/v1/generations", params={"status": "sleeping"})
    assert bad.status_code == 422


async def test_cancel(api_factory: ApiFactory) -> None:
    api = await api_factory(worker=False)
    job = (await api.post("/v1/generations", json=T2V)).json()
    response = await api.delete(f"/v1/generations/{job['id']}")
    assert response.status_code == 202
    assert response.json()["status"] == "cancelled"
    again = await api.delete(f"/v1/generations/{job['id']}")
    assert again.status_code == 202 and again.json()["status"] == "cancelled"
    assert (await api.delete("/v1/generations/01HZZZZZZZZZZZZZZZZZZZZZZZ")).status_code == 404


async def test_cancel_a_running_job(api: Api) -> None:
    await api.emulator(taskSeconds=30)
    job = (await api.post("/v1/generations", json=T2V)).json()
    for _ in range(100):
        current = (await api.get(f"/v1/generations/{job['id']}")).json()
        if current["status"] == "running":
            break
        await asyncio.sleep(0.05)
    response = await api.delete(f"/v1/generations/{job['id']}")
    assert response.status_code == 202
    assert response.json()["cancelRequested"] is True
    done = await api.wait_done(job["id"])
    assert done["status"] == "cancelled"


async def test_models_estimate_recommend(api: Api) -> None:
    models = (await api.get("/v1/models")).json()["data"]
    ids = {m["id"] for m in models}
    assert {"gen4.5", "veo3.1", "seedance2", "act_two"} <= ids
    current = (await api.get("/v1/models", params={"includeLegacy": "false"})).json()["data"]
    assert all(not m["legacy"] for m in current)
    gen45 = (await api.get("/v1/models/gen4.5")).json()
    t2v = gen45["endpoints"]["text_to_video"]
    assert t2v["ratios"] == ["1280:720", "720:1280"]
    assert t2v["durations"] == list(range(2, 11))
    assert t2v["fields"]["promptText"]["required"] is True
    seedance = (await api.get("/v1/models/seedance2")).json()
    video = seedance["endpoints"]["video_to_video"]["fields"]["promptVideo"]
    assert video["maxSeconds"] == 15 and video["minHeight"] == 720

    estimate = await api.post("/v1/estimate", json={"model": "gen4.5", "duration": 5})
    assert estimate.status_code == 200
    assert estimate.json()["low"] == 60 and estimate.json()["known"] is True
    unknown = await api.post("/v1/estimate", json={"model": "gen9"})
    assert unknown.status_code == 422 and unknown.json()["error"]["fields"][0]["path"] == "model"
    # A whole body: checked as a create checks it, and priced as the job reserves.
    refused = await api.post(
        "/v1/estimate",
        json={"endpoint": "text_to_video", "model": "veo3.1", "ratio": "1280:720", "duration": 5},
    )
    assert refused.status_code == 422
    assert refused.json()["error"]["fields"][0]["path"] == "duration"
    chain = {"endpoint": "chain", "model": "gen4.5", "duration": 2.5, "promptText": "a boat"}
    chain["ratio"] = "1280:720"
    priced = await api.post("/v1/estimate", json=chain)
    assert priced.status_code == 200, priced.text
    created = await api.post("/v1/generations", json=chain)
    assert created.status_code == 202, created.text
    assert priced.json()["high"] == created.json()["estimatedCredits"] == 36

    rec = await api.post("/v1/recommend", json={"useCase": "video", "priority": "quality"})
    assert rec.status_code == 200
    assert rec.json()["endpoint"] == "video_to_video"


async def test_health_ready_metrics(api: Api) -> None:
    health = (await api.get("/healthz")).json()
    assert health["mode"] == "emulator"
    assert health["auth"] == "off" and health["worker"] is True
    ready = (await api.get("/readyz")).json()
    assert ready == {"status": "ready", "database": "ok", "provider": "ok"}
    await api.post("/v1/generations", json=T2V)
    metrics = await api.get("/metrics")
    assert metrics.status_code == 200
    assert metrics.headers["content-type"].startswith("text/plain")
    text = metrics.text
    assert "vidgate_jobs{status=" in text
    assert "vidgate_provider_polls_total" in text
    assert "vidgate_stored_bytes" in text
    assert "vidgate_credits_estimated_total 24.0" in text
    assert 'vidgate_http_requests_total{method="POST",route="/v1/generations",status="202"}' in text
    timed = 'vidgate_http_request_duration_seconds_count{method="POST",route="/v1/generations"} 1.0'
    assert timed in text
