"""The gallery, in headless Chromium against a real ``vidgate serve`` (helpers of
test_web_page.py): videos of mixed ratios (landscape, portrait, square) packed without holes,
each card the shape of its video; a cancelled and a failed job saying what was charged (nothing)
rather than their estimate; a card run again with its settings through the form. Screenshots in
test-artifacts/web/ (10-gallery-mixed-ratios.png, 11-rerun-form.png, 12-rerun-done.png).
"""

from __future__ import annotations

import itertools
import json
import time
from pathlib import Path
from typing import Any

import httpx
from serving import Served, vidgate_env
from test_web_page import ARTIFACTS, browser_on, wait_for

from vidgate.emulator.server import EmulatorControl

LANDSCAPE = {
    "endpoint": "text_to_video",
    "model": "gen4.5",
    "promptText": "a lighthouse at dusk",
    "ratio": "1280:720",
    "duration": 2,
}
PORTRAIT = {**LANDSCAPE, "promptText": "a waterfall in a narrow gorge", "ratio": "720:1280"}
SQUARE = {
    "endpoint": "text_to_video",
    "model": "kling3.0_standard",
    "promptText": "a round pond seen from above",
    "ratio": "960:960",
    "duration": 3,
}

# Every card, by job id: its box, its picture's box, the video's size, and its cost line.
CARDS = """() => [...document.querySelectorAll('#gallery li.card')].map((card) => {
    const box = card.getBoundingClientRect();
    const screen = card.querySelector('.screen').getBoundingClientRect();
    const video = card.querySelector('video');
    return {
        id: card.dataset.jobId, left: box.left, top: box.top, bottom: box.bottom,
        height: box.height, screenWidth: screen.width, screenHeight: screen.height,
        videoWidth: video ? video.videoWidth : 0, videoHeight: video ? video.videoHeight : 0,
        cost: card.querySelector('.cost').textContent,
        state: card.querySelector('.state').textContent,
    };
})"""


def _finished(client: httpx.Client, body: dict[str, Any]) -> dict[str, Any]:
    job = client.post("/v1/generations", json=body).json()
    return _end(client, job)


def _end(client: httpx.Client, job: dict[str, Any]) -> dict[str, Any]:
    deadline = time.monotonic() + 90
    while job["status"] not in ("succeeded", "failed", "cancelled"):
        assert time.monotonic() < deadline, job
        job = client.get(f"/v1/generations/{job['id']}", params={"wait": 10}).json()
    return job


def _emulator(data: Path) -> EmulatorControl:
    published = json.loads((data / "emulator" / "emulator.json").read_text())
    return EmulatorControl(published["url"], token=published["controlToken"])


