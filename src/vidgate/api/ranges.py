"""HTTP byte ranges (RFC 9110 §14): one range served as 206, the rest as the whole file.

Only a single range is honoured; a multi-range or malformed ``Range`` header is ignored (the whole
file is sent, as the RFC allows). A range that starts past the end is a 416.
"""

from __future__ import annotations

import re

from vidgate.errors import RangeNotSatisfiable

__all__ = ["ByteRange", "parse_range"]

_SINGLE = re.compile(r"^bytes=(\d*)-(\d*)$")


class ByteRange:
    """Bytes ``start`` up to (not including) ``end`` of a file of ``size`` bytes."""

    __slots__ = ("end", "size", "start")

    def __init__(self, start: int, end: int, size: int) -> None:
        self.start = start
        self.end = end
        self.size = size

    @property
    def length(self) -> int:
        return self.end - self.start

    @property
    def content_range(self) -> str:
        return f"bytes {self.start}-{self.end - 1}/{self.size}"

    def __repr__(self) -> str:
        return f"ByteRange({self.start}, {self.end}, {self.size})"


def parse_range(header: str | None, size: int) -> ByteRange | None:
    """The one range ``header`` asks for, None to send everything; RangeNotSatisfiable (416)."""
    if header is None:
        return None
    match = _SINGLE.match(header.strip().replace(" ", ""))
    if match is None:
        return None  # malformed or several ranges: ignored
    first, last = match.groups()
    if not first and not last:
        return None
    if len(first) > 18 or len(last) > 18:
        raise RangeNotSatisfiable(f"the range lies outside the {size} bytes", size=size)
    if not first:  # suffix: the last N bytes
        suffix = int(last)
        if suffix == 0 or size == 0:
            raise RangeNotSatisfiable(f"the range lies outside the {size} bytes", size=size)
        return ByteRange(max(0, size - suffix), size, size)
    start = int(first)
    end = int(last) + 1 if last else size
    if last and end <= start:
        return None  # last < first: syntactically invalid, ignored
    if start >= size:
        raise RangeNotSatisfiable(
            f"the range starts at byte {start}, past the end of the {size} bytes", size=size
        )
    return ByteRange(start, min(end, size), size)
