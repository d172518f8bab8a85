"""The API reads ``Host`` as RFC 9110 defines it: a malformed one is a 400, whatever the route,
and nothing is created (the rules themselves: tests/unit/test_http_guard.py)."""

from __future__ import annotations

import pytest
from api_helpers import T2V, Api


@pytest.mark.parametrize(
    "host",
    [
        "evil.example/x.localhost",
        "evil.example/x.localhost:80",
        "127.0.0.1@evil.example",
        "[fe80::1%25lo]",
        "localhost:65536",
    ],
)
async def test_a_malformed_host_is_a_bad_request(api: Api, host: str) -> None:
    before = (await api.get("/v1/generations")).json()["data"]
    for method, path in (("GET", "/healthz"), ("POST", "/v1/generations"), ("GET", "/")):
        answer = await api.request(method, path, json=T2V, headers={"Host": host})
        assert answer.status_code == 400, (path, answer.text)
        error = answer.json()["error"]
        assert error["code"] == "bad_request"
        assert error["message"].startswith(f"Host: {host!r} is not a valid host[:port] header")
        assert "x-request-id" in answer.headers
    assert (await api.get("/v1/generations")).json()["data"] == before


async def test_a_well_formed_foreign_host_is_misdirected_and_loopback_names_are_served(
    api: Api,
) -> None:
    answer = await api.get("/healthz", headers={"Host": "evil.example"})
    assert answer.status_code == 421 and answer.json()["error"]["code"] == "misdirected_request"
    for host in ("x.localhost", "localhost.:8000", "[::1]:8000", "127.0.0.1:"):
        assert (await api.get("/healthz", headers={"Host": host})).status_code == 200, host
