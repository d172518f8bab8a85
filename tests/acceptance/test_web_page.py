"""The web page, in headless Chromium (Debian's /usr/bin/chromium driven by Playwright), against a
real ``vidgate serve`` process in emulator mode.

One walk through the page: the emulator banner; the recommender's advice and the model it picks;
the server's own price for the whole body; the request as JSON, curl, Python and Node; the
model's advanced fields from the catalog; a 422 shown under the field it names, with the focus
moved there; a 2 s gen4.5 video generated from the keyboard, its progress watched as it moves
(Server-Sent Events), then played in the output card (download, copy-link, the job id) and in the
gallery, where the <video> element reports a 2 s duration. Then a 12 s gen4.5 video (more than
one 10 s generation) made with the "Long video" checkbox: one chain job, watched and played; the
checkbox leaves the normal duration as it was. In keys mode the page asks for the key first and
shows nothing half-loaded. /docs renders offline. Screenshots of each step are kept in
test-artifacts/web/.

Chromium is not optional here: without it the test fails (``make test`` installs it).
"""

from __future__ import annotations

import base64
import contextlib
import io
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, sync_playwright
from serving import Served, run_vidgate, vidgate_env

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "web"


def wait_for(page: Page, script: str, *, timeout: float = 30.0, arg: Any = None) -> Any:
    """Poll a JS function until it returns something truthy; returns that.

    (Playwright's own wait_for_function evaluates strings, which the page's CSP forbids.)
    """
    deadline = time.monotonic() + timeout
    while True:
        value = page.evaluate(script, arg)
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {script}")
        time.sleep(0.05)


@contextlib.contextmanager
def browser_on(url: str) -> Iterator[tuple[Page, list[str]]]:
    """A page of headless Chromium on ``url``, and the page's errors and CSP violations."""
    assert CHROMIUM.exists(), f"{CHROMIUM} is missing: `make test` installs it (apt chromium)"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(base_url=url, viewport={"width": 1200, "height": 1000})
            page = context.new_page()
            page.set_default_timeout(30_000)
            page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
            page.on(
                "console",
                lambda m: problems.append(m.text) if "Security Policy" in m.text else None,
            )
            yield page, problems
        finally:
            browser.close()


@pytest.fixture
def browser_page(tmp_path: Path) -> Iterator[tuple[Page, list[str]]]:
    """The page on a fresh ``vidgate serve`` without API keys."""
    server = Served(env=vidgate_env(tmp_path / "var", task_seconds=3), cwd=tmp_path)
    try:
        with browser_on(server.url) as opened:
            yield opened
    finally:
        server.stop()


