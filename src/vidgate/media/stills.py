"""Still images probed with Pillow, decoding only what proves the picture whole.

Opening a still with PyAV decodes it whole (a 25 MP PNG costs about 200 MB before a packet is
read), so stills take this path instead: the size comes from the header, and the check that the
file is complete and decodable costs little: a PNG's chunks are walked and its compressed data
inflated through a fixed-size window (constant memory, nothing kept), a JPEG is decoded at 1/8
scale, and an interlaced or animated PNG is decoded in full, within the image pixel cap
:mod:`vidgate.media.bounds` applied first.
"""

from __future__ import annotations

import io
import math
import os
import struct
import warnings
import zlib
from dataclasses import dataclass
from typing import BinaryIO, Final

from PIL import Image

from vidgate.errors import MediaRejected

__all__ = ["SIZED_TYPES", "STILL_TYPES", "Still", "probe_still"]

#: The still image types probed here, by sniffed type (WebP and GIF have no cheaper check than a
#: full decode, which PyAV does with less memory than Pillow; their headers are checked first).
STILL_TYPES: Final = frozenset({"image/png", "image/jpeg"})
#: Every still type whose header size Pillow reads before anything decodes it.
SIZED_TYPES: Final = STILL_TYPES | {"image/webp", "image/gif"}
# The names PyAV gives these, so a still is reported the same whichever reader judged it.
_NAMES: Final = {"image/png": ("png_pipe", "png"), "image/jpeg": ("jpeg_pipe", "mjpeg")}
_PNG_CHANNELS: Final = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}
_WINDOW: Final = 1024 * 1024


@dataclass(frozen=True)
class Still:
    width: int
    height: int
    container: str
    codec: str


def probe_still(
    source: str | os.PathLike[str] | bytes | BinaryIO, mime: str, *, field: str
) -> Still:
    """The size of a still of sniffed type ``mime``, once it is known to be whole and decodable.

    Raises :class:`MediaRejected` naming ``field`` for a truncated or damaged file.
    """
    handle: BinaryIO
    if isinstance(source, bytes):
        handle = io.BytesIO(source)
    elif isinstance(source, str | os.PathLike):
        handle = open(source, "rb")  # noqa: SIM115 (closed below)
    else:
        handle = source
    try:
        handle.seek(0)
        if mime == "image/png" and _png_whole(handle, field):
            handle.seek(0)
            width, height = _size(handle, field, mime, decode=False)
        else:
            handle.seek(0)
            width, height = _size(handle, field, mime, decode=True)
    finally:
        if isinstance(source, str | os.PathLike):
            handle.close()
        else:
            handle.seek(0)
    container, codec = _NAMES[mime]
    return Still(width, height, container, codec)


def _broken(field: str, mime: str, why: str) -> MediaRejected:
    return MediaRejected.single(field, f"is a truncated or corrupt {mime} file ({why})")


def _size(handle: BinaryIO, field: str, mime: str, *, decode: bool) -> tuple[int, int]:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(handle) as image:
                size = image.size
                if decode:
                    if mime == "image/jpeg":
                        image.draft("RGB", (max(1, size[0] // 8), max(1, size[1] // 8)))
                    image.load()
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise _broken(field, mime, str(exc) or type(exc).__name__) from None
    return size


def _png_whole(handle: BinaryIO, field: str) -> bool:
    """Walk a PNG's chunks (CRCs checked) and inflate its image data through a fixed window.

    True when the file is whole; False when only a full decode can tell (interlaced, animated);
    raises when it is truncated or damaged.
    """
    mime = "image/png"
    if handle.read(8) != b"\x89PNG\r\n\x1a\n":
        raise _broken(field, mime, "no PNG signature")
    inflater = zlib.decompressobj()
    produced, expected = 0, None
    while True:
        header = handle.read(8)
        if len(header) < 8:
            raise _broken(field, mime, "it ends before IEND")
        length, kind = struct.unpack(">I4s", header)
        crc = zlib.crc32(kind)
        remaining = length
        if kind == b"IHDR":
            data = handle.read(length)
            if len(data) != 13 or length != 13:
                raise _broken(field, mime, "bad IHDR")
            crc = zlib.crc32(data, crc)
            remaining = 0
            width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", data)
            if interlace or colour not in _PNG_CHANNELS:
                return False
            row = math.ceil(width * _PNG_CHANNELS[colour] * depth / 8)
            expected = height * (1 + row)
        elif kind in (b"acTL", b"fdAT"):
            return False  # animated: frames beyond the first need the decoder
        while remaining:
            block = handle.read(min(remaining, _WINDOW))
            if not block:
                raise _broken(field, mime, "it ends inside a chunk")
            remaining -= len(block)
            crc = zlib.crc32(block, crc)
            if kind == b"IDAT":
                produced += _inflate(inflater, block, field)
        stored = handle.read(4)
        if len(stored) < 4 or struct.unpack(">I", stored)[0] != crc & 0xFFFFFFFF:
            raise _broken(field, mime, f"bad CRC in {kind.decode('latin-1')}")
        if kind == b"IEND":
            break
    if expected is None or not inflater.eof or produced != expected:
        raise _broken(field, mime, "its image data is incomplete")
    return True


def _inflate(inflater: zlib._Decompress, block: bytes, field: str) -> int:
    produced = 0
    try:
        data = inflater.decompress(block, _WINDOW)
        produced += len(data)
        while inflater.unconsumed_tail:
            data = inflater.decompress(inflater.unconsumed_tail, _WINDOW)
            produced += len(data)
    except zlib.error as exc:
        raise _broken(field, "image/png", f"bad image data: {exc}") from None
    return produced
