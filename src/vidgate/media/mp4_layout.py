"""The layout of an MP4's top-level boxes, and the one muxer option for files that stream.

A player can start an MP4 only once it has read the ``moov`` box (the index of every sample).
FFmpeg writes it at the end by default (``ftyp free mdat moov``), so a browser must first fetch the
file's tail with extra range requests. ``movflags=faststart`` moves it before ``mdat`` in a second
pass over the finished file, which is why FFmpeg needs a real path (not a pipe or memory buffer)
to write such a file. Every MP4 vidgate writes itself uses :data:`FASTSTART`.
"""

from __future__ import annotations

import os
import struct
from typing import Final

__all__ = ["FASTSTART", "is_faststart", "top_level_boxes"]

FASTSTART: Final = {"movflags": "faststart"}
"""PyAV ``av.open(..., options=...)`` for an MP4 whose index comes before its media data."""


def top_level_boxes(path: str | os.PathLike[str]) -> list[str]:
    """The types of the file's top-level boxes in order, e.g. ``["ftyp", "moov", "mdat"]``."""
    boxes: list[str] = []
    with open(path, "rb") as f:
        size_on_disk = os.fstat(f.fileno()).st_size
        offset = 0
        while offset + 8 <= size_on_disk:
            f.seek(offset)
            size, kind = struct.unpack(">I4s", f.read(8))
            if size == 1:  # a 64-bit size follows the type
                (size,) = struct.unpack(">Q", f.read(8))
            elif size == 0:  # the box runs to the end of the file
                size = size_on_disk - offset
            if size < 8:
                break  # not an ISO-BMFF box: stop rather than loop
            boxes.append(kind.decode("latin-1"))
            offset += size
    return boxes


def is_faststart(path: str | os.PathLike[str]) -> bool:
    """True when ``moov`` comes before ``mdat``: a player can start before the file is fetched."""
    boxes = top_level_boxes(path)
    return "moov" in boxes and "mdat" in boxes and boxes.index("moov") < boxes.index("mdat")
