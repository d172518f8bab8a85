"""The gallery's moving previews, in headless Chromium against a real ``vidgate serve``.

A video is generated through the API; on the page, the pointer over its card shows the animated
WebP from ``GET /v1/generations/{id}/preview`` over the paused video, and it moves. The screenshot
is kept in test-artifacts/web/9-preview-hover.png.
"""

from __future__ import annotations

from pathlib import Path

import httpx
from serving import Served, vidgate_env
from test_web_page import ARTIFACTS, browser_on, wait_for


def test_the_gallery_plays_a_moving_preview_on_hover(tmp_path: Path) -> None:
    server = Served(env=vidgate_env(tmp_path / "var", task_seconds=1), cwd=tmp_path)
    try:
        job = httpx.post(
            f"{server.url}/v1/generations?wait=60",
            json={
                "endpoint": "text_to_video",
                "model": "gen4.5",
                "promptText": "a paper boat drifting down a rainy street",
                "ratio": "1280:720",
                "duration": 3,
            },
            timeout=90,
        ).json()
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
