"""``POST /v1/generations`` with ``endpoint: "chain"``: the 422 names every bad field; a good chain
is stored with the whole chain's estimate and runs to one video."""

from __future__ import annotations

from api_helpers import Api


async def test_chain_problems_are_named_by_path(api: Api) -> None:
    response = await api.post(
        "/v1/generations",
        json={
            "endpoint": "chain",
            "model": "gen4.5",
            "promptTexts": ["a lighthouse", "", "waves"],
            "duration": 30,
            "ratio": "960:960",
            "seed": -1,
            "colour": "red",
        },
    )
    assert response.status_code == 422, response.text
    problems = {f["path"]: f["message"] for f in response.json()["error"]["fields"]}
    assert set(problems) == {"colour", "ratio", "seed", "promptTexts[1]"}
    assert "1280:720" in problems["ratio"]  # text to video's ratios: the first segment's


async def test_chain_length_model_and_prompt_count(api: Api) -> None:
    too_long = await api.post(
        "/v1/generations",
        json={"endpoint": "chain", "model": "gen4.5", "promptText": "x", "duration": 900},
    )
    assert too_long.status_code == 422
    paths = {f["path"] for f in too_long.json()["error"]["fields"]}
    assert paths == {"duration", "ratio"}

    wrong_model = await api.post(
        "/v1/generations",
        json={"endpoint": "chain", "model": "act_two", "promptText": "x", "duration": 20},
    )
    assert wrong_model.status_code == 422
    assert [f["path"] for f in wrong_model.json()["error"]["fields"]] == ["model"]

    prompts = await api.post(
        "/v1/generations",
        json={
            "endpoint": "chain",
            "model": "gen4.5",
            "promptTexts": ["one", "two"],
            "duration": 30,
            "ratio": "1280:720",
            "segmentDurations": [10, 10, 11],
        },
    )
    assert prompts.status_code == 422
    assert {f["path"] for f in prompts.json()["error"]["fields"]} == {"segmentDurations[2]"}


async def test_chain_is_accepted_estimated_and_joined(api: Api) -> None:
    response = await api.post(
        "/v1/generations",
        json={
            "endpoint": "chain",
            "model": "gen4.5",
            "promptText": "a lighthouse at dusk",
            "duration": 5,
            "ratio": "1280:720",
            "segmentDurations": [3, 2],
        },
    )
    assert response.status_code == 202, response.text
    job = response.json()
    assert job["endpoint"] == "chain"
    assert job["estimatedCredits"] == 60  # 12 credits/s x (3 + 2) s: the whole chain
    assert job["request"]["segmentDurations"] == [3, 2]
    done = await api.wait_done(job["id"])
    assert done["status"] == "succeeded", done
    assert done["costCredits"] == 60
    assert abs(done["output"]["durationSeconds"] - 5.0) <= 1 / 24
    video = await api.get(done["links"]["video"])
    assert video.status_code == 200 and video.headers["content-type"] == "video/mp4"
    # The segments are ordinary jobs that name their chain and their place in it.
    listed = (await api.get("/v1/generations", params={"limit": 10})).json()["data"]
    segments = sorted(
        (j for j in listed if j["parentId"] == job["id"]), key=lambda j: j["segmentIndex"]
    )
    assert [(s["segmentIndex"], s["status"]) for s in segments] == [
        (0, "succeeded"),
        (1, "succeeded"),
    ]
    assert [s["request"]["duration"] for s in segments] == [3, 2]
    assert done["parentId"] is None
