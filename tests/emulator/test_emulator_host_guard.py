"""The emulator keeps vidgate's Host and Origin rules: a web page cannot make tasks on it, the
official SDK (no Origin) still can."""

from __future__ import annotations

import httpx
from runwayml import RunwayML

from vidgate.emulator.config import EmulatorConfig
from vidgate.emulator.server import EmulatorServer

API_KEY = "key_" + "cd" * 64
HEADERS = {"Authorization": f"Bearer {API_KEY}", "X-Runway-Version": "2024-11-06"}
T2V = {"model": "gen4.5", "promptText": "A kite", "ratio": "1280:720", "duration": 2}
PAGE = "http://127.0.0.9:1234"  # a web page the user has open, on another loopback origin


def test_a_cross_site_create_is_refused_and_the_sdk_still_creates(
    client: RunwayML, emulator: EmulatorServer
) -> None:
    url = f"{emulator.base_url}/v1/text_to_video"
    refused = [
        httpx.post(url, json=T2V, headers={**HEADERS, "Origin": PAGE}),
        httpx.post(url, json=T2V, headers={**HEADERS, "Origin": "null"}),
        httpx.post(url, json=T2V, headers={**HEADERS, "Sec-Fetch-Site": "cross-site"}),
        # The classic CSRF: a form post, which a browser sends without asking first.
        httpx.post(
            url,
            content=b"model=gen4.5",
            headers={**HEADERS, "Origin": PAGE, "Content-Type": "text/plain"},
        ),
    ]
    for answer in refused:
        assert answer.status_code == 403, answer.text
        message = answer.json()["error"]
        assert "refused" in message or "may not change anything" in message, message
        assert answer.headers["x-vidgate-emulator"] == "1"
    assert emulator.tasks() == []
    # The official SDK sends no Origin: it creates as before.
    task = client.text_to_video.create(
        model="gen4.5", prompt_text="A kite", ratio="1280:720", duration=2
    )
    assert [t["id"] for t in emulator.tasks()] == [task.id]
    # A page the emulator served itself is its own origin.
    own = httpx.post(url, json=T2V, headers={**HEADERS, "Origin": emulator.base_url})
    assert own.status_code == 200, own.text


def test_foreign_and_malformed_hosts_are_refused(emulator: EmulatorServer) -> None:
    url = f"{emulator.base_url}/v1/text_to_video"
    rebound = httpx.post(url, json=T2V, headers={**HEADERS, "Host": "attacker.example"})
    assert rebound.status_code == 421, rebound.text
    assert "--allowed-hosts" in rebound.json()["error"]
    malformed = httpx.post(url, json=T2V, headers={**HEADERS, "Host": "evil.example/x.localhost"})
    assert malformed.status_code == 400, malformed.text
    assert malformed.json()["error"].startswith("Host: 'evil.example/x.localhost' is not a valid")
    control = httpx.post(
        f"{emulator.base_url}/_emulator/reset",
        headers={**emulator.control_headers, "Origin": PAGE},
    )
    assert control.status_code == 403  # the control endpoint too, token or not
    assert emulator.tasks() == []
    port = emulator.base_url.rsplit(":", 1)[1]
    for host in (f"localhost:{port}", f"emulator.localhost:{port}", f"[::1]:{port}"):
        answer = httpx.get(f"{emulator.base_url}/_emulator/health", headers={"Host": host})
        assert answer.status_code == 200, host


def test_configured_hosts_and_origins_are_served() -> None:
    config = EmulatorConfig(task_seconds=0.3, pending_seconds=0.05)
    with EmulatorServer(
        config, allowed_hosts=("emulator.test",), allowed_origins=("https://app.example",)
    ) as server:
        url = f"{server.base_url}/v1/text_to_video"
        named = httpx.post(url, json=T2V, headers={**HEADERS, "Host": "emulator.test"})
        assert named.status_code == 200, named.text
        listed = httpx.post(url, json=T2V, headers={**HEADERS, "Origin": "https://app.example"})
        assert listed.status_code == 200, listed.text
        other = httpx.post(url, json=T2V, headers={**HEADERS, "Origin": "https://app.example.org"})
        assert other.status_code == 403
