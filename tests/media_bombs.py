"""Small files that declare huge pictures or lengths (decompression bombs), made in the test.

Each is a few KB to under 1 MB and valid up to its headers: a PNG whose IHDR says 16000x16000 with
an IDAT of zlib-compressed zeros; a JPEG and a WebP of 64x64 whose frame header is patched to
16000x16000; an MJPEG MP4 whose frames and sample description say 16000x16000; and a real
16x16 H.264 MP4 of 700 s (over the catalog's video length cap).
"""

from __future__ import annotations

import io
import struct
import zlib
from functools import cache

import av
import numpy as np
from PIL import Image

from vidgate.emulator.testing import video_clip

BOMB_SIDE = 16000


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


@cache
def png_bomb(side: int = BOMB_SIDE) -> bytes:
    header = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)  # 8-bit RGB
    rows = (b"\0" * (1 + side * 3)) * 64  # filter byte + zero pixels, 64 rows a chunk
    packer = zlib.compressobj(9)
    idat = b"".join(packer.compress(rows) for _ in range(side // 64)) + packer.flush()
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", idat)
        + _png_chunk(b"IEND", b"")
    )


def _small(fmt: str) -> bytearray:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), (90, 120, 30)).save(buffer, format=fmt)
    return bytearray(buffer.getvalue())


def _patch_sof(data: bytearray, width: int, height: int) -> int:
    """Rewrite every baseline JPEG frame header (SOF0) to ``width`` x ``height``."""
    count, at = 0, 0
    while (at := data.find(b"\xff\xc0\x00\x11\x08", at)) >= 0:
        struct.pack_into(">HH", data, at + 5, height, width)
        count, at = count + 1, at + 5
    return count


def jpeg_bomb(side: int = BOMB_SIDE) -> bytes:
    data = _small("JPEG")
    assert _patch_sof(data, side, side) == 1
    return bytes(data)


def webp_bomb(side: int = BOMB_SIDE) -> bytes:
    data = _small("WEBP")
    at = data.index(b"\x9d\x01\x2a")  # the VP8 key frame start code, then 14-bit sizes
    struct.pack_into("<HH", data, at + 3, side & 0x3FFF, side & 0x3FFF)
    return bytes(data)


def _box(data: bytes | bytearray, path: list[bytes], start: int = 0, end: int | None = None) -> int:
    """Offset of the ISO-BMFF box at ``path`` (each step a child of the one before)."""
    end = len(data) if end is None else end
    at = start
    while at + 8 <= end:
        size, kind = struct.unpack_from(">I4s", data, at)
        if kind == path[0]:
            if len(path) == 1:
                return at
            return _box(data, path[1:], at + 8, at + size)
        at += size
    raise KeyError(path)


def video_frame_bomb(side: int = BOMB_SIDE) -> bytes:
    """An MJPEG MP4 of five 64x64 frames, each frame header and the track saying ``side``."""
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="mp4") as out:
        stream = out.add_stream("mjpeg", rate=5)
        stream.width, stream.height, stream.pix_fmt = 64, 64, "yuvj420p"
        for _ in range(5):
            frame = av.VideoFrame.from_ndarray(np.zeros((64, 64, 3), np.uint8), format="rgb24")
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    data = bytearray(buffer.getvalue())
    assert _patch_sof(data, side, side) == 5
    stsd = _box(data, [b"moov", b"trak", b"mdia", b"minf", b"stbl", b"stsd"])
    # stsd: header 8, version/flags 4, count 4; the visual sample entry's width/height at +32.
    struct.pack_into(">HH", data, stsd + 16 + 32, side & 0xFFFF, side & 0xFFFF)
    return bytes(data)


@cache
def long_video(seconds: float = 700.0) -> bytes:
    """A real, tiny H.264 MP4 longer than the catalog's video length cap."""
    return video_clip(16, 16, seconds, fps=1)