def test_generate_watch_and_play_a_video(browser_page: tuple[Page, list[str]]) -> None:
    p, problems = browser_page
    p.goto("/")

    # Emulator mode says so; the recommender advises gen4.5 and the form follows it.
    banner = p.locator("#emulator-banner")
    banner.wait_for(state="visible")
    assert "synthetic" in banner.inner_text()
    wait_for(p, "() => document.querySelector('#model').value === 'gen4.5'")
    wait_for(p, "() => document.querySelector('#advice-text').textContent.includes('gen4.5')")
    assert p.get_by_label("Kind of generation").input_value() == "text_to_video"
    ratios = p.locator("#ratio option").all_inner_texts()
    assert ratios == ["1280 × 720", "720 × 1280"]  # only what gen4.5 allows
    durations = p.locator("#duration-choice option").evaluate_all("os => os.map(o => o.value)")
    assert durations == [str(s) for s in range(2, 11)]
    p.screenshot(path=ARTIFACTS / "1-loaded.png", full_page=True)

    # The estimate is the server's, for the whole body, and follows the duration.
    def is_estimate(request: Any) -> bool:
        return request.method == "POST" and request.url.endswith("/v1/estimate")

    with p.expect_request(is_estimate) as priced:
        p.get_by_label("Duration (seconds)").select_option("2")
    assert priced.value.post_data_json["endpoint"] == "text_to_video"
    assert priced.value.post_data_json["ratio"] == "1280:720"
    wait_for(p, "() => document.querySelector('#estimate').textContent === '24 credits for 2 s'")

    # The model's optional fields come from the catalog; a seed set there is sent.
    p.locator("#advanced summary").click()
    assert p.get_by_label("Seed").get_attribute("type") == "number"
    assert "mp4" in p.locator("#adv-outputFormat option").all_inner_texts()
    p.get_by_label("Seed").fill("42")
    wait_for(p, "() => document.querySelector('#code-text').textContent.includes('\"seed\": 42')")
    # The request as the user would send it.
    p.get_by_role("tab", name="curl").click()
    curl = p.locator("#code-text").inner_text()
    assert curl.startswith("curl ") and "/v1/generations?wait=60" in curl and '"seed":42' in curl
    p.get_by_role("tab", name="Python").click()
    python = p.locator("#code-text").inner_text()
    assert "RunwayML(" in python and "/runway" in python and "seed=42" in python, python
    p.get_by_role("tab", name="Node").click()
    node = p.locator("#code-text").inner_text()
    assert "client.textToVideo" in node and "waitForTaskOutput" in node, node
    p.get_by_role("tab", name="JSON").click()

    # No prompt: the API's 422 is shown under the prompt, which gets the focus.
    p.get_by_role("button", name="Generate").click()
    error = p.locator("#err-promptText")
    error.wait_for(state="visible")
    assert "required by gen4.5" in error.inner_text()
    prompt = p.get_by_label("Prompt")
    assert prompt.get_attribute("aria-invalid") == "true"
    assert "err-promptText" in (prompt.get_attribute("aria-describedby") or "")
    assert p.evaluate("() => document.activeElement.id") == "prompt"
    assert p.locator("#form-error").is_hidden()  # nothing that names no field
    p.screenshot(path=ARTIFACTS / "2-validation-error.png", full_page=True)

    # Typed, then submitted from the keyboard.
    prompt.fill("a lighthouse at dusk, waves rolling in")
    p.keyboard.press("Tab")
    p.keyboard.press("Shift+Tab")
    assert p.evaluate("() => document.activeElement.id") == "prompt"
    p.locator("#submit").focus()
    p.keyboard.press("Enter")
    p.locator("#current").wait_for(state="visible")
    assert error.is_hidden()

    # The progress moves, live.
    seen: list[tuple[str, int]] = []
    shot = False
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        value, status = p.evaluate(
            "() => [document.querySelector('#current-progress').value,"
            " document.querySelector('#current-status').textContent]"
        )
        if not seen or seen[-1] != (status.split(" · ")[0], value):
            seen.append((status.split(" · ")[0], int(value)))
        if 30 <= value < 100 and not shot:
            p.screenshot(path=ARTIFACTS / "3-progress.png", full_page=True)
            shot = True
        if status.startswith(("succeeded", "failed", "cancelled")):
            break
        time.sleep(0.05)
    assert seen[-1] == ("succeeded", 100), seen
    assert any(state == "running" and 0 < value < 100 for state, value in seen), seen
    assert len({value for _, value in seen}) >= 3, seen
    assert "24 credits" in p.locator("#current-status").inner_text()

    # The output card plays it, with its id, a download and a link to copy.
    current = "#current-player video"
    wait_for(p, f"() => document.querySelector('{current}')?.readyState >= 1")
    wait_for(p, f"() => document.querySelector('{current}').currentTime > 0.3")  # autoplays
    job_id = p.locator("#current-id").inner_text()
    assert re.fullmatch(r"\w{26}", job_id), job_id
    assert p.locator("#current-download").get_attribute("href") == (
        f"/v1/generations/{job_id}/video"
    )
    assert p.get_by_role("button", name="Copy link").first.is_visible()
    assert p.locator("#code-text").inner_text().count('"seed": 42') == 1
    p.screenshot(path=ARTIFACTS / "4-played.png", full_page=True)

    # The Python snippet runs as shown: the official SDK, on vidgate's Runway surface.
    p.get_by_role("tab", name="Python").click()
    snippet = p.locator("#code-text").inner_text()
    ran = subprocess.run(
        [sys.executable, "-c", snippet], capture_output=True, text=True, timeout=120, check=False
    )
    assert ran.returncode == 0, (snippet, ran.stderr)
    assert ran.stdout.startswith("http://127.0.0.1:"), ran.stdout
    p.get_by_role("tab", name="JSON").click()

    # The gallery plays it: a real 2 s video, served by vidgate.
    card = p.locator("#gallery li.card").first
    assert "succeeded" in card.locator(".state").inner_text()
    video = card.locator("video")
    video.wait_for()
    wait_for(p, "() => document.querySelector('#gallery video').readyState >= 1")
    duration = p.evaluate("() => document.querySelector('#gallery video').duration")
    assert abs(duration - 2.0) < 0.2, duration
    assert p.evaluate("() => document.querySelector('#gallery video').videoWidth") == 1280
    assert "/v1/generations/" in (video.get_attribute("src") or "")
    p.evaluate("() => { const v = document.querySelector('#gallery video'); v.muted = true; }")
    p.evaluate("() => document.querySelector('#gallery video').play()")
    wait_for(p, "() => document.querySelector('#gallery video').currentTime > 0.5")
    assert card.get_by_role("link", name="Download").get_attribute("download")
    assert card.get_by_role("button", name="Cancel").count() == 0  # hidden once done
    p.screenshot(path=ARTIFACTS / "4b-gallery.png", full_page=True)

    assert not problems, problems


