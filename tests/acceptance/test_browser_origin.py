"""Browser-origin protection against a real ``vidgate serve`` on its defaults (auth off, loopback).

* a foreign ``Host`` (what DNS rebinding sends) is answered 421 on every route;
* a state-changing request from a foreign ``Origin``, ``Origin: null`` or a cross-site
  ``Sec-Fetch-Site`` is refused with 403, and nothing is created or changed;
* the server's own origin (the web page) and requests without browser headers work as before;
* configured hosts and origins are served, with CORS for the configured origins only.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from serving import T2V, Served, vidgate_env

PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c63f8cfc0f01f0005000201ffa7a1b8a70000000049454e44ae426082"
)
ATTACKER = "http://attacker.example"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    data_dir = tmp_path_factory.mktemp("origin")
    served = Served(env=vidgate_env(data_dir, VIDGATE_API_RATE_PER_SECOND="0"), cwd=data_dir)
    yield served
    served.stop()


@pytest.fixture(scope="module")
def configured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    data_dir = tmp_path_factory.mktemp("origin-configured")
    env = vidgate_env(
        data_dir,
        VIDGATE_API_RATE_PER_SECOND="0",
        VIDGATE_ALLOWED_HOSTS="vidgate.example,*.apps.example",
        VIDGATE_ALLOWED_ORIGINS="https://app.example",
    )
    served = Served(env=env, cwd=data_dir)
    yield served
    served.stop()


def _counts(client: httpx.Client) -> tuple[int, int, object]:
    jobs = client.get("/v1/generations").json()["data"]
    uploads = client.get("/v1/uploads").json()["data"]
    return len(jobs), len(uploads), client.get("/v1/webhook").json()


def test_a_foreign_host_is_misdirected_on_every_route(server: Served) -> None:
    with httpx.Client(base_url=server.url, timeout=30) as client:
        before = _counts(client)
        for host in ("attacker.example", "attacker.example:8000", "127.0.0.1.nip.io", "[::2]"):
            headers = {"Host": host}
            health = client.get("/healthz", headers=headers)
            assert health.status_code == 421, health.text
            assert health.json()["error"]["code"] == "misdirected_request"
            assert "x-request-id" in health.headers
            created = client.post("/v1/generations", json=T2V, headers=headers)
            assert created.status_code == 421, created.text
            page = client.get("/", headers=headers)
            assert page.status_code == 421
        assert _counts(client) == before
        # Loopback names and addresses are the server's own.
        for host in ("localhost", "localhost:1234", "vidgate.localhost", "127.0.0.1", "127.9.9.9"):
            assert client.get("/healthz", headers={"Host": host}).status_code == 200, host


@pytest.mark.parametrize(
    "browser",
    [
        {"Origin": ATTACKER},
        {"Origin": "null"},
        {"Origin": "http://localhost:3000"},  # another port: another origin
        {"Origin": "https://127.0.0.1"},  # another scheme: another origin
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},
    ],
    ids=["foreign", "null", "other-port", "other-scheme", "cross-site", "same-site"],
)
def test_state_changes_from_a_foreign_origin_are_refused(
    server: Served, browser: dict[str, str]
) -> None:
    with httpx.Client(base_url=server.url, timeout=30) as client:
        before = _counts(client)
        answers = [
            client.post("/v1/generations", json=T2V, headers=browser),
            client.post("/v1/webhook/secret", headers=browser),
            client.put("/v1/webhook", json={"url": "https://hooks.example.com/x"}, headers=browser),
            client.post("/v1/uploads", files={"file": ("a.png", PNG)}, headers=browser),
            client.delete("/v1/generations/01J000000000000000000000000", headers=browser),
            # A form post, the classic CSRF: no preflight in a browser.
            client.post(
                "/v1/generations",
                content=b"x=1",
                headers={**browser, "Content-Type": "application/x-www-form-urlencoded"},
            ),
        ]
        for answer in answers:
            assert answer.status_code == 403, (answer.request.url, answer.text)
            assert answer.json()["error"]["code"] == "cross_origin_refused"
            assert "access-control-allow-origin" not in answer.headers
        # Reads are not state changes: the browser keeps their answers from a foreign page.
        assert client.get("/v1/generations", headers=browser).status_code == 200
        assert _counts(client) == before


def test_the_servers_own_origin_and_plain_clients_work(server: Served) -> None:
    with httpx.Client(base_url=server.url, timeout=30) as client:
        own = client.post(
            "/v1/generations",
            json=T2V,
            headers={"Origin": server.url, "Sec-Fetch-Site": "same-origin"},
        )
        assert own.status_code == 202, own.text
        port = server.url.rsplit(":", 1)[1]
        via_name = client.post(
            "/v1/generations",
            json=T2V,
            headers={"Host": f"localhost:{port}", "Origin": f"http://localhost:{port}"},
        )
        assert via_name.status_code == 202, via_name.text
        plain = client.post("/v1/generations", json=T2V)  # curl, the SDKs: no browser headers
        assert plain.status_code == 202, plain.text
        typed = client.post("/v1/generations", json=T2V, headers={"Sec-Fetch-Site": "none"})
        assert typed.status_code == 202, typed.text


def test_configured_hosts_and_origins_get_cors(configured: Served) -> None:
    with httpx.Client(base_url=configured.url, timeout=30) as client:
        for host in ("vidgate.example", "vidgate.example:443", "a.apps.example"):
            assert client.get("/healthz", headers={"Host": host}).status_code == 200, host
        assert client.get("/healthz", headers={"Host": "apps.example.org"}).status_code == 421
        preflight = client.options(
            "/v1/generations",
            headers={
                "Origin": "https://app.example",
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "content-type,idempotency-key",
            },
        )
        assert preflight.status_code == 200, preflight.text
        assert preflight.headers["access-control-allow-origin"] == "https://app.example"
        created = client.post(
            "/v1/generations", json=T2V, headers={"Origin": "https://app.example"}
        )
        assert created.status_code == 202, created.text
        assert created.headers["access-control-allow-origin"] == "https://app.example"
        assert "location" in created.headers["access-control-expose-headers"].lower()
        # Other origins get neither CORS nor a state change.
        foreign = client.get("/v1/generations", headers={"Origin": ATTACKER})
        assert "access-control-allow-origin" not in foreign.headers
        refused = client.post("/v1/generations", json=T2V, headers={"Origin": ATTACKER})
        assert refused.status_code == 403
        assert len(client.get("/v1/generations").json()["data"]) == 1
