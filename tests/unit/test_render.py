"""vidgate.emulator.render: real H.264 files, decoded back with PyAV and checked frame by frame."""

from __future__ import annotations

import io
from pathlib import Path

import av
import numpy as np
import pytest
from numpy.typing import NDArray
from PIL import Image, ImageDraw

from vidgate.emulator.render import RenderResult, render_video
from vidgate.errors import MediaRejected
from vidgate.media.mp4_layout import is_faststart
from vidgate.media.probe import probe_media

W, H, FPS = 320, 180, 24
# Mean absolute RGB difference allowed between a picture and its H.264 (crf 23) round trip.
CODEC_TOLERANCE = 6.0


def _picture(seed: int, size: tuple[int, int] = (W, H)) -> Image.Image:
    """A smooth picture with a few bold shapes: distinct per seed, kind to the codec."""
    rng = np.random.default_rng(seed)
    width, height = size
    ramp = np.linspace(0, 1, width, dtype=np.float32)[None, :, None]
    colours = rng.integers(0, 256, (2, 3)).astype(np.float32)
    rgb = colours[0] * (1 - ramp) + colours[1] * ramp
    image = Image.fromarray(np.repeat(rgb, height, axis=0).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    for _ in range(3):
        x, y = int(rng.integers(0, width - 60)), int(rng.integers(0, height - 40))
        fill = tuple(int(c) for c in rng.integers(0, 256, 3))
        draw.rectangle((x, y, x + 60, y + 40), fill=fill)
    return image


def _frames(path: Path | bytes) -> list[NDArray[np.uint8]]:
    source = io.BytesIO(path) if isinstance(path, bytes) else path
    with av.open(source, "r") as container:
        return [np.asarray(f.to_ndarray(format="rgb24")) for f in container.decode(video=0)]


def _mad(a: NDArray[np.uint8], b: NDArray[np.uint8] | Image.Image) -> float:
    return float(np.abs(a.astype(np.int16) - np.asarray(b, dtype=np.int16)).mean())


def _assert_h264_mp4(
    path: Path, result: RenderResult, width: int, height: int, seconds: float
) -> None:
    info = probe_media(path)
    assert (info.kind, info.mime_type, info.video_codec) == ("video", "video/mp4", "h264")
    assert (info.width, info.height) == (width, height) == (result.width, result.height)
    assert info.frame_count == result.frames == round(seconds * FPS)
    assert info.duration_seconds == pytest.approx(seconds, abs=1 / FPS)
    assert result.duration_seconds == pytest.approx(seconds, abs=1 / FPS)
    with av.open(path) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.pix_fmt == "yuv420p"


def test_text_to_video_is_a_real_h264_mp4(tmp_path: Path) -> None:
    dest = tmp_path / "out.mp4"
    result = render_video(
        dest, width=W, height=H, duration_seconds=1.5, prompt_text="A cat on a skateboard"
    )
    _assert_h264_mp4(dest, result, W, H, 1.5)
    frames = _frames(dest)
    assert _mad(frames[0], frames[-1]) > 3  # the backdrop moves


def test_duration_is_rounded_to_whole_frames(tmp_path: Path) -> None:
    dest = tmp_path / "out.mp4"
    result = render_video(dest, width=W, height=H, duration_seconds=1.01, fps=FPS)
    assert result.frames == 24
    _assert_h264_mp4(dest, result, W, H, 1.0)


def test_odd_size_is_rounded_up_to_even_and_reported(tmp_path: Path) -> None:
    dest = tmp_path / "odd.mp4"
    result = render_video(dest, width=321, height=179, duration_seconds=0.5)
    assert (result.width, result.height) == (322, 180)
    _assert_h264_mp4(dest, result, 322, 180, 0.5)


def test_prompt_text_is_drawn(tmp_path: Path) -> None:
    plain, captioned = tmp_path / "plain.mp4", tmp_path / "captioned.mp4"
    render_video(plain, width=W, height=H, duration_seconds=0.25, seed=5)
    render_video(
        captioned, width=W, height=H, duration_seconds=0.25, seed=5, prompt_text="Hello world"
    )
    a, b = _frames(plain)[0], _frames(captioned)[0]
    changed = np.abs(a.astype(np.int16) - b).max(axis=2) > 40
    assert changed[H // 2 :].mean() > 0.05  # the caption sits in the lower third...
    assert not changed[: H // 3].any()  # ...and leaves the rest alone


def test_same_seed_same_pictures_other_seed_other_pictures(tmp_path: Path) -> None:
    def render(seed: int) -> bytes:
        out = io.BytesIO()
        render_video(out, width=W, height=H, duration_seconds=0.5, prompt_text="x", seed=seed)
        return out.getvalue()

    first, again, other = render(1), render(1), render(2)
    assert first == again
    assert _mad(_frames(first)[0], _frames(other)[0]) > 10


def test_image_to_video_starts_on_first_image_and_ends_on_last(tmp_path: Path) -> None:
    first, last = _picture(1), _picture(2)
    dest = tmp_path / "i2v.mp4"
    result = render_video(
        dest,
        width=W,
        height=H,
        duration_seconds=2,
        prompt_text="a slow turn",
        first_image=first,
        last_image=last,
    )
    _assert_h264_mp4(dest, result, W, H, 2)
    frames = _frames(dest)
    assert _mad(frames[0], first) < CODEC_TOLERANCE
    assert _mad(frames[-1], last) < CODEC_TOLERANCE
    assert _mad(frames[0], last) > 4 * CODEC_TOLERANCE
    middle = frames[len(frames) // 2]
    assert _mad(middle, first) > CODEC_TOLERANCE and _mad(middle, last) > CODEC_TOLERANCE


def test_image_to_video_covers_the_frame_from_any_shape_and_source(tmp_path: Path) -> None:
    # A tall picture, given as encoded bytes: scaled to cover the frame and centre-cropped.
    tall = _picture(3, size=(200, 400))
    encoded = io.BytesIO()
    tall.save(encoded, format="PNG")
    dest = tmp_path / "pan.mp4"
    render_video(dest, width=W, height=H, duration_seconds=1, first_image=encoded.getvalue())
    frames = _frames(dest)
    expected = tall.resize((W, 640)).crop((0, 230, W, 230 + H))
    assert _mad(frames[0], expected) < CODEC_TOLERANCE
    assert _mad(frames[0], frames[-1]) > 1  # without a last image the view pans


def test_only_a_last_image_ends_on_it(tmp_path: Path) -> None:
    last = _picture(4)
    path = tmp_path / "last.png"
    last.save(path)
    dest = tmp_path / "out.mp4"
    render_video(dest, width=W, height=H, duration_seconds=1, last_image=path)
    frames = _frames(dest)
    assert _mad(frames[-1], last) < CODEC_TOLERANCE
    assert _mad(frames[0], last) > 4 * CODEC_TOLERANCE


def test_video_to_video_is_derived_from_the_source(tmp_path: Path) -> None:
    source = tmp_path / "source.mp4"
    render_video(source, width=W, height=H, duration_seconds=1, first_image=_picture(5), seed=3)
    dest = tmp_path / "v2v.mp4"
    result = render_video(dest, width=W, height=H, duration_seconds=1, source_video=source)
    _assert_h264_mp4(dest, result, W, H, 1)
    for before, after in zip(_frames(source), _frames(dest), strict=True):
        assert _mad(before, after) > 10  # restyled, not copied
        luma_before = before.astype(np.float32).mean(axis=2)
        luma_after = after[:, ::-1].astype(np.float32).mean(axis=2)  # undo the mirror
        assert np.corrcoef(luma_before.ravel(), luma_after.ravel())[0, 1] > 0.9


def test_video_to_video_resamples_and_loops_a_short_source(tmp_path: Path) -> None:
    source = tmp_path / "short.mp4"
    render_video(source, width=640, height=480, duration_seconds=0.5, fps=10, prompt_text="s")
    dest = tmp_path / "long.mp4"
    with source.open("rb") as f:
        result = render_video(dest, width=W, height=H, duration_seconds=1.5, source_video=f)
    _assert_h264_mp4(dest, result, W, H, 1.5)
    frames = _frames(dest)
    assert _mad(frames[0], frames[12]) < 2  # 0.5 s later the 0.5 s source starts again


def test_performance_follows_the_driving_video(tmp_path: Path) -> None:
    def driving(level: int) -> bytes:
        out = io.BytesIO()
        render_video(
            out,
            width=W,
            height=H,
            duration_seconds=1,
            first_image=Image.new("RGB", (W, H), (level, level, level)),
        )
        return out.getvalue()

    character = _picture(6)
    lit, dim = tmp_path / "lit.mp4", tmp_path / "dim.mp4"
    result = render_video(
        lit,
        width=W,
        height=H,
        duration_seconds=1,
        first_image=character,
        driving_video=driving(230),
    )
    render_video(
        dim, width=W, height=H, duration_seconds=1, first_image=character, driving_video=driving(20)
    )
    _assert_h264_mp4(lit, result, W, H, 1)
    bright, dark = _frames(lit)[0], _frames(dim)[0]
    region = (slice(0, H // 2), slice(0, W // 2))  # away from the inset
    assert bright[region].mean() > dark[region].mean() + 20
    inset = (slice(H - 30, H - 20), slice(W - 40, W - 20))  # the driving clip, shown inset
    assert bright[inset].mean() > 200 and dark[inset].mean() < 40


def test_unreadable_inputs_are_rejected_naming_the_parameter(tmp_path: Path) -> None:
    with pytest.raises(MediaRejected) as caught:
        render_video(
            tmp_path / "a.mp4", width=W, height=H, duration_seconds=1, first_image=b"not an image"
        )
    assert caught.value.problems[0].path == "first_image"
    with pytest.raises(MediaRejected) as caught:
        render_video(
            tmp_path / "b.mp4", width=W, height=H, duration_seconds=1, source_video=b"junk" * 100
        )
    assert caught.value.problems[0].path == "source_video"


@pytest.mark.parametrize(
    ("width", "height", "seconds", "fps"),
    [(0, H, 1.0, FPS), (W, -2, 1.0, FPS), (W, H, 0.0, FPS), (W, H, 1.0, 0)],
)
def test_nonsense_arguments_are_programming_errors(
    width: int, height: int, seconds: float, fps: int
) -> None:
    with pytest.raises(ValueError):
        render_video(io.BytesIO(), width=width, height=height, duration_seconds=seconds, fps=fps)


def test_sound_is_an_aac_track_as_long_as_the_video(tmp_path: Path) -> None:
    dest = tmp_path / "sound.mp4"
    result = render_video(
        dest, width=W, height=H, duration_seconds=2, prompt_text="a violin", audio=True
    )
    info = probe_media(dest)
    assert (info.audio_codec, info.audio_channels, info.audio_sample_rate) == ("aac", 2, 48_000)
    assert result.audio_seconds == 2.0
    assert info.audio_duration_seconds == pytest.approx(2.0, abs=1 / FPS)
    assert info.frame_count == 2 * FPS
    with av.open(dest) as container:
        samples = np.concatenate(
            [f.to_ndarray() for f in container.decode(audio=0)], axis=1, dtype=np.float32
        )
    assert 0.02 < float(np.abs(samples).mean()) < 0.5  # sound, not silence, not clipping
    assert is_faststart(dest)


def test_the_prompt_shapes_the_sound(tmp_path: Path) -> None:
    def spectrum(prompt: str) -> NDArray[np.float64]:
        path = tmp_path / f"{len(prompt)}.mp4"
        render_video(path, width=64, height=64, duration_seconds=1, prompt_text=prompt, audio=True)
        with av.open(path) as container:
            mono = np.concatenate([f.to_ndarray()[0] for f in container.decode(audio=0)])
        return np.abs(np.fft.rfft(mono))

    tone, rain = spectrum("a lone cello"), spectrum("rain on a tin roof at night")
    # A chord puts its energy in a few peaks; noise spreads it across the band.
    assert tone.max() / tone.mean() > 5 * rain.max() / rain.mean()


def test_no_sound_unless_asked(tmp_path: Path) -> None:
    dest = tmp_path / "quiet.mp4"
    result = render_video(dest, width=W, height=H, duration_seconds=0.5)
    info = probe_media(dest)
    assert info.audio_codec is None and info.audio_duration_seconds is None
    assert result.audio_seconds is None
    assert is_faststart(dest)


def test_a_file_object_destination_is_faststart_too() -> None:
    buffer = io.BytesIO()
    render_video(buffer, width=64, height=64, duration_seconds=0.5, audio=True)
    head = buffer.getvalue()
    assert head.index(b"moov") < head.index(b"mdat")
    assert probe_media(head).audio_codec == "aac"
