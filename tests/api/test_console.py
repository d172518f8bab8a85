"""The operator's console (``/console``) and its API (``/v1/admin``): answered to admin keys and to
the operator of a server without keys, refused (403 ``admin_required``) to plain keys; keys,
budgets and roles changed through it; spend, failures, the provider's circuit, tier slots and
storage read from real jobs made through the emulator; the jobs table's filters."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import stamina
from api_helpers import T2V, Api, ApiFactory, bearer, make_settings

from vidgate.tenancy.tables import KeyRole

ADMIN_GETS = [
    "/v1/admin/system",
    "/v1/admin/keys",
    "/v1/admin/spend",
    "/v1/admin/failures",
    "/v1/admin/jobs",
]
VEO = {
    "endpoint": "text_to_video",
    "model": "veo3.1",
    "promptText": "a storm over the HARBOUR, 50% rain",
    "ratio": "1280:720",
    "duration": 4,
}


async def admin_key(api: Api, name: str = "ops") -> dict[str, str]:
    return bearer((await api.keys.create_key(name, role=KeyRole.ADMIN)).token)


async def jobs(api: Api, headers: dict[str, str], **params: str) -> list[str]:
    """The ids ``GET /v1/admin/jobs`` lists with these filters, newest first."""
    response = await api.get("/v1/admin/jobs", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return [j["id"] for j in response.json()["data"]]


async def test_admin_keys_get_the_console_and_plain_keys_a_403(api: Api) -> None:
    admin = await admin_key(api)
    plain = bearer(await api.new_key("tenant"))

    page = await api.get("/console", headers=admin)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert '<script type="module" src="/web/console.js">' in page.text
    assert "default-src 'none'" in page.headers["content-security-policy"]
    refused = await api.get("/console", headers=plain)
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "admin_required"
    assert "vidgate keys create --name NAME --admin" in refused.json()["error"]["message"]
    for path in ADMIN_GETS:
        assert (await api.get(path, headers=admin)).status_code == 200, path
        answer = await api.get(path, headers=plain)
        assert answer.status_code == 403, path
        assert answer.json()["error"]["code"] == "admin_required"
        # Without a key once keys exist: 401, as everywhere.
        assert (await api.get(path)).status_code == 401, path
    created = await api.post("/v1/admin/keys", json={"name": "x"}, headers=plain)
    assert created.status_code == 403
    assert len(await api.keys.list_keys()) == 2  # nothing was made
    # The page itself holds no data: a browser opens it without a key, then gives one.
    assert (await api.get("/console")).status_code == 200
    # A revoked admin key is refused like any revoked key.
    admin_id = next(k.id for k in await api.keys.list_keys() if k.role is KeyRole.ADMIN)
    await api.keys.revoke_key(admin_id)
    assert (await api.get("/v1/admin/system", headers=admin)).status_code == 401


async def test_without_keys_the_loopback_operator_gets_the_console(api: Api) -> None:
    assert (await api.get("/console")).status_code == 200
    for path in ADMIN_GETS:
        assert (await api.get(path)).status_code == 200, path
    system = (await api.get("/v1/admin/system")).json()
    assert system["auth"] == "off" and system["mode"] == "emulator"
    # The first key (an admin key) turns keys on; it keeps the console open.
    made = await api.post("/v1/admin/keys", json={"name": "first", "role": "admin"})
    assert made.status_code == 201, made.text
    assert (await api.get("/v1/admin/system")).status_code == 401
    headers = bearer(made.json()["token"])
    assert (await api.get("/v1/admin/system", headers=headers)).json()["auth"] == "keys"


async def test_keys_roles_and_budgets_are_managed_through_the_api(api: Api) -> None:
    admin = await admin_key(api)
    made = await api.post("/v1/admin/keys", json={"name": "  team a  "}, headers=admin)
    assert made.status_code == 201, made.text
    key = made.json()
    assert key["name"] == "team a" and key["role"] == "user" and key["token"].startswith("vg_")
    token = bearer(key["token"])
    assert (await api.get("/v1/generations", headers=token)).status_code == 200
    assert (await api.get("/v1/admin/keys", headers=token)).status_code == 403

    promoted = await api.put(
        f"/v1/admin/keys/{key['id']}/role", json={"role": "admin"}, headers=admin
    )
    assert promoted.status_code == 200 and promoted.json()["role"] == "admin"
    assert (await api.get("/v1/admin/keys", headers=token)).status_code == 200
    await api.put(f"/v1/admin/keys/{key['id']}/role", json={"role": "user"}, headers=admin)
    assert (await api.get("/v1/admin/keys", headers=token)).status_code == 403

    budget = {"dailyCredits": 100, "monthlyCredits": None}
    set_budget = await api.put(f"/v1/admin/keys/{key['id']}/budget", json=budget, headers=admin)
    assert set_budget.status_code == 200, set_budget.text
    assert set_budget.json()["budget"] == {"dailyCredits": 100.0, "monthlyCredits": None}
    # Over the budget now: 10 s of gen4.5 is 120 credits.
    over = await api.post("/v1/generations", json={**T2V, "duration": 10}, headers=token)
    assert over.status_code == 402, over.text
    cleared = await api.put(
        f"/v1/admin/keys/{key['id']}/budget", json={"dailyCredits": None}, headers=admin
    )
    assert cleared.json()["budget"] is None

    for path, body, field in [
        (f"/v1/admin/keys/{key['id']}/budget", {"dailyCredits": -1}, "dailyCredits"),
        (f"/v1/admin/keys/{key['id']}/role", {"role": "root"}, "role"),
        ("/v1/admin/keys", {"name": ""}, "name"),
        ("/v1/admin/keys", {"name": "x" * 201}, "name"),
        ("/v1/admin/keys", {"name": "x", "extra": 1}, "extra"),
    ]:
        method = "POST" if path.endswith("keys") else "PUT"
        bad = await api.request(method, path, json=body, headers=admin)
        assert bad.status_code == 422, (path, bad.text)
        assert bad.json()["error"]["fields"][0]["path"] == field
    for method, path, body in [
        ("POST", "/v1/admin/keys/ak_0000000000000000/revoke", None),
        ("PUT", "/v1/admin/keys/ak_0000000000000000/role", {"role": "admin"}),
        ("PUT", "/v1/admin/keys/ak_0000000000000000/budget", {"dailyCredits": 1}),
    ]:
        missing = await api.request(method, path, json=body, headers=admin)
        assert missing.status_code == 404, (path, missing.text)

    revoked = await api.post(f"/v1/admin/keys/{key['id']}/revoke", headers=admin)
    assert revoked.status_code == 200 and revoked.json()["state"] == "revoked"
    assert (await api.get("/v1/generations", headers=token)).status_code == 401
    listed = (await api.get("/v1/admin/keys", headers=admin)).json()["data"]
    assert [(k["name"], k["role"], k["state"]) for k in listed] == [
        ("ops", "admin", "active"),
        ("team a", "user", "revoked"),
    ]


async def test_filters_spend_failures_and_storage_from_real_jobs(api: Api) -> None:
    # One job made while the server has no keys, then keys: a plain one per team, an admin.
    keyless = (await api.post("/v1/generations", json=T2V)).json()["id"]
    await api.wait_done(keyless)
    admin = await admin_key(api)
    a_id = (a_key := await api.keys.create_key("team a")).key.id
    b_id = (b_key := await api.keys.create_key("team b")).key.id
    a, b = bearer(a_key.token), bearer(b_key.token)

    a_done = (await api.post("/v1/generations", json=T2V, headers=a)).json()["id"]
    b_done = (await api.post("/v1/generations", json=T2V, headers=b)).json()["id"]
    for job_id, headers in ((a_done, a), (b_done, b)):
        assert (await api.wait_done(job_id, headers))["status"] == "succeeded"
    await api.emulator(failRate=1, failureCode="SAFETY.INPUT.TEXT")
    b_failed = (await api.post("/v1/generations", json=VEO, headers=b)).json()["id"]
    failed = await api.wait_done(b_failed, b)
    assert failed["status"] == "failed" and failed["failure"]["code"] == "SAFETY.INPUT.TEXT"

    everything = await jobs(api, admin)
    assert everything == [b_failed, b_done, a_done, keyless]
    assert await jobs(api, admin, status="failed") == [b_failed]
    assert await jobs(api, admin, status="succeeded") == [b_done, a_done, keyless]
    assert await jobs(api, admin, model="veo3.1") == [b_failed]
    assert await jobs(api, admin, model="gen4") == []
    assert await jobs(api, admin, key=b_id) == [b_failed, b_done]
    assert await jobs(api, admin, key=a_id, status="succeeded") == [a_done]
    assert await jobs(api, admin, key="none") == [keyless]
    assert await jobs(api, admin, failureCode="SAFETY.INPUT.TEXT") == [b_failed]
    assert await jobs(api, admin, failureCode="SAFETY") == []
    assert await jobs(api, admin, q="harbour") == [b_failed]  # any case
    assert await jobs(api, admin, q="lighthouse") == [b_done, a_done, keyless]
    assert await jobs(api, admin, q=a_done.lower()) == [a_done]  # an id
    assert await jobs(api, admin, q="50%") == [b_failed]  # % is a character, not a wildcard
    assert await jobs(api, admin, q="5_%") == []
    first = await api.get("/v1/admin/jobs", params={"limit": 2}, headers=admin)
    cursor = first.json()["nextCursor"]
    assert cursor and await jobs(api, admin, limit="2", cursor=cursor) == [a_done, keyless]
    row = (await api.get("/v1/admin/jobs", params={"key": b_id}, headers=admin)).json()["data"][0]
    assert row["keyId"] == b_id and row["failureCode"] == "SAFETY.INPUT.TEXT"
    assert row["promptText"] == VEO["promptText"] and row["failureMessage"]
    for params, field in [
        ({"status": "done"}, "status"),
        ({"limit": "0"}, "limit"),
        ({"q": "x" * 201}, "q"),
        ({"cursor": "nope"}, "cursor"),
    ]:
        bad = await api.get("/v1/admin/jobs", params=params, headers=admin)
        assert bad.status_code == 422, (params, bad.text)
        assert bad.json()["error"]["fields"][0]["path"] == field

    # Spend per key per day: today's costs, one row per key (and one for the keyless job).
    spend = (await api.get("/v1/admin/spend", params={"days": 7}, headers=admin)).json()
    assert spend["to"] == failed["createdAt"][:10]
    costs: dict[str | None, float] = {}
    for job in (await api.get("/v1/admin/jobs", headers=admin)).json()["data"]:
        costs[job["keyId"]] = costs.get(job["keyId"], 0) + (job["costCredits"] or 0)
    by_key = {r["keyId"]: r for r in spend["data"]}
    assert {k: r["spentCredits"] for k, r in by_key.items()} == costs
    assert by_key[b_id]["jobs"] == 2 and costs[a_id] == 24
    keys = (await api.get("/v1/admin/keys", headers=admin)).json()["data"]
    assert {k["id"]: k["today"]["spentCredits"] for k in keys if k["id"] != a_id} == {
        b_id: costs[b_id],
        next(k["id"] for k in keys if k["name"] == "ops"): 0,
    }

    failures = (await api.get("/v1/admin/failures", headers=admin)).json()
    assert [(r["code"], r["jobs"]) for r in failures["data"]] == [("SAFETY.INPUT.TEXT", 1)]
    assert (
        await api.get("/v1/admin/failures", params={"days": 367}, headers=admin)
    ).status_code == 422

    # Storage: the bytes of the three stored videos, as each job reports its own.
    sizes = []
    for job_id, headers in ((a_done, a), (b_done, b)):
        video = await api.get(f"/v1/generations/{job_id}/video", headers=headers)
        sizes.append(len(video.content))
    keyless_row = (await api.get("/v1/admin/jobs", params={"key": "none"}, headers=admin)).json()
    sizes.append(keyless_row["data"][0]["outputBytes"])
    system = (await api.get("/v1/admin/system", headers=admin)).json()
    assert system["storage"] == {"outputs": 3, "bytes": sum(sizes)}
    assert system["jobs"]["succeeded"] == 3 and system["jobs"]["failed"] == 1
    assert system["provider"]["state"] == "closed" and system["provider"]["failures"] == 0


async def test_tier_slots_in_use_follow_a_running_job(api: Api) -> None:
    await api.emulator(taskSeconds=60)
    job_id = (await api.post("/v1/generations", json=T2V)).json()["id"]

    async def gen45() -> dict[str, Any]:
        slots = (await api.get("/v1/admin/system")).json()["slots"]
        found: dict[str, Any] = next(s for s in slots if s["model"] == "gen4.5")
        return found

    async with asyncio.timeout(30):
        while (await gen45())["inUse"] != 1:
            await asyncio.sleep(0.05)
    slot = await gen45()
    assert slot["maxConcurrent"] == 5 and slot["maxDaily"] == 2000  # the emulator's tier
    assert (await api.delete(f"/v1/generations/{job_id}")).status_code == 202
    assert (await api.wait_done(job_id))["status"] == "cancelled"
    assert (await gen45())["inUse"] == 0


@pytest.fixture
def _one_attempt_per_call() -> Iterator[None]:
    """The provider's own retries collapse to one attempt, so a faulted call fails at once."""
    with stamina.set_testing(True, attempts=1):
        yield


@pytest.mark.usefixtures("_one_attempt_per_call")
async def test_the_provider_circuit_shows_when_it_opens(
    api_factory: ApiFactory, tmp_path: Path
) -> None:
    settings = make_settings(tmp_path, provider_down_after_failures=2, provider_probe_seconds=30)
    api = await api_factory(settings)
    await api.emulator(http5xxRate=1.0)
    assert (await api.post("/v1/generations", json=T2V)).status_code == 202
    async with asyncio.timeout(30):
        while (provider := (await api.get("/v1/admin/system")).json()["provider"])["state"] == (
            "closed"
        ):
            await asyncio.sleep(0.05)
    assert provider["state"] == "open" and provider["failures"] >= 2
    assert 0 < provider["retryAfterSeconds"] <= 30 and provider["lastError"]
    assert provider["keyRefused"] is False
