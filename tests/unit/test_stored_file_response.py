"""A stored file's answer (vidgate.api.job_files.StoredFileResponse): HEAD sends the headers and
closes the file's stream unread; GET sends its bytes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from vidgate.api.job_files import StoredFileResponse


class Stream:
    """A file's stream that records what was asked of it."""

    def __init__(self) -> None:
        self.read = 0
        self.closed = False

    async def chunks(self) -> AsyncIterator[bytes]:
        try:
            for _ in range(3):
                self.read += 1
                yield b"x" * 4
        finally:
            self.closed = True


async def answer(method: str, stream: Stream) -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    response = StoredFileResponse(
        stream.chunks(), media_type="video/mp4", headers={"Content-Length": "12"}
    )
    scope = {"type": "http", "method": method, "asgi": {"spec_version": "2.4"}}
    await response(scope, receive, send)
    return sent


async def test_head_sends_the_headers_and_leaves_the_file_unread() -> None:
    stream = Stream()
    sent = await answer("HEAD", stream)
    assert sent[0]["type"] == "http.response.start" and sent[0]["status"] == 200
    assert (b"content-length", b"12") in sent[0]["headers"]
    assert [m.get("body") for m in sent[1:]] == [b""]
    assert stream.read == 0


async def test_get_sends_every_byte() -> None:
    stream = Stream()
    sent = await answer("GET", stream)
    assert b"".join(m.get("body", b"") for m in sent[1:]) == b"x" * 12
    assert stream.read == 3 and stream.closed
