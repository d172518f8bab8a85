"""Every endpoint and every seed model through the official Python SDK, outputs probed.

Inputs arrive every way Runway takes them: data URIs, ``uploads.create_ephemeral`` then the
``runway://`` URI, and https URLs (served from loopback through the ``hostMap`` knob). Legacy
models the SDK dropped (veo3, gen4_aleph) go through the SDK's raw ``client.post``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from runwayml import RunwayML

from vidgate.catalog import MediaKind
from vidgate.emulator.server import EmulatorServer
from vidgate.emulator.testing import (
    MediaHost,
    data_uri,
    download,
    still_image,
    video_clip,
    wait_for_task,
)
from vidgate.media.probe import probe_media

FPS = 24
MEDIA_HOST = "media.example.com"  # served from loopback through the hostMap knob


@dataclass
class Env:
    client: RunwayML
    emulator: EmulatorServer
    media: MediaHost

    def upload(self, name: str, data: bytes) -> str:
        return self.client.uploads.create_ephemeral(file=(name, data)).uri

    def https(self, path: str, data: bytes, content_type: str) -> str:
        self.media.file(path, data, content_type)
        return f"https://{MEDIA_HOST}{path}"


Created = tuple[str, tuple[int, int, float]]  # task id, expected (width, height, seconds)
Case = Callable[[Env], Created]


def _raw_post(env: Env, endpoint: str, body: dict[str, Any]) -> str:
    created = env.client.post(f"/v1/{endpoint}", body=body, cast_to=dict[str, Any])
    assert set(created) == {"id", "estimatedCost"}
    return str(created["id"])


def gen45_t2v(env: Env) -> Created:
    task = env.client.text_to_video.create(
        model="gen4.5", prompt_text="A lighthouse at dusk", ratio="720:1280", duration=2
    )
    return task.id, (720, 1280, 2)


def gen45_i2v(env: Env) -> Created:
    image = data_uri(still_image(320, 240), "image/png")
    task = env.client.image_to_video.create(
        model="gen4.5", prompt_image=image, prompt_text="The sun rises", ratio="960:960", duration=2
    )
    return task.id, (960, 960, 2)


def gen4_turbo_i2v(env: Env) -> Created:
    uri = env.upload("still.jpg", still_image(320, 240, fmt="JPEG"))
    task = env.client.image_to_video.create(
        model="gen4_turbo", prompt_image=uri, ratio="832:1104", duration=2
    )
    return task.id, (832, 1104, 2)


def veo31_t2v(env: Env) -> Created:
    task = env.client.text_to_video.create(
        model="veo3.1", prompt_text="Waves on a pier", ratio="1280:720", duration=4
    )
    return task.id, (1280, 720, 4)


def veo31_i2v(env: Env) -> Created:
    first = env.https("/veo/first.png", still_image(200, 300, color=(10, 90, 200)), "image/png")
    last = env.https("/veo/last.png", still_image(200, 300, color=(220, 200, 20)), "image/png")
    task = env.client.image_to_video.create(
        model="veo3.1",
        prompt_image=[{"uri": first, "position": "first"}, {"uri": last, "position": "last"}],
        ratio="720:1280",
        duration=4,
    )
    return task.id, (720, 1280, 4)


def veo31_fast_t2v(env: Env) -> Created:
    task = env.client.text_to_video.create(
        model="veo3.1_fast", prompt_text="A red kite", ratio="1280:720", duration=4, audio=True
    )
    return task.id, (1280, 720, 4)


def veo31_fast_i2v(env: Env) -> Created:
    image = data_uri(still_image(320, 180, fmt="JPEG"), "image/jpeg")
    task = env.client.image_to_video.create(
        model="veo3.1_fast", prompt_image=image, ratio="1280:720", duration=4
    )
    return task.id, (1280, 720, 4)


def seedance2_t2v(env: Env) -> Created:
    task = env.client.text_to_video.create(
        model="seedance2", prompt_text="A product on a turntable", ratio="640:640", duration=4
    )
    return task.id, (640, 640, 4)


def seedance2_i2v_keyframes(env: Env) -> Created:
    first = env.upload("first.png", still_image(320, 320, color=(0, 120, 0)))
    last = env.upload("last.png", still_image(320, 320, color=(120, 0, 120)))
    task = env.client.image_to_video.create(
        model="seedance2",
        prompt_image=[{"uri": first, "position": "first"}, {"uri": last, "position": "last"}],
        ratio="640:640",
        duration="auto",
    )
    return task.id, (640, 640, 5)  # "auto" without an input video: the 5 s default


def seedance2_i2v_references(env: Env) -> Created:
    refs = [data_uri(still_image(320, 240, color=c), "image/png") for c in [(9, 9, 9), (99, 9, 9)]]
    task = env.client.image_to_video.create(
        model="seedance2", prompt_image=[{"uri": u} for u in refs], duration=4
    )
    return task.id, (320, 240, 4)  # no ratio: follows the reference image


def seedance2_v2v(env: Env) -> Created:
    uri = env.upload("input.mp4", video_clip(1280, 720, 1.0))
    task = env.client.video_to_video.create(
        model="seedance2", prompt_video=uri, prompt_text="Make it winter", ratio="864:496"
    )
    return task.id, (864, 496, 4)  # a 1 s input, clamped to seedance2's 4 s minimum


def aleph2_v2v(env: Env) -> Created:
    url = env.https("/aleph/input.mp4", video_clip(320, 240, 2.0), "video/mp4")
    task = env.client.video_to_video.create(
        model="aleph2", video_uri=url, prompt_text="Add falling snow"
    )
    return task.id, (320, 240, 2)  # follows the input video


def act_two(env: Env) -> Created:
    reference = env.upload("performance.mp4", video_clip(160, 120, 3.0))
    character = data_uri(still_image(240, 320), "image/png")
    task = env.client.character_performance.create(
        model="act_two",
        character={"type": "image", "uri": character},
        reference={"type": "video", "uri": reference},
        ratio="960:960",
        expression_intensity=3,
    )
    return task.id, (960, 960, 3)  # as long as the reference clip


def veo3_t2v_legacy(env: Env) -> Created:
    body = {"model": "veo3", "promptText": "A glacier", "ratio": "1280:720", "duration": 8}
    return _raw_post(env, "text_to_video", body), (1280, 720, 8)


def veo3_i2v_legacy(env: Env) -> Created:
    image = data_uri(still_image(180, 320), "image/png")
    body = {"model": "veo3", "promptImage": image, "ratio": "720:1280", "duration": 8}
    return _raw_post(env, "image_to_video", body), (720, 1280, 8)


def gen4_aleph_v2v_legacy(env: Env) -> Created:
    video = data_uri(video_clip(320, 240, 2.0), "video/mp4")
    body = {
        "model": "gen4_aleph",
        "videoUri": video,
        "promptText": "Turn it to night",
        "ratio": "1280:720",  # deprecated and ignored: the output follows the input
    }
    return _raw_post(env, "video_to_video", body), (320, 240, 2)


CASES: dict[str, Case] = {
    "gen4.5-text_to_video": gen45_t2v,
    "gen4.5-image_to_video": gen45_i2v,
    "gen4_turbo-image_to_video": gen4_turbo_i2v,
    "veo3.1-text_to_video": veo31_t2v,
    "veo3.1-image_to_video": veo31_i2v,
    "veo3.1_fast-text_to_video": veo31_fast_t2v,
    "veo3.1_fast-image_to_video": veo31_fast_i2v,
    "seedance2-text_to_video": seedance2_t2v,
    "seedance2-image_to_video-keyframes": seedance2_i2v_keyframes,
    "seedance2-image_to_video-references": seedance2_i2v_references,
    "seedance2-video_to_video": seedance2_v2v,
    "aleph2-video_to_video": aleph2_v2v,
    "act_two-character_performance": act_two,
    "veo3-text_to_video-legacy": veo3_t2v_legacy,
    "veo3-image_to_video-legacy": veo3_i2v_legacy,
    "gen4_aleph-video_to_video-legacy": gen4_aleph_v2v_legacy,
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_model_output_is_a_real_mp4_of_the_requested_shape(
    case: Case, client: RunwayML, emulator: EmulatorServer, media_host: MediaHost
) -> None:
    emulator.control(hostMap=media_host.host_map(MEDIA_HOST))
    task_id, (width, height, seconds) = case(Env(client, emulator, media_host))

    task = wait_for_task(client, task_id)

    assert task.status == "SUCCEEDED", task
    assert task.output and len(task.output) == 1
    info = probe_media(download(task.output[0]))
    assert info.kind is MediaKind.VIDEO
    assert info.mime_type == "video/mp4"
    assert info.video_codec == "h264"
    assert (info.width, info.height) == (width, height)
    assert info.duration_seconds is not None
    assert abs(info.duration_seconds - seconds) <= 1 / FPS


def test_https_media_is_fetched_with_head_then_get_and_runways_user_agent(
    client: RunwayML, emulator: EmulatorServer, media_host: MediaHost
) -> None:
    emulator.control(hostMap=media_host.host_map(MEDIA_HOST))
    env = Env(client, emulator, media_host)
    url = env.https("/ua/first.png", still_image(64, 64), "image/png")
    client.image_to_video.create(model="gen4_turbo", prompt_image=url, ratio="960:960")
    seen = [(method, ua) for method, path, ua in media_host.requests if path == "/ua/first.png"]
    assert [m for m, _ in seen] == ["HEAD", "GET"]
    assert all(ua.startswith("RunwayML API/") for _, ua in seen)


def test_auto_duration_is_billed_at_the_maximum_then_refunded(
    client: RunwayML, emulator: EmulatorServer
) -> None:
    created = client.text_to_video.create(
        model="seedance2", prompt_text="A slow pan", ratio="640:640", duration="auto"
    )
    assert created.estimated_cost is not None
    estimate = created.estimated_cost.credits
    task = wait_for_task(client, created.id)
    assert task.status == "SUCCEEDED"
    # seedance2 costs 36 credits/s: 15 s billed up front, 5 s produced.
    assert (estimate, task.cost.credits) == (540, 180)  # type: ignore[union-attr]
