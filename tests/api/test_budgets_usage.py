"""Budgets and usage through the API: 50 concurrent requests against a budget that allows 10, on
SQLite and PostgreSQL; refusals that say what is left; GET /v1/usage by key, model and day, with the
organization's credit balance read from the emulator."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import runwayml
from api_helpers import T2V, Api, ApiFactory, bearer, make_settings

from vidgate.emulator.config import EmulatorConfig
from vidgate.jobs.status import FailureCode
from vidgate.tenancy.budgets import BudgetStore


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_override(request: pytest.FixtureRequest) -> dict[str, object]:
    if request.param == "postgresql":
        return {"database_url": request.getfixturevalue("postgres_url")}
    return {}


# The database comes first, so that the app is stopped before the database is dropped.
@pytest.fixture
async def served(
    database_override: dict[str, object], api_factory: ApiFactory, tmp_path: Path
) -> Api:
    settings = make_settings(tmp_path, provider_limits_refresh_seconds=0.05, **database_override)
    return await api_factory(settings)


async def budgeted_key(api: Api, daily: float | None, monthly: float | None = None) -> str:
    created = await api.keys.create_key("tenant")
    await BudgetStore(api.ctx.runtime.engine).set_budget(
        created.key.id, daily=daily, monthly=monthly
    )
    return created.token


async def test_fifty_concurrent_requests_against_a_budget_of_ten(served: Api) -> None:
    token = await budgeted_key(served, daily=240)  # gen4.5, 2 s: 24 credits each
    await served.emulator(taskSeconds=5.0)

    async def post(i: int) -> tuple[int, str]:
        body = {**T2V, "seed": i}
        response = await served.post(
            "/v1/generations",
            json=body,
            headers={**bearer(token), "Idempotency-Key": f"req-{i}"},
        )
        return response.status_code, response.text

    answers = await asyncio.gather(*(post(i) for i in range(50)))
    statuses = [status for status, _ in answers]
    assert statuses.count(202) == 10, statuses
    assert statuses.count(402) == 40
    refusal = next(text for status, text in answers if status == 402)
    assert '"code":"budget_exceeded"' in refusal
    assert "240 credits" in refusal and "0 left" in refusal and "needs up to 24" in refusal
    listed = await served.get("/v1/generations", params={"limit": 100}, headers=bearer(token))
    assert len(listed.json()["data"]) == 10


async def test_usage_by_key_model_and_day_with_the_balance(served: Api) -> None:
    first = await budgeted_key(served, daily=100, monthly=1000)
    second = (await served.keys.create_key("other")).token
    done = []
    for token, body in ((first, T2V), (first, T2V), (second, {**T2V, "duration": 3})):
        response = await served.post("/v1/generations", json=body, headers=bearer(token))
        assert response.status_code == 202, response.text
        done.append(await served.wait_done(response.json()["id"], bearer(token)))
    assert [j["status"] for j in done] == ["succeeded"] * 3
    assert [j["costCredits"] for j in done] == [24, 24, 36]
    # A request the budget cannot cover: 48 spent, 52 left, 60 needed.
    refused = await served.post(
        "/v1/generations", json={**T2V, "duration": 5}, headers=bearer(first)
    )
    assert refused.status_code == 402
    assert "48 spent, 0 reserved by unfinished jobs, 52 left" in refused.json()["error"]["message"]

    usage = (await served.get("/v1/usage", headers=bearer(first))).json()
    today = datetime.now(UTC).date().isoformat()
    assert usage["to"] == today and usage["from"] == today[:8] + "01"
    assert usage["jobs"] == 2 and usage["spentCredits"] == 48 and usage["reservedCredits"] == 0
    [row] = usage["data"]
    assert row["model"] == "gen4.5" and row["day"] == today and row["jobs"] == 2
    assert row["spentCredits"] == 48 and row["keyId"].startswith("ak_")
    day = usage["budget"]["day"]
    assert (day["limitCredits"], day["spentCredits"], day["leftCredits"]) == (100, 48, 52)
    assert usage["budget"]["month"]["leftCredits"] == 952
    organization = usage["organization"]
    start = EmulatorConfig().credit_balance
    assert organization["creditBalance"] == start - 84  # the emulator charged 24 + 24 + 36
    assert organization["models"]["gen4.5"]["dailyGenerations"] == 3
    assert organization["models"]["gen4.5"]["maxConcurrentGenerations"] == 5

    # The other key sees only its own spend and has no budget.
    other = (await served.get("/v1/usage", headers=bearer(second))).json()
    assert [(r["jobs"], r["spentCredits"]) for r in other["data"]] == [(1, 36)]
    assert other["budget"] is None

    # A range that ended yesterday holds nothing; a backwards range is refused by name.
    empty = await served.get(
        "/v1/usage", params={"from": "2020-01-01", "to": "2020-01-31"}, headers=bearer(first)
    )
    assert empty.json()["data"] == [] and empty.json()["spentCredits"] == 0
    backwards = await served.get(
        "/v1/usage", params={"from": "2020-02-01", "to": "2020-01-01"}, headers=bearer(first)
    )
    assert backwards.status_code == 422
    assert backwards.json()["error"]["fields"][0]["path"] == "to"


async def test_without_auth_the_operator_sees_every_job(api: Api) -> None:
    response = await api.post("/v1/generations", json=T2V)
    await api.wait_done(response.json()["id"])
    usage = (await api.get("/v1/usage")).json()
    assert [(r["keyId"], r["jobs"], r["spentCredits"]) for r in usage["data"]] == [(None, 1, 24)]
    assert usage["budget"] is None


async def _usage_until(
    api: Api, token: str, done: Callable[[dict[str, Any]], bool]
) -> dict[str, Any]:
    """GET /v1/usage until ``done`` holds (each answer may run a round of reconciliation)."""
    usage: dict[str, Any] = {}
    for _ in range(200):
        usage = (await api.get("/v1/usage", headers=bearer(token))).json()
        if done(usage):
            return usage
        await asyncio.sleep(0.05)
    raise AssertionError(f"/v1/usage never got there: {usage}")


async def test_an_uncertain_submission_is_charged_until_reconciled(
    api_factory: ApiFactory, tmp_path: Path
) -> None:
    # Rounds every 3 s: a job the report does not show is settled at 0 once 3 s old, after the
    # checks of its reservation below.
    settings = make_settings(
        tmp_path, provider_limits_refresh_seconds=0.05, usage_reconcile_seconds=3.0
    )
    served = await api_factory(settings)
    token = await budgeted_key(served, daily=40)  # one gen4.5 of 2 s (24 credits) fits
    # The create's connection drops: its outcome is unknown, and it is never resent.
    await served.emulator(dropConnectionRate=1.0)
    response = await served.post("/v1/generations", json=T2V, headers=bearer(token))
    assert response.status_code == 202, response.text
    job = await served.wait_done(response.json()["id"], bearer(token))
    assert job["status"] == "failed" and job["failure"]["code"] == FailureCode.SUBMISSION_UNCERTAIN
    await served.emulator(dropConnectionRate=0.0)

    # Its estimate stays reserved: the budget refuses what would not fit beside it.
    refused = await served.post("/v1/generations", json=T2V, headers=bearer(token))
    assert refused.status_code == 402, refused.text
    assert "0 spent, 24 reserved by unfinished jobs, 16 left" in refused.json()["error"]["message"]
    # While the provider's usage report cannot be read, /v1/usage shows it reserved too.
    await served.emulator(http5xxRate=1.0)
    usage = (await served.get("/v1/usage", headers=bearer(token))).json()
    await served.emulator(http5xxRate=0.0)
    assert (usage["jobs"], usage["spentCredits"], usage["reservedCredits"]) == (1, 0, 24)
    assert usage["budget"]["day"]["reservedCredits"] == 24
    assert usage["budget"]["day"]["leftCredits"] == 16

    # The report shows nothing charged for it (the connection dropped before the create): once
    # old enough, it is settled at 0 and the budget is whole again.
    usage = await _usage_until(served, token, lambda u: u["reservedCredits"] == 0)
    assert usage["spentCredits"] == 0 and usage["budget"]["day"]["leftCredits"] == 40
    assert usage["unaccountedCredits"] == 0

    # A task made upstream behind vidgate's back is credits no job accounts for.
    client = runwayml.AsyncRunwayML(
        api_key="anything", base_url=served.ctx.runtime.emulator_url, max_retries=0
    )
    await client.text_to_video.create(
        model="gen4.5", prompt_text="elsewhere", ratio="1280:720", duration=2
    )
    usage = await _usage_until(served, token, lambda u: u["unaccountedCredits"] > 0)
    today = datetime.now(UTC).date().isoformat()
    assert usage["unaccounted"] == [{"day": today, "model": "gen4.5", "credits": 24}]
    assert usage["reservedCredits"] == 0 and usage["spentCredits"] == 0  # not the tenant's
    metrics = (await served.get("/metrics")).text
    assert "vidgate_unaccounted_credits 24.0" in metrics
