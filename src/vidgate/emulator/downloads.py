"""Serving one output file: HTTP Range, an optional rate limit, and deliberate truncation.

With ``truncateDownloads`` the response promises the full ``Content-Length`` but sends half of it
and then the connection is closed, which a client sees as a body that ended early. With
``downloadBytesPerSecond`` the bytes are paced to that rate.
"""

from __future__ import annotations

import re
from pathlib import Path

import anyio
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from vidgate.emulator.faults import EmulatedDrop
from vidgate.emulator.stats import Stats

__all__ = ["FileDownload", "parse_range"]

CHUNK = 64 * 1024
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def parse_range(header: str | None, size: int) -> tuple[int, int] | bool | None:
    """The inclusive byte range a ``Range`` header asks of a ``size``-byte file.

    None: serve the whole file (no header, several ranges, or a form we ignore, as RFC 9110
    allows). False: the range cannot be satisfied (416).
    """
    if not header:
        return None
    match = _RANGE.match(header.strip().replace(" ", ""))
    if not match:
        return None
    first, last = match.group(1), match.group(2)
    if not first and not last:
        return None
    if not first:  # suffix: the last N bytes
        length = int(last)
        if length == 0 or size == 0:
            return False
        return max(0, size - length), size - 1
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    if start >= size or end < start:
        return False
    return start, end


class FileDownload(Response):
    """A file response with Range support, pacing and truncation."""

    media_type = "video/mp4"

    def __init__(
        self,
        path: Path,
        *,
        range_header: str | None,
        head_only: bool,
        bytes_per_second: float | None,
        truncate: bool,
        stats: Stats,
    ) -> None:
        super().__init__(status_code=200)
        self.path = path
        self.size = path.stat().st_size
        self.head_only = head_only
        self.bytes_per_second = bytes_per_second
        self.truncate = truncate
        self.stats = stats
        self.headers["accept-ranges"] = "bytes"
        self.headers["content-type"] = self.media_type
        wanted = parse_range(range_header, self.size)
        self.start, self.end = 0, self.size - 1
        if wanted is False:
            self.status_code = 416
            self.headers["content-range"] = f"bytes */{self.size}"
            self.start, self.end = 0, -1
        elif isinstance(wanted, tuple):
            self.status_code = 206
            self.start, self.end = wanted
            self.headers["content-range"] = f"bytes {self.start}-{self.end}/{self.size}"
        self.headers["content-length"] = str(self.end - self.start + 1)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send(
            {"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers}
        )
        promised = self.end - self.start + 1
        if self.head_only or promised <= 0:
            await send({"type": "http.response.body", "body": b""})
            return
        to_send = promised // 2 if self.truncate else promised
        chunk = CHUNK
        if self.bytes_per_second:
            chunk = max(1, min(CHUNK, int(self.bytes_per_second / 20)))
        sent = 0
        async with await anyio.open_file(self.path, "rb") as f:
            await f.seek(self.start)
            while sent < to_send:
                data = await f.read(min(chunk, to_send - sent))
                if not data:
                    break
                sent += len(data)
                done = sent >= promised
                await send({"type": "http.response.body", "body": data, "more_body": not done})
                if self.bytes_per_second:
                    await anyio.sleep(len(data) / self.bytes_per_second)
        if sent < promised:
            self.stats.fault("truncatedDownloads")
            raise EmulatedDrop("download truncated by the emulator")
