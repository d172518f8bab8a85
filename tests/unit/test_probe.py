"""vidgate.media.probe on real files made with PyAV and Pillow: no mocks."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any, Literal

import av
import numpy as np
import pytest
from numpy.typing import NDArray
from PIL import Image

from vidgate.catalog import MediaKind
from vidgate.errors import MediaRejected
from vidgate.media.frames import extract_frame, save_poster
from vidgate.media.probe import probe_media
from vidgate.media.sniff import sniff_mime


def _video(
    fmt: str = "mp4",
    codec: str = "libx264",
    *,
    frames: int = 12,
    size: tuple[int, int] = (64, 48),
    options: dict[str, str] | None = None,
    container_options: dict[str, str] | None = None,
    path: Path | None = None,
    rotation: int = 0,
) -> bytes:
    """A clip of flat greys brightening from 16 to 216, so its frames can be told apart."""
    width, height = size
    buffer = io.BytesIO()
    with av.open(
        path if path is not None else buffer, "w", format=fmt, options=container_options or {}
    ) as container:
        stream = container.add_stream(codec, rate=12, options=options or {"preset": "ultrafast"})
        assert isinstance(stream, av.VideoStream)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        if rotation:
            stream.set_display_rotation(rotation)
        for i in range(frames):
            rgb = np.full((height, width, 3), 16 + 200 * i // max(frames - 1, 1), np.uint8)
            rgb[:, : width // 4] = 255  # a white band on the left, to check rotation
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            frame.pts = i
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path.read_bytes() if path is not None else buffer.getvalue()


def _audio(fmt: str, codec: str, rate: int = 44100) -> bytes:
    buffer = io.BytesIO()
    with av.open(buffer, "w", format=fmt) as container:
        stream = container.add_stream(codec, rate=rate)
        assert isinstance(stream, av.AudioStream) and stream.codec_context.codec.audio_formats
        stream.layout = "mono"
        sample_format = stream.codec_context.codec.audio_formats[0].name
        wave = np.sin(2 * np.pi * 440 * np.arange(rate) / rate) * 0.3
        for start in range(0, rate, 1024):
            chunk = wave[start : start + 1024]
            samples: NDArray[Any]
            if sample_format.startswith("flt"):
                samples = chunk.astype(np.float32)[None]
            elif sample_format.startswith("s32"):
                samples = (chunk * 2**31).astype(np.int32)[None]
            else:
                samples = (chunk * 32767).astype(np.int16)[None]
            frame = av.AudioFrame.from_ndarray(samples, format=sample_format, layout="mono")
            frame.sample_rate, frame.pts = rate, start
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return buffer.getvalue()


def _image(fmt: str, size: tuple[int, int] = (40, 30)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 10, 10)).save(buffer, format=fmt)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("head", "mime"),
    [
        (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", "image/jpeg"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "image/png"),
        (b"GIF87a\x01\x00", "image/gif"),
        (b"GIF89a\x01\x00", "image/gif"),
        (b"RIFF\x24\x00\x00\x00WEBPVP8 ", "image/webp"),
        (b"RIFF\x24\x00\x00\x00WAVEfmt ", "audio/wav"),
        (b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00", "video/mp4"),
        (b"\x00\x00\x00\x1cftypmp42\x00\x00\x00\x00", "video/mp4"),
        (b"\x00\x00\x00\x14ftypqt  \x00\x00\x02\x00", "video/quicktime"),
        (b"\x00\x00\x00\x20ftypM4A \x00\x00\x02\x00", "audio/mp4"),
        (b"\x1a\x45\xdf\xa3\x9fB\x86\x81\x01B\x82\x84webm", "video/webm"),
        (b"\x1a\x45\xdf\xa3\xa3B\x86\x81\x01B\x82\x88matroska", "video/x-matroska"),
        (b"ID3\x04\x00\x00\x00\x00\x00#TSSE", "audio/mpeg"),
        (b"\xff\xfb\x90\x64\x00", "audio/mpeg"),
        (b"\xff\xf3\x48\xc4\x00", "audio/mpeg"),
        (b"fLaC\x00\x00\x00\x22", "audio/flac"),
        (b"OggS\x00\x02\x00\x00\x00\x00", "audio/ogg"),
        (b"\xff\xf1\x50\x40\x1c\xbf\xfc", "audio/aac"),
        (b"\xff\xf9\x50\x40\x1c\xbf\xfc", "audio/aac"),
    ],
)
def test_sniff_mime_recognises_each_signature(head: bytes, mime: str) -> None:
    assert sniff_mime(head) == mime


@pytest.mark.parametrize("head", [b"", b"hello world", b"RIFF\x00\x00\x00\x00XXXX", b"\xff"])
def test_sniff_mime_returns_none_for_unknown_bytes(head: bytes) -> None:
    assert sniff_mime(head) is None


@pytest.mark.parametrize(
    ("data", "kind", "mime", "codec"),
    [
        pytest.param(_image("PNG"), MediaKind.IMAGE, "image/png", "png", id="png"),
        pytest.param(_image("JPEG"), MediaKind.IMAGE, "image/jpeg", "mjpeg", id="jpeg"),
        pytest.param(_image("WEBP"), MediaKind.IMAGE, "image/webp", "webp", id="webp"),
        pytest.param(_image("GIF"), MediaKind.IMAGE, "image/gif", "gif", id="gif"),
    ],
)
def test_probe_images(data: bytes, kind: MediaKind, mime: str, codec: str) -> None:
    info = probe_media(data)
    assert (info.kind, info.mime_type, info.video_codec) == (kind, mime, codec)
    assert (info.width, info.height) == (40, 30)
    assert info.duration_seconds is None


def test_probe_mp4_video() -> None:
    info = probe_media(_video())
    assert info.kind == "video"
    assert info.mime_type == "video/mp4"
    assert info.container.startswith("mov,mp4")
    assert (info.width, info.height, info.video_codec, info.audio_codec) == (64, 48, "h264", None)
    assert info.duration_seconds == pytest.approx(1.0, abs=1 / 12)
    assert (info.frame_rate, info.frame_count) == (12.0, 12)


def test_probe_webm_video() -> None:
    data = _video("webm", "libvpx-vp9", options={"deadline": "realtime", "cpu-used": "8"})
    info = probe_media(data)
    assert (info.kind, info.mime_type, info.video_codec) == ("video", "video/webm", "vp9")
    assert info.duration_seconds == pytest.approx(1.0, abs=1 / 12)


@pytest.mark.parametrize(
    ("fmt", "codec", "rate", "mime", "decoder"),
    [
        ("mp3", "libmp3lame", 44100, "audio/mpeg", "mp3float"),
        ("wav", "pcm_s16le", 44100, "audio/wav", "pcm_s16le"),
        ("flac", "flac", 44100, "audio/flac", "flac"),
        ("ogg", "libopus", 48000, "audio/ogg", "opus"),
        ("adts", "aac", 44100, "audio/aac", "aac"),
    ],
)
def test_probe_audio(fmt: str, codec: str, rate: int, mime: str, decoder: str) -> None:
    info = probe_media(_audio(fmt, codec, rate))
    assert (info.kind, info.mime_type, info.audio_codec) == ("audio", mime, decoder)
    assert info.video_codec is None and info.width is None
    assert info.duration_seconds == pytest.approx(1.0, abs=0.1)


def test_audio_only_mp4_is_reported_as_audio_mp4() -> None:
    info = probe_media(_audio("mp4", "aac"))
    assert (info.kind, info.mime_type, info.audio_codec) == ("audio", "audio/mp4", "aac")


def test_png_named_mp4_is_reported_as_png(tmp_path: Path) -> None:
    path = tmp_path / "clip.mp4"
    path.write_bytes(_image("PNG"))
    info = probe_media(path)
    assert (info.kind, info.mime_type) == ("image", "image/png")


def test_probe_reads_path_and_file_object(tmp_path: Path) -> None:
    path = tmp_path / "clip"
    path.write_bytes(_video())
    with path.open("rb") as f:
        f.read(10)  # a moved position must not matter
        from_file = probe_media(f)
    assert from_file == probe_media(path) == probe_media(str(path))


def test_truncated_mp4_is_rejected_with_reason() -> None:
    data = _video()
    with pytest.raises(MediaRejected) as caught:
        probe_media(data[: len(data) // 2], field="promptVideo")
    [problem] = caught.value.problems
    assert problem.path == "promptVideo"
    assert "truncated or corrupt" in problem.message


def test_truncated_faststart_mp4_is_rejected(tmp_path: Path) -> None:
    # With the index first, the file opens fine: only counting the packets shows the loss.
    data = _video(path=tmp_path / "fast.mp4", container_options={"movflags": "faststart"})
    for cut in (len(data) // 2, len(data) - 50):
        with pytest.raises(MediaRejected, match="truncated"):
            probe_media(data[:cut])


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "is empty"),
        (b"just some text, not media at all\n" * 20, "not a readable media file"),
        (_image("PNG")[:60], "truncated or corrupt"),
    ],
)
def test_bad_files_are_rejected(data: bytes, reason: str) -> None:
    with pytest.raises(MediaRejected, match=reason):
        probe_media(data)


def test_missing_path_is_not_a_media_problem(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        probe_media(tmp_path / "nope.mp4")


def test_rotated_video_reports_displayed_size_and_frames() -> None:
    data = _video(size=(64, 32), rotation=90)
    info = probe_media(data)
    assert (info.width, info.height) == (32, 64)
    image = np.asarray(extract_frame(data))
    assert image.shape == (64, 32, 3)
    assert image[-8:].mean() > 240  # the white left band, turned a quarter counter-clockwise


@pytest.mark.parametrize(("which", "level"), [("first", 16), ("last", 216)])
def test_extract_frame(which: Literal["first", "last"], level: int) -> None:
    data = _video(frames=30, options={"preset": "ultrafast", "g": "4"})  # key frames to seek to
    image = np.asarray(extract_frame(data, which))
    assert image.shape == (48, 64, 3)
    assert abs(float(image[:, 32:].mean()) - level) < 4


def test_extract_last_frame_of_an_image() -> None:
    image = extract_frame(_image("PNG"), "last")
    assert image.size == (40, 30)
    assert image.getpixel((5, 5)) == pytest.approx((200, 10, 10), abs=2)


def test_extract_frame_from_audio_is_rejected() -> None:
    with pytest.raises(MediaRejected, match="no picture"):
        extract_frame(_audio("wav", "pcm_s16le"), field="poster")


def test_save_poster_writes_the_first_frame_as_jpeg(tmp_path: Path) -> None:
    dest = tmp_path / "poster.jpg"
    with dest.open("wb") as f:
        save_poster(_video(), f)
    data = dest.read_bytes()
    assert sniff_mime(data[:64]) == "image/jpeg"
    with Image.open(dest) as poster:
        assert poster.size == (64, 48)
        assert abs(poster.getpixel((40, 24))[0] - 16) < 6  # type: ignore[index]
