"""Credits, refunds, tier limits and usage by day and model, as /v1/organization reports them."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import runwayml
from runwayml import RunwayML

from vidgate.emulator.server import EmulatorServer
from vidgate.emulator.testing import data_uri, still_image, video_clip, wait_for_task


def _usage(client: RunwayML) -> dict[str, int]:
    today = datetime.now(UTC).date()
    usage = client.organization.retrieve_usage(
        start_date=today - timedelta(days=1), before_date=today + timedelta(days=1)
    )
    spent: dict[str, int] = {}
    for day in usage.results:
        for item in day.used_credits:
            spent[item.model] = spent.get(item.model, 0) + item.amount
    return spent


def test_balance_falls_by_cost_and_cancelling_a_waiting_task_refunds_it(
    client: RunwayML, emulator: EmulatorServer
) -> None:
    emulator.control(concurrency={"gen4.5": 1}, taskSeconds=30, creditBalance=1000)
    running = client.text_to_video.create(
        model="gen4.5", prompt_text="One", ratio="1280:720", duration=10
    )
    waiting = client.text_to_video.create(
        model="gen4.5", prompt_text="Two", ratio="1280:720", duration=5
    )
    assert client.tasks.retrieve(waiting.id).status == "THROTTLED"
    assert client.organization.retrieve().credit_balance == 1000 - 120 - 60

    client.tasks.delete(waiting.id)  # THROTTLED: refunded
    assert client.organization.retrieve().credit_balance == 1000 - 120
    while client.tasks.retrieve(running.id).status == "PENDING":
        time.sleep(0.02)
    client.tasks.delete(running.id)  # RUNNING: no refund
    assert client.organization.retrieve().credit_balance == 1000 - 120

    emulator.control(taskSeconds=0.2)
    veo = client.text_to_video.create(
        model="veo3.1_fast", prompt_text="Three", ratio="1280:720", duration=4
    )
    assert wait_for_task(client, veo.id).cost.credits == 60  # type: ignore[union-attr]
    assert client.organization.retrieve().credit_balance == 1000 - 120 - 60
    assert _usage(client) == {"gen4.5": 120, "veo3.1_fast": 60}


def test_not_enough_credits_is_a_bad_request(client: RunwayML, emulator: EmulatorServer) -> None:
    emulator.control(creditBalance=10)
    with pytest.raises(runwayml.BadRequestError, match="enough credits"):
        client.text_to_video.create(model="gen4.5", prompt_text="X", ratio="1280:720", duration=2)
    assert emulator.stats()["tasksCreated"]["total"] == 0


def test_models_without_a_known_price_use_the_synthetic_rate(
    client: RunwayML, emulator: EmulatorServer
) -> None:
    emulator.control(syntheticCreditsPerSecond=3)
    video = data_uri(video_clip(160, 120, 2.0), "video/mp4")
    created = client.video_to_video.create(model="aleph2", video_uri=video)
    assert created.estimated_cost is not None
    assert created.estimated_cost.credits == 6  # 3 synthetic credits/s x the 2 s input
    assert wait_for_task(client, created.id).cost.credits == 6  # type: ignore[union-attr]


def test_organization_shape_tier_limits_and_daily_generations(
    client: RunwayML, emulator: EmulatorServer
) -> None:
    emulator.control(concurrency={"veo3.1": 1, "act_two": None}, defaultDailyLimit=50)
    image = data_uri(still_image(64, 64), "image/png")
    client.image_to_video.create(model="gen4_turbo", prompt_image=image, ratio="960:960")
    org = client.organization.retrieve()
    assert org.credit_balance == 1_000_000 - 50  # gen4_turbo: 5 credits/s, 10 s billed up front
    assert org.tier.max_monthly_credit_spend == 200_000
    assert org.tier.models["veo3.1"].max_concurrent_generations == 1
    assert org.tier.models["act_two"].max_concurrent_generations is None
    assert org.tier.models["gen4.5"].max_concurrent_generations == 5
    assert org.tier.models["gen4.5"].max_daily_generations == 50
    assert org.usage.models["gen4_turbo"].daily_generations == 1
    assert org.usage.models["gen4.5"].daily_generations == 0


def test_usage_dates_are_checked(emulator: EmulatorServer) -> None:
    headers = {"Authorization": "Bearer key_x", "X-Runway-Version": "2024-11-06"}
    url = f"{emulator.base_url}/v1/organization/usage"
    bad = httpx.post(url, json={"startDate": "yesterday"}, headers=headers)
    assert bad.status_code == 400
    assert bad.json() == {"error": "startDate: must be a date YYYY-MM-DD, got 'yesterday'"}
    too_long = httpx.post(
        url, json={"startDate": "2025-01-01", "beforeDate": "2025-06-01"}, headers=headers
    )
    assert too_long.json() == {"error": "beforeDate: must be at most 90 days after startDate"}
    empty = httpx.post(url, json={}, headers=headers)
    assert empty.json() == {"models": [], "results": []}
