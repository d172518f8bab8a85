"""The gallery's moving previews, in headless Chromium against a real ``vidgate serve``.

A video is generated through the API; on the page, the pointer over its card shows the animated
WebP from ``GET /v1/generations/{id}/preview`` over the paused video, and it moves. The screenshot
is kept in test-artifacts/web/9-preview-hover.png. A job stored without its preview (as an older
vidgate could leave one) still plays on the page, and ``vidgate previews`` makes the preview.
"""

from __future__ import annotations

import re
from pathlib import Path

import httpx
from serving import Served, run_vidgate, vidgate_env
from test_web_page import ARTIFACTS, browser_on, wait_for

GENERATION = {
    "endpoint": "text_to_video",
    "model": "gen4.5",
    "promptText": "a paper boat drifting down a rainy street",
    "ratio": "1280:720",
    "duration": 3,
}


def test_the_gallery_plays_a_moving_preview_on_hover(tmp_path: Path) -> None:
    server = Served(env=vidgate_env(tmp_path / "var", task_seconds=1), cwd=tmp_path)
    try:
        job = httpx.post(f"{server.url}/v1/generations?wait=60", json=GENERATION, timeout=90).json()
        assert job["status"] == "succeeded", job
        preview = httpx.get(f"{server.url}{job['links']['preview']}", timeout=30)
        assert preview.status_code == 200
        assert preview.headers["content-type"] == "image/webp"
        assert job["output"]["provenance"]["valid"] is True
        with browser_on(server.url) as (page, problems):
            page.goto("/")
            screen = page.locator("#gallery li.card .screen").first
            screen.wait_for()
            wait_for(page, "() => document.querySelector('#gallery .screen[data-preview]')")
            screen.hover()
            wait_for(
                page,
                "() => { const i = document.querySelector('#gallery img.preview');"
                " return i && !i.hidden && i.complete && i.naturalWidth > 0; }",
            )
            assert (
                page.evaluate("() => document.querySelector('#gallery img.preview').naturalWidth")
                == 320
            )
            shown = page.locator("#gallery img.preview").first
            first = shown.screenshot()
            # It moves: a later picture of the animation differs from the first one.
            later = first
            for _ in range(40):
                later = shown.screenshot()
                if later != first:
                    break
            assert later != first
            page.screenshot(path=ARTIFACTS / "9-preview-hover.png", full_page=True)
            page.mouse.move(0, 0)
            wait_for(page, "() => document.querySelector('#gallery img.preview').hidden")
            assert not problems, problems
    finally:
        server.stop()


def test_a_job_without_its_preview_plays_and_vidgate_previews_makes_it(tmp_path: Path) -> None:
    env = vidgate_env(tmp_path / "var", task_seconds=1)
    created = run_vidgate("keys", "create", "--name", "web", env=env, cwd=tmp_path)
    token = re.search(r"token: (vg_\S+)", created.stdout)
    assert created.returncode == 0 and token, created.stderr
    auth = {"Authorization": f"Bearer {token.group(1)}"}
    server = Served(env=env, cwd=tmp_path)
    try:
        job = httpx.post(
            f"{server.url}/v1/generations?wait=60", json=GENERATION, headers=auth, timeout=90
        ).json()
        assert job["status"] == "succeeded", job
        # Stored by an older vidgate, which made the preview after the job: a crash lost it.
        stored = tmp_path / "var" / "media" / "jobs" / job["id"] / "preview.webp"
        stored.unlink()
        missing = httpx.get(f"{server.url}{job['links']['preview']}", headers=auth, timeout=30)
        assert missing.status_code == 404
        assert "vidgate previews" in missing.json()["error"]["message"]

        with browser_on(server.url) as (page, problems):
            page.goto("/")
            page.get_by_role("textbox", name="API key").fill(token.group(1))
            page.get_by_role("button", name="Use this key").click()
            card = page.locator("#gallery li.card").first
            card.locator("video").wait_for()
            # The video plays all the same (fetched with the key), under its poster alone.
            wait_for(page, "() => document.querySelector('#gallery video').readyState >= 1")
            assert (card.locator("video").get_attribute("src") or "").startswith("blob:")
            assert (card.locator("video").get_attribute("poster") or "").startswith("blob:")
            assert card.locator(".screen[data-preview]").count() == 0
            assert "could not be loaded" not in card.inner_text()
            assert not problems, problems

        made = run_vidgate("previews", env=env, cwd=tmp_path)
        assert made.returncode == 0, made.stderr
        assert made.stdout.strip() == "1 job checked, 1 preview made"
        preview = httpx.get(f"{server.url}{job['links']['preview']}", headers=auth, timeout=30)
        assert preview.status_code == 200
        assert preview.content[:4] == b"RIFF" and preview.content[8:12] == b"WEBP"
        again = run_vidgate("previews", env=env, cwd=tmp_path)
        assert again.stdout.strip() == "1 job checked, 0 previews made"
    finally:
        server.stop()
