"""API keys and tenant isolation: a key sees only its own jobs and uploads; others' are 404."""

from __future__ import annotations

from api_helpers import T2V, Api, ApiFactory, bearer

from vidgate.emulator.testing import still_image


async def test_key_a_cannot_touch_key_b(api: Api) -> None:
    a = bearer(await api.new_key("a"))
    b = bearer(await api.new_key("b"))

    job = (await api.post("/v1/generations", json=T2V, headers=b)).json()
    done = await api.wait_done(job["id"], headers=b)
    assert done["status"] == "succeeded"
    files = {"file": ("p.png", still_image(64, 64), "image/png")}
    upload = (await api.post("/v1/uploads", files=files, headers=b)).json()

    # B sees its own things.
    assert [j["id"] for j in (await api.get("/v1/generations", headers=b)).json()["data"]] == [
        job["id"]
    ]
    assert (await api.get(f"/v1/generations/{job['id']}/video", headers=b)).status_code == 200
    assert (await api.get(f"/v1/uploads/{upload['id']}", headers=b)).status_code == 200

    # A sees nothing of B's: not in lists, and 404 exactly like a job that does not exist.
    assert (await api.get("/v1/generations", headers=a)).json()["data"] == []
    assert (await api.get("/v1/uploads", headers=a)).json()["data"] == []
    for method, path in [
        ("GET", f"/v1/generations/{job['id']}"),
        ("DELETE", f"/v1/generations/{job['id']}"),
        ("GET", f"/v1/generations/{job['id']}/video"),
        ("GET", f"/v1/generations/{job['id']}/poster"),
        ("GET", f"/v1/uploads/{upload['id']}"),
    ]:
        response = await api.request(method, path, headers=a)
        assert response.status_code == 404, (method, path, response.text)
        missing = await api.request(method, path.replace(job["id"], "0" * 26), headers=a)
        assert missing.json()["error"]["code"] == response.json()["error"]["code"]

    # Nor can A use B's upload in a generation.
    body = {
        "endpoint": "image_to_video",
        "model": "gen4.5",
        "promptImage": upload["uri"],
        "promptText": "x",
        "ratio": "1280:720",
        "duration": 2,
    }
    refused = await api.post("/v1/generations", json=body, headers=a)
    assert refused.status_code == 422
    assert refused.json()["error"]["fields"][0]["path"] == "promptImage"
    assert (await api.post("/v1/generations", json=body, headers=b)).status_code == 202

    # The same Idempotency-Key is separate per key.
    key = {"Idempotency-Key": "same"}
    first = (await api.post("/v1/generations", json=T2V, headers={**a, **key})).json()
    second = (await api.post("/v1/generations", json=T2V, headers={**b, **key})).json()
    assert first["id"] != second["id"]


async def test_auth_turns_on_with_the_first_key_and_revocation_is_immediate(api: Api) -> None:
    assert (await api.get("/v1/generations")).status_code == 200  # no keys: auth off
    assert (await api.get("/healthz")).json()["auth"] == "off"
    created = await api.keys.create_key("ops")
    assert (await api.get("/v1/generations")).status_code == 401
    assert (await api.get("/healthz")).json()["auth"] == "keys"
    headers = bearer(created.token)
    assert (await api.get("/v1/generations", headers=headers)).status_code == 200
    await api.keys.revoke_key(created.key.id)
    assert (await api.get("/v1/generations", headers=headers)).status_code == 401


async def test_keys_required_even_without_keys(api_factory: ApiFactory) -> None:
    api = await api_factory(worker=False, keys_required=True)
    assert (await api.get("/v1/models")).status_code == 401
    assert (await api.get("/healthz")).status_code == 200


async def test_tokens_are_stored_only_as_hashes(api: Api) -> None:
    created = await api.keys.create_key("ci")
    assert created.token.startswith("vg_") and len(created.token) >= 40
    [key] = await api.keys.list_keys()
    assert created.token not in repr(vars(key))
    assert key.token_sha256 != created.token and len(key.token_sha256) == 64
