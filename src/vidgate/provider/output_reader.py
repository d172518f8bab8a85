"""Reading a signed output URL at the speed of the network: blocking reads on a thread pool.

httpx (the SDK's client) reads a body 64 KiB at a time on the event loop, through h11 and anyio;
for a 200 MB output that ran at about 0.45x of curl's speed on loopback here, where the
issue asks for 0.8x (docs/benchmarks.md, section 3). An output is one plain GET of a signed URL,
so it is read with the standard library's urllib instead, which honours ``HTTPS_PROXY`` and
``NO_PROXY`` as httpx does: 4 MiB ``readinto`` calls on a worker thread (the socket releases the
GIL), the next chunk read while the caller hashes and writes this one. Memory per download is
about two chunks; an output smaller than a chunk gets a buffer of its own size.
"""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import ssl
import urllib.error
import urllib.request
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import certifi

from vidgate.errors import NotFound, OutputExpired, ProviderUnavailable

__all__ = ["CHUNK_SIZE", "OutputReader"]

CHUNK_SIZE = 4 * 1024 * 1024


class _RefuseRedirects(urllib.request.HTTPRedirectHandler):
    """A 3xx is answered as an error: a signed output URL never redirects, and we never follow."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class OutputReader:
    """Streams output URLs; at most ``max_threads`` reads block at once, each up to ``timeout``."""

    def __init__(self, *, timeout: float = 60.0, max_threads: int = 16) -> None:
        tls = ssl.create_default_context(cafile=certifi.where())
        self._opener = urllib.request.build_opener(
            _RefuseRedirects, urllib.request.HTTPSHandler(context=tls)
        )
        self._timeout = timeout
        # Its own pool: a slow network read must not hold a thread the rest of vidgate waits for.
        self._threads = ThreadPoolExecutor(max_threads, thread_name_prefix="vidgate-download")

    def close(self) -> None:
        self._threads.shutdown(wait=False, cancel_futures=True)

    async def stream(self, url: str) -> AsyncIterator[bytearray]:
        """The body of ``url`` in chunks of up to 4 MiB.

        A 401/403 raises OutputExpired, a 404 NotFound; any other status, a failed connection or
        a body shorter than its Content-Length raises ProviderUnavailable.
        """
        loop = asyncio.get_running_loop()
        response = await loop.run_in_executor(self._threads, self._open, url)
        expected = response.length  # None for a chunked body
        received = 0
        ahead: asyncio.Future[bytearray] | None = None
        try:
            ahead = loop.run_in_executor(self._threads, _read, response, expected)
            while chunk := await ahead:
                received += len(chunk)
                remaining = None if expected is None else expected - received
                ahead = loop.run_in_executor(self._threads, _read, response, remaining)
                yield chunk  # not copied to bytes: that would cost ~10% of the speed
            if expected is not None and received != expected:
                raise ProviderUnavailable(
                    f"output download truncated: {received} of {expected} bytes"
                )
        finally:
            _close_after(ahead, response)

    def _open(self, url: str) -> http.client.HTTPResponse:
        try:
            response: http.client.HTTPResponse = self._opener.open(url, timeout=self._timeout)
        except urllib.error.HTTPError as exc:
            exc.close()
            if exc.code in (401, 403):
                raise OutputExpired(f"output URL refused with {exc.code}") from None
            if exc.code == 404:
                raise NotFound("output URL not found") from None
            raise ProviderUnavailable(f"output download failed: {exc.code}") from None
        except (OSError, http.client.HTTPException) as exc:
            raise ProviderUnavailable(f"output download failed: {exc!r}") from exc
        return response


def _read(response: http.client.HTTPResponse, remaining: int | None) -> bytearray:
    """The next chunk; empty at the end of the body."""
    size = CHUNK_SIZE if remaining is None else min(CHUNK_SIZE, remaining)
    if size <= 0:
        return bytearray()
    buffer = bytearray(size)
    try:
        count = response.readinto(buffer)
    except (OSError, http.client.HTTPException) as exc:
        raise ProviderUnavailable(f"output download failed: {exc!r}") from exc
    del buffer[count:]
    return buffer


def _close_after(
    ahead: asyncio.Future[bytearray] | None, response: http.client.HTTPResponse
) -> None:
    # The caller may stop while a read still runs on its thread: close the response once that
    # read returns, never under it.
    def close(done: object = None) -> None:
        if isinstance(done, asyncio.Future) and not done.cancelled():
            done.exception()  # retrieved, so asyncio does not warn about it
        with contextlib.suppress(Exception):
            response.close()

    if ahead is None or ahead.done():
        close(ahead)
    else:
        ahead.add_done_callback(close)
