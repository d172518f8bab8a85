"""Webhooks end to end: jobs run on the emulator, and a real HTTPS receiver on 127.0.0.1 checks
every signature with the standardwebhooks library and the package's own helper.

Names are resolved by two test resolvers: the API's (request time) says ``hooks.test`` is a public
address; the webhook client's (connection time) says it is 127.0.0.1, which only the test-only
``allow_loopback_for_tests`` flag lets it dial. ``rebind.test`` passes at request time and points
at 10.0.0.1 at connection time: the guarded client must refuse it. No setting reaches either.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import json
import socket
import sqlite3
import ssl
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
import standardwebhooks
from api_helpers import T2V, Api, ApiFactory, bearer, make_settings

from tls_support import Certificate, self_signed_certificate
from vidgate.errors import WebhookSignatureInvalid
from vidgate.media.guarded_fetch import guarded_client
from vidgate.settings import Settings
from vidgate.webhooks import DELIVERY_HEADER, EVENT_HEADER, verify_webhook
from vidgate.webhooks.sealing import SEALED_PREFIX, SecretSealer

OWNERLESS_SECRET = "whsec_b3duZXJsZXNzLXRlc3Qtc2VjcmV0LTMyLWJ5dGVzLWxvbmc="
PUBLIC = "93.184.216.34"
REQUEST_DNS = {
    "hooks.test": [PUBLIC],
    "rebind.test": [PUBLIC],
    "private.test": ["10.0.0.1"],
    "mixed.test": [PUBLIC, "127.0.0.1"],
    "metadata.test": ["169.254.169.254"],
}
CONNECT_DNS = {"hooks.test": ["127.0.0.1"], "rebind.test": ["10.0.0.1"]}
BASE_DELAY = 0.4
TIMEOUT = 0.5


def resolver(table: dict[str, list[str]]) -> Callable[[str], Any]:
    async def resolve(host: str) -> list[str]:
        try:
            return table[host.lower().rstrip(".")]
        except KeyError:
            raise socket.gaierror(socket.EAI_NONAME, "unknown test name") from None

    return resolve


# --- the receiver -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Certificate:
    return self_signed_certificate(tmp_path_factory.mktemp("webhook-tls"), "hooks.test")


def _stock_verifies(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """What a receiver built on the Standard Webhooks library decides."""
    try:
        standardwebhooks.Webhook(secret).verify(body, headers)
    except standardwebhooks.WebhookVerificationError:
        return False
    return True


@dataclass
class Received:
    path: str
    delivery: str | None
    event: str | None
    body: bytes
    headers: dict[str, str]
    verified: bool
    answer: str

    def json(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.body)
        return data


@dataclass
class Receiver:
    """An HTTPS webhook receiver for ``hooks.test``. Each request is checked with the
    ``standardwebhooks`` library and :func:`verify_webhook` against ``secrets`` (both must agree);
    the answer is the next one of ``script``
    (``500``, ``hang``, ``302``, ``ok``), then ``ok`` for ever."""

    secrets: list[str] = field(default_factory=lambda: [OWNERLESS_SECRET])
    script: list[str] = field(default_factory=list)
    requests: list[Received] = field(default_factory=list)
    port: int = 0
    tasks: set[asyncio.Task[None]] = field(default_factory=set)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    def base(self, host: str = "hooks.test") -> str:
        return f"https://{host}:{self.port}"

    def for_delivery(self, delivery_id: str) -> list[Received]:
        return [r for r in self.requests if r.delivery == delivery_id]

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self.tasks.add(task)
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            path = lines[0].split(" ")[1]
            headers = {}
            for line in lines[1:]:
                if ":" in line:
                    name, _, value = line.partition(":")
                    headers[name.strip().lower()] = value.strip()
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            verified = any(_stock_verifies(secret, headers, body) for secret in self.secrets)
            try:
                verify_webhook(self.secrets, headers, body)
                assert verified, "verify_webhook accepted what standardwebhooks refused"
            except WebhookSignatureInvalid:
                assert not verified, "verify_webhook refused what standardwebhooks accepted"
            answer = self.script.pop(0) if self.script and verified else "ok"
            if not verified:
                answer = "bad signature"
            self.requests.append(
                Received(
                    path,
                    headers.get(DELIVERY_HEADER.lower()),
                    headers.get(EVENT_HEADER.lower()),
                    body,
                    headers,
                    verified,
                    answer,
                )
            )
            self.arrived.set()
            if answer == "hang":
                await asyncio.sleep(30)
            elif answer == "500":
                writer.write(b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 4\r\n\r\noops")
            elif answer == "302":
                location = f"{self.base()}/followed".encode()
                writer.write(b"HTTP/1.1 302 Found\r\nLocation: " + location + b"\r\n")
                writer.write(b"Content-Length: 0\r\n\r\n")
            elif answer == "bad signature":
                writer.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
            else:
                writer.write(b"HTTP/1.1 204 No Content\r\n\r\n")
            await writer.drain()
        except (ConnectionError, ssl.SSLError, asyncio.IncompleteReadError, OSError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError, ssl.SSLError, OSError):
                await writer.wait_closed()


@pytest.fixture
async def receiver(certificate: Certificate) -> AsyncIterator[Receiver]:
    server = Receiver()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certificate.cert_file, certificate.key_file)
    listener = await asyncio.start_server(server.handle, "127.0.0.1", 0, ssl=context)
    server.port = listener.sockets[0].getsockname()[1]
    yield server
    listener.close()
    for task in list(server.tasks):
        task.cancel()
    await asyncio.gather(*server.tasks, return_exceptions=True)
    await listener.wait_closed()


# --- the API ------------------------------------------------------------------------------------


def hook_settings(tmp_path: Path, receiver: Receiver, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "webhook_allowed_ports": [443, receiver.port],
        "webhook_retry_base_seconds": BASE_DELAY,
        "webhook_timeout_seconds": TIMEOUT,
        "webhook_poll_seconds": 0.05,
        "webhook_secret": OWNERLESS_SECRET,
    }
    values.update(overrides)
    return make_settings(tmp_path, **values)


@pytest.fixture
def hook_db(request: pytest.FixtureRequest) -> str | None:
    """SQLite by default; ``indirect`` "postgresql" makes a PostgreSQL database that outlives the
    app (set up before ``api_factory``, so torn down after it)."""
    if getattr(request, "param", "sqlite") == "postgresql":
        url: str = request.getfixturevalue("postgres_url")
        return url
    return None


@pytest.fixture
def start(
    hook_db: str | None,
    api_factory: ApiFactory,
    tmp_path: Path,
    receiver: Receiver,
    certificate: Certificate,
) -> Callable[..., Any]:
    async def make(**overrides: Any) -> Api:
        if hook_db is not None:
            overrides.setdefault("database_url", hook_db)

        def client() -> httpx.AsyncClient:
            return guarded_client(
                resolver=resolver(CONNECT_DNS),
                ssl_context=certificate.client_context(),
                allow_loopback_for_tests=True,
                timeout=httpx.Timeout(TIMEOUT),
            )

        return await api_factory(
            hook_settings(tmp_path, receiver, **overrides),
            resolver=resolver(REQUEST_DNS),
            webhook_client_factory=client,
        )

    return make


async def deliveries(
    api: Api, job_id: str, headers: dict[str, str] | None = None
) -> list[dict[str, Any]]:
    r = await api.get(f"/v1/generations/{job_id}/deliveries", headers=headers)
    assert r.status_code == 200, r.text
    data: list[dict[str, Any]] = r.json()["data"]
    return data


async def wait_for(
    api: Api,
    job_id: str,
    done: Callable[[list[dict[str, Any]]], bool],
    *,
    headers: dict[str, str] | None = None,
    seconds: float = 30.0,
) -> list[dict[str, Any]]:
    deadline = time.monotonic() + seconds
    found = await deliveries(api, job_id, headers)
    while not done(found):
        assert time.monotonic() < deadline, f"deliveries never got there: {found}"
        await asyncio.sleep(0.05)
        found = await deliveries(api, job_id, headers)
    return found


def delivered(found: list[dict[str, Any]]) -> bool:
    return len(found) == 1 and found[0]["status"] == "delivered"


def _gaps(attempts: list[dict[str, Any]]) -> list[float]:
    """Seconds between the end of each attempt and the start of the next."""
    starts = [datetime.fromisoformat(a["startedAt"]) for a in attempts]
    return [
        (starts[i + 1] - starts[i]).total_seconds() - attempts[i]["durationSeconds"]
        for i in range(len(attempts) - 1)
    ]


@pytest.mark.parametrize(
    "hook_db",
    ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
    indirect=True,
)
async def test_retries_back_off_and_stop_after_success_then_redelivery_resends(
    start: Callable[..., Any], receiver: Receiver
) -> None:
    api: Api = await start()
    receiver.script = ["500", "hang", "302"]
    r = await api.post("/v1/generations", json={**T2V, "webhookUrl": f"{receiver.base()}/req"})
    assert r.status_code == 202, r.text
    job = await api.wait_done(r.json()["id"])
    assert job["status"] == "succeeded"

    [delivery] = await wait_for(api, job["id"], delivered)
    attempts = delivery["attempts"]
    assert [a["statusCode"] for a in attempts] == [500, None, 302, 204]
    assert "500" in attempts[0]["error"]
    assert "no answer within" in attempts[1]["error"]
    assert attempts[1]["durationSeconds"] < TIMEOUT + 1.0  # the hang was cut short
    assert "redirects are not followed" in attempts[2]["error"]
    assert attempts[3]["error"] is None
    assert delivery["event"] == "generation.succeeded"
    assert delivery["attemptCount"] == 4 and delivery["deliveredAt"] is not None
    # Each wait is at least the schedule's lower bound (0.75 x base x 2^n): it doubles.
    gaps = _gaps(attempts)
    for n, gap in enumerate(gaps):
        assert gap >= 0.75 * BASE_DELAY * 2**n - 0.01, gaps
    assert gaps[0] < gaps[2]

    # Every request was signed right, carried the same delivery id, and the redirect was
    # never followed.
    sent = receiver.for_delivery(delivery["id"])
    assert len(sent) == 4 and all(r.verified for r in sent)
    assert all(r.path == "/req" and r.event == "generation.succeeded" for r in sent)
    assert not [r for r in receiver.requests if r.path == "/followed"]
    body = sent[-1].json()
    assert body["id"] == delivery["id"] and body["type"] == "generation.succeeded"
    shown = (await api.get(f"/v1/generations/{job['id']}")).json()
    assert body["data"] == shown  # the job, as the API shows it

    # No duplicate after the success: nothing more arrives for a good while.
    await asyncio.sleep(BASE_DELAY * 8)
    assert len(receiver.for_delivery(delivery["id"])) == 4

    # A manual redelivery sends it again, same id and body, newly signed.
    r = await api.post(f"/v1/generations/{job['id']}/deliveries/{delivery['id']}/redeliver")
    assert r.status_code == 202, r.text
    assert r.json()["id"] == delivery["id"]
    [again] = await wait_for(
        api, job["id"], lambda found: delivered(found) and found[0]["attemptCount"] == 5
    )
    sent = receiver.for_delivery(delivery["id"])
    assert len(sent) == 5 and sent[-1].verified and sent[-1].body == sent[-2].body
    assert [a["number"] for a in again["attempts"]] == [1, 2, 3, 4, 5]


async def test_a_keys_default_url_and_secret_are_used(
    start: Callable[..., Any], receiver: Receiver
) -> None:
    api: Api = await start()
    token = await api.new_key("alice")
    other = await api.new_key("bob")
    r = await api.get("/v1/webhook", headers=bearer(token))
    assert r.json() == {"url": None, "secretSet": False, "secretPrefix": None, "secret": None}

    # Without a secret, a webhookUrl is refused: nobody could check its signatures.
    r = await api.post(
        "/v1/generations",
        json={**T2V, "webhookUrl": f"{receiver.base()}/x"},
        headers=bearer(token),
    )
    assert r.status_code == 422
    assert [f["path"] for f in r.json()["error"]["fields"]] == ["webhookUrl"]
    assert "signing secret" in r.json()["error"]["message"]

    r = await api.put("/v1/webhook", json={"url": f"{receiver.base()}/key"}, headers=bearer(token))
    assert r.status_code == 200, r.text
    secret = r.json()["secret"]
    assert secret.startswith("whsec_") and r.json()["secretSet"] is True
    again = await api.put(
        "/v1/webhook", json={"url": f"{receiver.base()}/key"}, headers=bearer(token)
    )
    assert again.json()["secret"] is None  # shown once
    assert (await api.get("/v1/webhook", headers=bearer(token))).json()["secret"] is None
    receiver.secrets = [secret]

    r = await api.post("/v1/generations", json=T2V, headers=bearer(token))
    assert r.status_code == 202, r.text
    job = await api.wait_done(r.json()["id"], headers=bearer(token))
    [delivery] = await wait_for(api, job["id"], delivered, headers=bearer(token))
    [sent] = receiver.for_delivery(delivery["id"])
    assert sent.verified and sent.path == "/key"

    # Another key sees neither the job's deliveries nor can redeliver them.
    r = await api.get(f"/v1/generations/{job['id']}/deliveries", headers=bearer(other))
    assert r.status_code == 404
    r = await api.post(
        f"/v1/generations/{job['id']}/deliveries/{delivery['id']}/redeliver",
        headers=bearer(other),
    )
    assert r.status_code == 404
    r = await api.post(
        f"/v1/generations/{job['id']}/deliveries/whd_nope/redeliver", headers=bearer(token)
    )
    assert r.status_code == 404

    # A rotated secret signs every later attempt; the old one no longer verifies.
    r = await api.post("/v1/webhook/secret", headers=bearer(token))
    assert r.status_code == 201
    new_secret = r.json()["secret"]
    receiver.secrets = [new_secret]
    await api.post(
        f"/v1/generations/{job['id']}/deliveries/{delivery['id']}/redeliver",
        headers=bearer(token),
    )
    await wait_for(
        api,
        job["id"],
        lambda found: delivered(found) and found[0]["attemptCount"] == 2,
        headers=bearer(token),
    )
    last = receiver.for_delivery(delivery["id"])[-1]
    assert last.verified
    with pytest.raises(WebhookSignatureInvalid, match="does not match"):
        verify_webhook(secret, last.headers, last.body)


@pytest.mark.parametrize(
    ("url", "rule"),
    [
        ("https://private.test/hook", "not a public address"),
        ("https://mixed.test/hook", "not a public address"),
        ("https://metadata.test/hook", "not a public address"),
        ("https://nowhere.test/hook", "does not resolve"),
        ("http://hooks.test/hook", "https"),
        ("https://127.0.0.1/hook", "not an IP address"),
        ("https://2130706433/hook", "not an IP address"),
        ("https://[::1]/hook", "not an IP address"),
        ("https://localhost/hook", "local name"),
        ("https://user@hooks.test/hook", "credentials"),
        ("https://hooks.test:8443/hook", "port 8443"),
        ("https://hooks.test/" + "a" * 2100, "longer than"),
        ("", "empty"),
    ],
)
async def test_bad_webhook_urls_are_refused_naming_the_field(
    start: Callable[..., Any], url: str, rule: str
) -> None:
    api: Api = await start()
    r = await api.post("/v1/generations", json={**T2V, "webhookUrl": url})
    assert r.status_code == 422, r.text
    fields = r.json()["error"]["fields"]
    assert [f["path"] for f in fields] == ["webhookUrl"]
    assert rule in fields[0]["message"]
    r = await api.put("/v1/webhook", json={"url": url})
    assert r.status_code == 422
    assert [f["path"] for f in r.json()["error"]["fields"]] == ["url"]


async def test_one_422_names_the_webhook_and_the_bodys_other_problems(
    start: Callable[..., Any],
) -> None:
    api: Api = await start()
    body = {**T2V, "ratio": "1:1", "webhookUrl": "https://private.test/hook"}
    r = await api.post("/v1/generations", json=body)
    assert r.status_code == 422
    assert {f["path"] for f in r.json()["error"]["fields"]} == {"ratio", "webhookUrl"}
    r = await api.post("/v1/generations", json={**T2V, "webhookUrl": 42})
    assert r.status_code == 422
    assert [f["path"] for f in r.json()["error"]["fields"]] == ["webhookUrl"]


async def test_a_name_re_pointed_at_a_private_address_is_refused_when_connecting(
    start: Callable[..., Any], receiver: Receiver
) -> None:
    api: Api = await start()
    r = await api.post(
        "/v1/generations", json={**T2V, "webhookUrl": f"{receiver.base('rebind.test')}/x"}
    )
    assert r.status_code == 202, r.text
    job = await api.wait_done(r.json()["id"])
    [delivery] = await wait_for(api, job["id"], lambda found: bool(found and found[0]["attempts"]))
    assert delivery["status"] == "pending"
    assert "10.0.0.1" in delivery["attempts"][0]["error"]
    assert delivery["attempts"][0]["statusCode"] is None


async def test_a_delivery_that_never_succeeds_is_given_up(
    start: Callable[..., Any], receiver: Receiver
) -> None:
    api: Api = await start(webhook_retry_for_seconds=1.0, webhook_retry_base_seconds=0.2)
    receiver.script = ["500"] * 100
    r = await api.post("/v1/generations", json={**T2V, "webhookUrl": f"{receiver.base()}/down"})
    job = await api.wait_done(r.json()["id"])
    [delivery] = await wait_for(api, job["id"], lambda f: bool(f) and f[0]["status"] == "failed")
    count = delivery["attemptCount"]
    assert count >= 3 and delivery["lastStatusCode"] == 500
    assert delivery["nextAttemptAt"] is None
    first = datetime.fromisoformat(delivery["attempts"][0]["startedAt"])
    last = datetime.fromisoformat(delivery["attempts"][-1]["startedAt"])
    assert (last - first).total_seconds() >= 1.0  # retried for the whole window
    # A later delivery that succeeds is the barrier: the dispatcher has run since it gave up.
    receiver.script = []
    later = await api.post("/v1/generations", json={**T2V, "webhookUrl": f"{receiver.base()}/up"})
    later_job = await api.wait_done(later.json()["id"])
    await wait_for(api, later_job["id"], lambda f: bool(f) and f[0]["status"] == "delivered")
    assert len(receiver.for_delivery(delivery["id"])) == count


async def test_jobs_without_a_webhook_make_no_deliveries(
    start: Callable[..., Any], receiver: Receiver
) -> None:
    api: Api = await start()
    r = await api.post("/v1/generations", json=T2V)
    job = await api.wait_done(r.json()["id"])
    # A later job with a webhook is the barrier: once its delivery arrives, the first job's
    # end has long been through the dispatcher too.
    later = await api.post("/v1/generations", json={**T2V, "webhookUrl": f"{receiver.base()}/up"})
    later_job = await api.wait_done(later.json()["id"])
    await wait_for(api, later_job["id"], lambda f: bool(f) and f[0]["status"] == "delivered")
    assert await deliveries(api, job["id"]) == []
    assert {request.path for request in receiver.requests} == {"/up"}
    r = await api.get("/v1/generations/01NOSUCHJOB000000000000000/deliveries")
    assert r.status_code == 404


async def test_a_job_made_through_the_runway_surface_sends_its_webhook(
    start: Callable[..., Any], receiver: Receiver
) -> None:
    api: Api = await start()
    token = await api.new_key("sdk")
    r = await api.put(
        "/v1/webhook", json={"url": f"{receiver.base()}/runway"}, headers=bearer(token)
    )
    receiver.secrets = [r.json()["secret"]]
    body = {k: v for k, v in T2V.items() if k != "endpoint"}
    made = await api.post(
        "/runway/v1/text_to_video",
        json=body,
        headers={**bearer(token), "X-Runway-Version": "2024-11-06"},
    )
    assert made.status_code == 200, made.text
    job = await api.wait_done(made.json()["id"], headers=bearer(token))
    [delivery] = await wait_for(api, job["id"], delivered, headers=bearer(token))
    [sent] = receiver.for_delivery(delivery["id"])
    assert sent.verified and sent.path == "/runway"
    assert sent.headers["webhook-id"] == delivery["id"]
    assert sent.json()["data"]["id"] == made.json()["id"]


def _verifies(candidate: str | bytes, sent: Received) -> bool:
    """Whether a receiver holding ``candidate`` as its secret would accept ``sent``."""
    try:
        hook = standardwebhooks.Webhook(candidate)
    except (binascii.Error, ValueError):
        hook = standardwebhooks.Webhook(candidate.encode() if isinstance(candidate, str) else b"")
    try:
        hook.verify(sent.body, sent.headers)
    except standardwebhooks.WebhookVerificationError:
        return False
    return True


@pytest.mark.parametrize(
    "hook_db",
    ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
    indirect=True,
)
async def test_a_copied_database_forges_no_webhook(
    start: Callable[..., Any], receiver: Receiver, hook_db: str | None, tmp_path: Path
) -> None:
    api: Api = await start()
    token = await api.new_key("alice")
    r = await api.put("/v1/webhook", json={"url": f"{receiver.base()}/key"}, headers=bearer(token))
    secret = r.json()["secret"]
    receiver.secrets = [secret]
    r = await api.post("/v1/generations", json=T2V, headers=bearer(token))
    job = await api.wait_done(r.json()["id"], headers=bearer(token))
    [delivery] = await wait_for(api, job["id"], delivered, headers=bearer(token))
    [sent] = receiver.for_delivery(delivery["id"])
    assert sent.verified and _verifies(secret, sent)  # a real webhook, and the check works

    # What someone who copied the database has: the stored column, and nothing else.
    if hook_db is None:
        copy = tmp_path / "copied.db"
        live = sqlite3.connect(api.ctx.runtime.settings.data_dir / "vidgate.db")
        with sqlite3.connect(copy) as target:
            live.backup(target)
        live.close()
        with contextlib.closing(sqlite3.connect(copy)) as db:
            stored = [row[0] for row in db.execute("SELECT secret FROM webhook_targets")]
    else:
        async with api.ctx.runtime.engine.connect() as connection:
            result = await connection.execute(sa.text("SELECT secret FROM webhook_targets"))
            stored = [row[0] for row in result]
    [column] = stored
    assert column.startswith(SEALED_PREFIX) and column != secret
    assert secret.removeprefix("whsec_") not in column
    token_part = column.removeprefix(SEALED_PREFIX)
    candidates = [column, token_part, "whsec_" + token_part, base64.b64encode(column.encode())]
    assert not [c for c in candidates if _verifies(c, sent)]
    # The column opens only with the secrets key, which lives outside the database.
    sealer = SecretSealer.from_settings(api.ctx.runtime.settings)
    assert _verifies(sealer.open(column), sent)
