"""PNG and JPEG stills are judged by Pillow, decoding only what proves them whole: a damaged or
truncated file is refused naming the field, a whole one reports its size."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from PIL import Image

from vidgate.errors import MediaRejected
from vidgate.media.probe import probe_media
from vidgate.media.stills import probe_still


def picture(fmt: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (300, 200), (10, 200, 90)).save(buffer, format=fmt, **options)
    return buffer.getvalue()


def chunk_at(png: bytes, kind: bytes) -> int:
    return png.index(kind) - 4


@pytest.mark.parametrize(
    ("fmt", "mime", "options"),
    [
        ("PNG", "image/png", {}),
        ("PNG", "image/png", {"interlace": 1}),  # a full decode decides
        ("JPEG", "image/jpeg", {}),
        ("JPEG", "image/jpeg", {"progressive": True}),
    ],
)
def test_whole_stills_report_their_size(fmt: str, mime: str, options: dict[str, object]) -> None:
    data = picture(fmt, **options)
    still = probe_still(data, mime, field="file")
    assert (still.width, still.height) == (300, 200)
    assert probe_media(data).mime_type == mime


def _bad_crc(png: bytes) -> bytes:
    at = chunk_at(png, b"IDAT")
    (length,) = struct.unpack_from(">I", png, at)
    end = at + 8 + length
    return png[:end] + bytes(b ^ 0xFF for b in png[end : end + 4]) + png[end + 4 :]


def _short_idat(png: bytes) -> bytes:
    # Replace the image data by a complete zlib stream of too few bytes (CRCs all right).
    at = chunk_at(png, b"IDAT")
    (length,) = struct.unpack_from(">I", png, at)
    data = zlib.compress(b"\0" * 10)
    idat = struct.pack(">I", len(data)) + b"IDAT" + data
    idat += struct.pack(">I", zlib.crc32(b"IDAT" + data) & 0xFFFFFFFF)
    return png[:at] + idat + png[at + 12 + length :]


@pytest.mark.parametrize(
    ("damage", "words"),
    [
        (lambda png: png[: len(png) // 2], "ends"),
        (lambda png: png[:-12], "ends before IEND"),
        (_bad_crc, "bad CRC in IDAT"),
        (_short_idat, "image data is incomplete"),
    ],
    ids=["half", "no-iend", "crc", "short-data"],
)
def test_damaged_png_is_refused(damage: object, words: str) -> None:
    data = damage(picture("PNG"))  # type: ignore[operator]
    with pytest.raises(MediaRejected) as caught:
        probe_media(data, field="promptImage")
    [problem] = caught.value.problems
    assert problem.path == "promptImage"
    assert "truncated or corrupt image/png" in problem.message and words in problem.message


def test_truncated_jpeg_is_refused() -> None:
    with pytest.raises(MediaRejected, match="truncated or corrupt image/jpeg"):
        probe_media(picture("JPEG")[:300], field="file")
