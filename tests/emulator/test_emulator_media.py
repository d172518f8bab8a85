"""Media fields follow Runway's rules: how URLs are fetched, what the bytes must be."""

from __future__ import annotations

import pytest
import runwayml
from runwayml import RunwayML

from vidgate.emulator.server import EmulatorServer
from vidgate.emulator.testing import (
    MediaHost,
    data_uri,
    download,
    still_image,
    video_clip,
    wait_for_task,
)
from vidgate.media.frames import extract_frame
from vidgate.media.probe import probe_media

HOST = "cdn.example.com"
PNG = still_image(64, 64)


def _i2v_error(client: RunwayML, image: str) -> str:
    with pytest.raises(runwayml.BadRequestError) as raised:
        client.image_to_video.create(
            model="gen4_turbo", prompt_image=image, ratio="960:960", duration=2
        )
    error: str = raised.value.body["error"]  # type: ignore[index]
    return error


@pytest.fixture
def media(emulator: EmulatorServer, media_host: MediaHost) -> MediaHost:
    emulator.control(hostMap=media_host.host_map(HOST))
    return media_host


@pytest.mark.parametrize(
    ("status", "headers", "message"),
    [
        (302, {"Location": "https://elsewhere.example.com/a.png"}, "redirects are not followed"),
        (404, {}, "HEAD answered HTTP 404"),
        (200, {"Content-Length": str(len(PNG))}, "was served without a Content-Type"),
        (
            200,
            {"Content-Type": "application/octet-stream", "Content-Length": str(len(PNG))},
            "has Content-Type application/octet-stream",
        ),
        (200, {"Content-Type": "image/png"}, "must answer HEAD with a Content-Length"),
    ],
    ids=["redirect", "not-found", "no-content-type", "generic-type", "no-length"],
)
def test_https_media_must_be_served_properly(
    client: RunwayML,
    media: MediaHost,
    status: int,
    headers: dict[str, str],
    message: str,
) -> None:
    path = f"/bad/{status}-{len(headers)}-{abs(hash(message))}.png"
    media.route(path, status, PNG, headers)
    error = _i2v_error(client, f"https://{HOST}{path}")
    assert error.startswith("promptImage: ")
    assert message in error


def test_hosts_outside_the_map_fail_like_an_unreachable_fetch(
    client: RunwayML, media: MediaHost
) -> None:
    error = _i2v_error(client, "https://images.unknown.example/a.png")
    assert error == (
        "promptImage: failed to fetch https://images.unknown.example/a.png: "
        "could not connect to images.unknown.example"
    )
    assert "IP address" in _i2v_error(client, "https://127.0.0.1/a.png")


def test_the_bytes_must_be_the_kind_the_field_needs(client: RunwayML, media: MediaHost) -> None:
    clip = video_clip(64, 64, 1.0)
    media.file("/clip.mp4", clip, "video/mp4")
    assert _i2v_error(client, f"https://{HOST}/clip.mp4") == (
        f"promptImage: https://{HOST}/clip.mp4 has Content-Type video/mp4; an image is needed "
        "(image/jpeg, image/png, image/webp)"
    )
    uri = client.uploads.create_ephemeral(file=("looks-like.png", clip)).uri
    assert _i2v_error(client, uri) == "promptImage: an image is needed here, got video (video/mp4)"
    broken = data_uri(b"\x89PNG\r\n\x1a\n not really", "image/png")
    assert _i2v_error(client, broken).startswith("promptImage: ")


def test_act_two_reference_must_be_3_to_30_seconds(
    client: RunwayML, emulator: EmulatorServer
) -> None:
    short = client.uploads.create_ephemeral(file=("short.mp4", video_clip(96, 96, 2.0))).uri
    with pytest.raises(runwayml.BadRequestError) as raised:
        client.character_performance.create(
            model="act_two",
            character={"type": "image", "uri": data_uri(PNG, "image/png")},
            reference={"type": "video", "uri": short},
        )
    assert raised.value.body == {  # type: ignore[comparison-overlap]
        "error": "reference.uri: must be at least 3 s long, got 2.00 s"
    }


def test_image_to_video_starts_on_the_first_image_and_ends_on_the_last(
    client: RunwayML, media: MediaHost
) -> None:
    blue, yellow = (20, 40, 220), (230, 210, 20)
    media.file("/kf/first.png", still_image(160, 90, color=blue), "image/png")
    media.file("/kf/last.png", still_image(160, 90, color=yellow), "image/png")
    task = client.image_to_video.create(
        model="veo3.1",
        prompt_image=[
            {"uri": f"https://{HOST}/kf/first.png", "position": "first"},
            {"uri": f"https://{HOST}/kf/last.png", "position": "last"},
        ],
        ratio="1280:720",
        duration=4,
    )
    done = wait_for_task(client, task.id)
    video = download(done.output[0])  # type: ignore[union-attr]
    assert probe_media(video).duration_seconds == 4.0
    first, last = extract_frame(video, "first"), extract_frame(video, "last")
    corner = (10, 10)  # outside the lighter square of still_image
    assert _close(first.getpixel(corner), blue)
    assert _close(last.getpixel(corner), yellow)


def _close(pixel: object, colour: tuple[int, int, int], tolerance: int = 24) -> bool:
    assert isinstance(pixel, tuple)
    return all(abs(int(a) - b) <= tolerance for a, b in zip(pixel[:3], colour, strict=True))
