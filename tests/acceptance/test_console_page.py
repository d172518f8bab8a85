"""The operator console (``/console``) in headless Chromium (Debian's /usr/bin/chromium driven by
Playwright) against a real ``vidgate serve``, with real jobs made through it on the emulator.

Keys come from the CLI (``vidgate keys create --admin`` and plain ones, ``keys list`` showing
their roles). The page asks for a key, refuses a plain one (403 ``admin_required``) and opens for
the admin key: the spend chart draws a bar per key, the failures chart the failure code, the jobs
table lists the jobs and its filters narrow it; a key made in the page shows its token once, gets a
budget, and is revoked. Screenshots are kept in test-artifacts/console/.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import Page
from serving import Served, run_vidgate, vidgate_env
from test_web_page import ARTIFACTS as WEB_ARTIFACTS
from test_web_page import browser_on, wait_for

from vidgate.emulator.config import EmulatorConfig
from vidgate.emulator.server import EmulatorServer

ARTIFACTS = WEB_ARTIFACTS.parent / "console"
SECRET = "key_" + "c0ffee" * 21 + "ab"
BODY = {"endpoint": "text_to_video", "model": "gen4.5", "ratio": "1280:720", "duration": 2}


def make_key(env: dict[str, str], cwd: Path, name: str, *admin: str) -> tuple[str, str]:
    """(id, token) of a key made with ``vidgate keys create``."""
    created = run_vidgate("keys", "create", "--name", name, *admin, env=env, cwd=cwd)
    assert created.returncode == 0, created.stderr
    key_id = re.search(r"(ak_[0-9a-f]+)", created.stdout)
    token = re.search(r"token: (vg_\S+)", created.stdout)
    assert key_id and token, created.stdout
    return key_id.group(1), token.group(1)


def finish(url: str, token: str, prompt: str, **extra: Any) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=url, headers=headers, timeout=60) as client:
        made = client.post("/v1/generations", json={**BODY, "promptText": prompt, **extra})
        assert made.status_code == 202, made.text
        job: dict[str, Any] = made.json()
        deadline = time.monotonic() + 60
        while job["status"] not in ("succeeded", "failed", "cancelled"):
            assert time.monotonic() < deadline, job
            job = client.get(f"/v1/generations/{job['id']}", params={"wait": 10}).json()
        return job


def rows(p: Page) -> list[str]:
    """The job ids the table shows."""
    ids: list[str] = p.locator("#jobs tbody tr").evaluate_all("rs => rs.map(r => r.dataset.job)")
    return ids


def filtered(p: Page, expected: int) -> list[str]:
    wait_for(p, f"() => document.querySelectorAll('#jobs tbody tr').length === {expected}")
    return rows(p)


def test_the_console_shows_spend_failures_and_jobs_for_an_admin_key(tmp_path: Path) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    config = EmulatorConfig(task_seconds=0.3, pending_seconds=0, api_key=SECRET)
    with EmulatorServer(config) as emulator:
        env = vidgate_env(
            tmp_path / "var", RUNWAYML_API_SECRET=SECRET, RUNWAYML_BASE_URL=emulator.base_url
        )
        admin_id, admin = make_key(env, tmp_path, "ops", "--admin")
        a_id, team_a = make_key(env, tmp_path, "team-a")
        b_id, team_b = make_key(env, tmp_path, "team-b")
        listed = json.loads(run_vidgate("keys", "list", "--json", env=env, cwd=tmp_path).stdout)
        assert {k["id"]: k["role"] for k in listed} == {
            admin_id: "admin",
            a_id: "user",
            b_id: "user",
        }
        table = run_vidgate("keys", "list", env=env, cwd=tmp_path).stdout
        assert re.search(r"ops\s+.*admin", table), table

        server = Served(env=env, cwd=tmp_path)
        try:
            jobs = [
                finish(server.url, team_a, "a lighthouse at dusk"),
                finish(server.url, team_a, "a tram at night", duration=3),
                finish(server.url, team_b, "a field of wheat"),
            ]
            emulator.control(failRate=1, failureCode="SAFETY.INPUT.TEXT")
            failed = finish(server.url, team_b, "a storm over the harbour")
            emulator.control(failRate=0)
            assert [j["status"] for j in jobs] == ["succeeded"] * 3
            assert failed["status"] == "failed"
            walk_through_the_console(server.url, admin, team_a, a_id, jobs, failed)
        finally:
            server.stop()


def walk_through_the_console(
    url: str,
    admin: str,
    plain: str,
    a_id: str,
    jobs: list[dict[str, Any]],
    failed: dict[str, Any],
) -> None:
    with browser_on(url) as (p, problems):
        p.goto("/console")
        # Keys are on and the browser holds none: the page asks, and refuses a plain key.
        p.locator("#key-section").wait_for(state="visible")
        p.get_by_label("Admin API key").fill(plain)
        p.get_by_role("button", name="Use this key").click()
        error = p.locator("#err-apiKey")
        error.wait_for(state="visible")
        assert error.inner_text() == "That key is not an admin key."
        assert p.locator("#console").is_hidden()
        p.screenshot(path=ARTIFACTS / "1-plain-key-refused.png", full_page=True)

        p.get_by_label("Admin API key").fill(admin)
        p.get_by_role("button", name="Use this key").click()
        p.locator("#console").wait_for(state="visible")

        # The spend chart: today's bar stacked from both teams' spend, a legend entry each.
        wait_for(p, "() => document.querySelectorAll('#spend-chart rect.bar').length === 2")
        series = p.locator("#spend-chart rect.bar").evaluate_all(
            "bars => bars.map(b => b.dataset.series).sort()"
        )
        assert series == ["team-a", "team-b"]
        legend = p.locator("#spend-chart .legend").inner_text()
        spent_a = sum(j["costCredits"] for j in jobs[:2])
        assert "team-a" in legend and f"{spent_a:g} credits" in legend, legend
        assert p.locator("#spend-chart svg.bars").get_attribute("role") == "img"
        # The failures chart: the code of the failed job.
        wait_for(p, "() => document.querySelectorAll('#failures-chart rect.bar').length === 1")
        bar = p.locator("#failures-chart rect.bar")
        assert bar.get_attribute("data-series") == "SAFETY.INPUT.TEXT"
        # The jobs table: every job, newest first, with its key and status.
        ids = filtered(p, 4)
        assert ids == [failed["id"], *[j["id"] for j in reversed(jobs)]]
        first = p.locator("#jobs tbody tr").first
        assert "team-b" in first.inner_text() and "SAFETY.INPUT.TEXT" in first.inner_text()
        # The service: the provider up, storage used, the tier's slots.
        assert p.locator("#provider-state").inner_text() == "runway: up"
        assert re.fullmatch(r"[\d.]+ (kB|MB)", p.locator("#storage-bytes").inner_text())
        assert p.locator("#storage-detail").inner_text() == "3 videos kept"
        p.screenshot(path=ARTIFACTS / "2-console.png", full_page=True)
        p.get_by_label("Show idle models").check()
        p.locator("#slots tbody tr[data-model='gen4.5']").wait_for()
        assert "of 5" in p.locator("#slots tbody tr[data-model='gen4.5']").inner_text()
        p.get_by_label("Show idle models").uncheck()

        # Filters: status, key, failure code, text.
        p.get_by_label("Status", exact=True).select_option("failed")
        assert filtered(p, 1) == [failed["id"]]
        p.get_by_label("Status", exact=True).select_option("")
        filtered(p, 4)
        p.get_by_label("Key", exact=True).select_option(a_id)
        assert filtered(p, 2) == [jobs[1]["id"], jobs[0]["id"]]
        p.get_by_label("Key", exact=True).select_option("")
        filtered(p, 4)
        p.get_by_label("Text", exact=True).fill("HARBOUR")
        p.get_by_role("button", name="Filter").click()
        assert filtered(p, 1) == [failed["id"]]
        p.get_by_label("Text", exact=True).fill("")
        p.get_by_label("Failure code").fill("SAFETY.INPUT.TEXT")
        p.get_by_role("button", name="Filter").click()
        assert filtered(p, 1) == [failed["id"]]
        p.screenshot(path=ARTIFACTS / "3-filtered.png", full_page=True)

        # A key made in the page: its token once, a budget, then revoked.
        p.get_by_label("New key for").fill("team-c")
        p.get_by_role("button", name="Create key").click()
        token = p.locator("#new-token-value")
        token.wait_for(state="visible")
        assert token.inner_text().startswith("vg_")
        row = p.locator("#keys tbody tr", has_text="team-c")
        row.wait_for()
        row.get_by_label("Per day of team-c").fill("100")
        row.get_by_role("button", name="Set").click()
        wait_for(
            p,
            "() => [...document.querySelectorAll('#keys tbody tr')].some(r => "
            "r.innerText.includes('team-c') && r.innerText.includes('100/day'))",
        )
        p.once("dialog", lambda dialog: dialog.accept())
        row.get_by_role("button", name="Revoke").click()
        wait_for(
            p,
            "() => [...document.querySelectorAll('#keys tbody tr')].some(r => "
            "r.innerText.includes('team-c') && r.innerText.includes('revoked'))",
        )
        with httpx.Client(base_url=url) as client:
            headers = {"Authorization": f"Bearer {token.inner_text()}"}
            assert client.get("/v1/generations", headers=headers).status_code == 401
        p.screenshot(path=ARTIFACTS / "4-keys.png", full_page=True)
        assert not problems, problems


def test_without_keys_the_console_opens_and_keeps_the_first_admin_key(tmp_path: Path) -> None:
    """A loopback server without keys: the console opens at once and says that the first key turns
    keys on; an admin key made there becomes the page's own, so the console stays open."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    server = Served(env=vidgate_env(tmp_path / "var"), cwd=tmp_path)
    try:
        with browser_on(server.url) as (p, problems):
            p.goto("/console")
            p.locator("#console").wait_for(state="visible")
            assert p.locator("#key-section").is_hidden()
            assert "turns keys on" in p.locator("#auth-banner").inner_text()
            assert "auth off" in p.locator("#server-status").inner_text()
            wait_for(p, "() => document.querySelector('#spend-chart .chart-empty') !== null")
            p.screenshot(path=ARTIFACTS / "5-auth-off.png", full_page=True)

            p.get_by_label("New key for").fill("ops")
            p.get_by_role("checkbox", name="Admin key").check()
            p.get_by_role("button", name="Create key").click()
            p.locator("#new-token-value").wait_for(state="visible")
            token = p.locator("#new-token-value").inner_text()
            wait_for(
                p, "() => document.querySelector('#server-status').textContent.includes('API keys')"
            )
            assert p.locator("#auth-banner").is_hidden() and p.locator("#console").is_visible()
            assert p.evaluate("() => localStorage.getItem('vidgate.apiKey')") == token
            assert p.locator("#keys tbody tr", has_text="admin").count() == 1
            with httpx.Client(base_url=server.url) as client:
                assert client.get("/v1/admin/system").status_code == 401  # keys are on now
            p.screenshot(path=ARTIFACTS / "6-first-admin-key.png", full_page=True)
            assert not problems, problems
    finally:
        server.stop()