def test_a_chained_long_video_is_generated_watched_and_played(
    browser_page: tuple[Page, list[str]],
) -> None:
    """12 s of gen4.5 (whose longest generation is 10 s): the chain checkbox makes it one job."""
    import av

    p, problems = browser_page
    p.goto("/")
    wait_for(p, "() => document.querySelector('#model').value === 'gen4.5'")
    p.get_by_label("Model").select_option("gen4.5")
    chain = p.get_by_label("Long video: chain generations")
    chain.wait_for(state="visible")
    assert not chain.is_checked()
    # Toggling the chain leaves the length of one generation as the user chose it.
    p.get_by_label("Duration (seconds)").select_option("4")
    chain.check()
    chain.uncheck()
    assert p.locator("#duration-choice").input_value() == "4"
    chain.check()
    # Chained, the duration is free (up to 300 s) instead of gen4.5's list of 2 to 10 s.
    duration = p.locator("#duration")
    duration.wait_for(state="visible")
    assert p.locator("#duration-choice").is_hidden()
    assert duration.get_attribute("max") == "300"
    duration.fill("12")
    p.get_by_label("Prompt").fill("a lighthouse at dusk, the tide coming in")
    p.screenshot(path=ARTIFACTS / "7-chain-form.png", full_page=True)

    def is_submission(response: Any) -> bool:
        request = response.request
        return request.method == "POST" and response.url.endswith("/v1/generations")

    with p.expect_response(is_submission) as submitted:
        p.get_by_role("button", name="Generate").click()
    response = submitted.value
    assert response.status == 202, response.text()  # accepted: not a 422
    sent = response.request.post_data_json
    assert sent["endpoint"] == "chain" and sent["duration"] == 12, sent
    job_id = response.json()["id"]

    # Watched on the page to the end.
    p.locator("#current").wait_for(state="visible")
    assert p.locator("#form-error").is_hidden()
    seen: list[tuple[str, int]] = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        value, status = p.evaluate(
            "() => [document.querySelector('#current-progress').value,"
            " document.querySelector('#current-status').textContent]"
        )
        if not seen or seen[-1] != (status.split(" · ")[0], int(value)):
            seen.append((status.split(" · ")[0], int(value)))
        if status.startswith(("succeeded", "failed", "cancelled")):
            break
        time.sleep(0.1)
    assert seen[-1] == ("succeeded", 100), seen
    assert any(0 < value < 100 for _, value in seen), seen  # a segment done, not the chain

    # The API: one chain job, of two segments, whose stored video lasts 12 s.
    answer = p.request.get(f"/v1/generations/{job_id}")
    assert answer.ok, answer.text()
    job = answer.json()
    assert job["endpoint"] == "chain", job
    assert job["status"] == "succeeded", job
    assert job["request"]["duration"] == 12, job["request"]
    assert sum(job["request"]["segmentDurations"]) >= 12, job["request"]
    assert len(job["request"]["segmentDurations"]) == 2, job["request"]
    video_bytes = p.request.get(job["links"]["video"])
    assert video_bytes.ok
    with av.open(io.BytesIO(video_bytes.body())) as container:
        stream = container.streams.video[0]
        frame = 1 / float(stream.average_rate)
        probed = float(container.duration) / av.time_base
        frames = sum(1 for _ in container.decode(stream))
    assert abs(probed - 12.0) <= frame, (probed, frame)
    assert abs(frames * frame - 12.0) <= frame, (frames, frame)
    assert abs(job["output"]["durationSeconds"] - 12.0) <= frame, job["output"]

    # The page plays the chain's video (its card, not a segment's), a 12 s one.
    card = p.locator(f"#gallery li.card[data-job-id='{job_id}']")
    assert "succeeded" in card.locator(".state").inner_text()
    video = card.locator("video")
    video.wait_for()
    selector = f"#gallery li.card[data-job-id='{job_id}'] video"
    wait_for(p, "(s) => document.querySelector(s).readyState >= 1", arg=selector)
    shown = p.evaluate("(s) => document.querySelector(s).duration", selector)
    assert abs(shown - 12.0) <= frame, shown
    assert p.evaluate("(s) => document.querySelector(s).videoWidth", selector) == 1280
    assert f"/v1/generations/{job_id}" in (video.get_attribute("src") or "")
    p.evaluate("(s) => { document.querySelector(s).muted = true; }", selector)
    p.evaluate("(s) => document.querySelector(s).play()", selector)
    wait_for(p, "(s) => document.querySelector(s).currentTime > 0.5", arg=selector)
    p.screenshot(path=ARTIFACTS / "8-chain-played.png", full_page=True)

    assert not problems, problems


def png_bytes(width: int, height: int) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (200, 120, 40)).save(buffer, format="PNG")
    return buffer.getvalue()