def test_mixed_ratios_pack_ended_cards_say_what_was_charged_and_a_card_runs_again(
    tmp_path: Path,
) -> None:
    data = tmp_path / "var"
    server = Served(env=vidgate_env(data, task_seconds=1), cwd=tmp_path)
    try:
        with httpx.Client(base_url=server.url, timeout=60) as client:
            made = [
                _finished(client, body)
                for body in (
                    LANDSCAPE,
                    {**PORTRAIT, "seed": 7},
                    SQUARE,
                    {**PORTRAIT, "promptText": "a tall clock tower"},
                    {**LANDSCAPE, "promptText": "a harbour at noon"},
                )
            ]
            assert all(job["status"] == "succeeded" for job in made), made
            emulator = _emulator(data)
            # A job cancelled while its task runs: its estimate was 24 credits, none charged.
            emulator.control(taskSeconds=60)
            running = client.post(
                "/v1/generations", json={**LANDSCAPE, "promptText": "a slow sunrise"}
            ).json()
            cancelled = _end(client, client.delete(f"/v1/generations/{running['id']}").json())
            # A job the provider fails.
            emulator.control(taskSeconds=1, failRate=1, failureCode="SAFETY.INPUT.TEXT")
            failed = _finished(client, {**LANDSCAPE, "promptText": "a storm at sea"})
            emulator.control(failRate=0)
        assert cancelled["status"] == "cancelled" and cancelled["estimatedCredits"] == 24
        assert cancelled["costCredits"] in (None, 0), cancelled
        assert failed["status"] == "failed" and failed["estimatedCredits"] == 24
        rerun_source = made[1]

        with browser_on(server.url) as (page, problems):
            page.goto("/")
            wait_for(page, "() => document.querySelectorAll('#gallery li.card').length === 7")
            wait_for(
                page,
                "() => [...document.querySelectorAll('#gallery video')]"
                ".filter((v) => v.readyState >= 1).length === 5",
            )
            cards = {card["id"]: card for card in page.evaluate(CARDS)}

            # Ended without a video: what was charged, not the estimate.
            assert cards[cancelled["id"]]["cost"] == "charged 0 credits", cards[cancelled["id"]]
            assert cards[failed["id"]]["cost"] == "charged 0 credits", cards[failed["id"]]
            assert (
                "SAFETY" in cards[failed["id"]]["state"]
                or "moderation" in (cards[failed["id"]]["state"])
            )
            assert cards[made[0]["id"]]["cost"] == "24 credits"

            # Each card is its video's shape.
            for job in made:
                card = cards[job["id"]]
                width, height = job["output"]["width"], job["output"]["height"]
                assert (card["videoWidth"], card["videoHeight"]) == (width, height)
                shown = card["screenWidth"] / card["screenHeight"]
                assert abs(shown - width / height) < 0.02, (card, width, height)

            # Packed: in each column, each card starts one gap below the one above it.
            gap = page.evaluate(
                "() => parseFloat(getComputedStyle(document.querySelector('#gallery')).columnGap)"
            )
            row = page.evaluate(
                "() => parseFloat(getComputedStyle(document.querySelector('#gallery'))"
                ".gridAutoRows)"
            )
            columns: dict[int, list[dict[str, Any]]] = {}
            for card in cards.values():
                columns.setdefault(round(card["left"]), []).append(card)
            assert len(columns) >= 3, columns
            top = min(card["top"] for card in cards.values())
            for stack in columns.values():
                stack.sort(key=lambda card: card["top"])
                assert abs(stack[0]["top"] - top) < 1, stack
                for above, below in itertools.pairwise(stack):
                    space = below["top"] - above["bottom"]
                    assert gap - 1 <= space <= gap + row + 1, (above, below)
            # ... which a grid of equal rows could not do: the first row's cards differ in
            # height, and a card of the second row starts above the first row's tallest bottom.
            first_row = [stack[0] for stack in columns.values()]
            assert max(c["height"] for c in first_row) - min(c["height"] for c in first_row) > 100
            later = [card for stack in columns.values() for card in stack[1:]]
            assert min(c["top"] for c in later) < max(c["bottom"] for c in first_row)
            page.screenshot(path=ARTIFACTS / "10-gallery-mixed-ratios.png", full_page=True)

            # Re-run: the portrait job's settings come back into the form.
            card = page.locator(f"#gallery li.card[data-job-id='{rerun_source['id']}']")
            card.get_by_role("button", name="Re-run").click()
            note = page.locator("#rerun-note")
            note.wait_for(state="visible")
            assert rerun_source["id"] in note.inner_text()
            assert page.get_by_label("Model").input_value() == "gen4.5"
            assert page.get_by_label("Kind of generation").input_value() == "text_to_video"
            assert page.get_by_label("Prompt").input_value() == PORTRAIT["promptText"]
            assert page.get_by_label("Ratio", exact=True).input_value() == "720:1280"
            assert page.locator("#duration-choice").input_value() == "2"
            assert page.locator("#adv-seed").input_value() == "7"
            wait_for(
                page,
                "() => document.querySelector('#estimate').textContent === '24 credits for 2 s'",
            )
            assert page.evaluate("() => document.activeElement.id") == "generate-heading"
            page.screenshot(path=ARTIFACTS / "11-rerun-form.png", full_page=True)

            def is_submission(response: Any) -> bool:
                request = response.request
                return request.method == "POST" and response.url.endswith("/v1/generations")

            with page.expect_response(is_submission) as submitted:
                page.get_by_role("button", name="Generate").click()
            assert submitted.value.status == 202, submitted.value.text()
            sent = submitted.value.request.post_data_json
            assert sent == {**PORTRAIT, "seed": 7}, sent
            again = submitted.value.json()["id"]
            assert note.is_hidden()
            selector = f"#gallery li.card[data-job-id='{again}'] video"
            wait_for(page, "(s) => document.querySelector(s)?.readyState >= 1", arg=selector)
            assert page.evaluate("(s) => document.querySelector(s).videoHeight", selector) == 1280
            page.screenshot(path=ARTIFACTS / "12-rerun-done.png", full_page=True)
            assert not problems, problems
    finally:
        server.stop()