DROP = """([selector, name, type, b64]) => {
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const data = new DataTransfer();
    data.items.add(new File([bytes], name, { type }));
    const zone = document.querySelector(selector);
    zone.dispatchEvent(new DragEvent("dragover", { dataTransfer: data, bubbles: true }));
    zone.dispatchEvent(new DragEvent("drop", { dataTransfer: data, bubbles: true }));
}"""


def test_with_api_keys_an_image_is_dropped_and_animated(tmp_path: Path) -> None:
    env = vidgate_env(tmp_path / "var", task_seconds=1)
    created = run_vidgate("keys", "create", "--name", "web", env=env, cwd=tmp_path)
    token = re.search(r"token: (vg_\S+)", created.stdout)
    assert created.returncode == 0 and token, created.stderr
    server = Served(env=env, cwd=tmp_path)
    try:
        with browser_on(server.url) as (p, problems):
            p.goto("/")
            # The server wants a key: the page asks first, with nothing half-loaded behind it.
            key = p.get_by_role("textbox", name="API key")
            key.wait_for(state="visible")
            assert p.locator("#playground").is_hidden()  # no empty selects, no stuck advice
            assert p.locator("#submit").is_disabled()
            status = p.locator("#server-status").inner_text()
            assert "reconnecting" not in status and "key" in status, status
            p.screenshot(path=ARTIFACTS / "5-keys-prompt.png", full_page=True)
            key.fill("vg_wrong")
            p.get_by_role("button", name="Use this key").click()
            wait_for(
                p, "() => document.querySelector('#err-apiKey').textContent.includes('refused')"
            )
            key.fill(token.group(1))
            p.get_by_role("button", name="Use this key").click()
            p.locator("#key-section").wait_for(state="hidden")
            wait_for(p, "() => !document.querySelector('#submit').disabled")
            wait_for(
                p, "() => document.querySelector('#advice-text').textContent.includes('gen4.5')"
            )
            assert p.locator("#model option").count() > 10

            p.get_by_label("What do you want to make?").select_option("image")
            wait_for(p, "() => document.querySelector('#endpoint').value === 'image_to_video'")
            zone = p.locator("[data-media-field=promptImage] .dropzone")
            zone.wait_for()
            assert p.get_by_label("Input image").get_attribute("type") == "file"

            # Not an image: the upload's 422 is shown next to the drop zone.
            text = base64.b64encode(b"not an image at all\n" * 20).decode()
            p.evaluate(
                DROP, ["[data-media-field=promptImage] .dropzone", "notes.txt", "text/plain", text]
            )
            error = p.locator("#err-promptImage")
            error.wait_for(state="visible")
            assert error.inner_text().startswith("notes.txt: ")
            assert p.get_by_label("Input image").get_attribute("aria-invalid") == "true"
            p.screenshot(path=ARTIFACTS / "6-upload-rejected.png", full_page=True)

            image = base64.b64encode(png_bytes(1280, 720)).decode()
            p.evaluate(
                DROP, ["[data-media-field=promptImage] .dropzone", "still.png", "image/png", image]
            )
            status = "() => document.querySelector('#status-promptImage').textContent"
            wait_for(p, f"() => ({status})().startsWith('Uploaded still.png (image, 1280×720')")
            assert error.is_hidden()
            p.get_by_label("Prompt").fill("the still comes alive")
            p.get_by_label("Duration (seconds)").select_option("2")
            p.get_by_role("button", name="Generate").click()

            card = p.locator("#gallery li.card").first
            card.locator("video").wait_for(timeout=60_000)
            wait_for(p, "() => document.querySelector('#gallery video').readyState >= 1")
            duration = p.evaluate("() => document.querySelector('#gallery video').duration")
            assert abs(duration - 2.0) < 0.2, duration
            src = card.locator("video").get_attribute("src") or ""
            assert src.startswith("blob:")  # fetched with the key: a <video> cannot send one
            assert "succeeded" in p.locator("#current-status").inner_text()
            p.screenshot(path=ARTIFACTS / "6b-keys-image-to-video.png", full_page=True)
            assert not problems, problems
    finally:
        server.stop()


def test_the_api_docs_render_offline(browser_page: tuple[Page, list[str]]) -> None:
    """/docs is Swagger UI from files vidgate serves itself: no request leaves the server."""
    p, problems = browser_page
    elsewhere: list[str] = []
    origin = p.context.pages[0].url if p.context.pages else ""
    p.on("request", lambda r: elsewhere.append(r.url) if "127.0.0.1" not in r.url else None)
    p.goto("/docs")
    p.locator("#swagger-ui .info .title").wait_for()
    assert "vidgate" in p.locator("#swagger-ui .info .title").inner_text()
    p.locator(".opblock-summary-path", has_text="/v1/generations").first.wait_for()
    p.screenshot(path=ARTIFACTS / "9-api-docs.png")
    assert not elsewhere, (origin, elsewhere)
    assert not problems, problems
