"""Task outputs: rendered in a small thread pool, served under HMAC-signed, expiring URLs.

A task's video is rendered as soon as the task holds a concurrency slot, so it is normally ready
when the task's time is up; the file appears under its final name only once complete (written
aside, then renamed), and the task stays RUNNING until it does. Tasks with equal render plans
share one render (:mod:`vidgate.emulator.render_cache`: the renderer is deterministic, so the
bytes are the same either way). Output URLs look like
``/_emulator/outputs/<task id>.mp4?expires=<unix time>&signature=<hmac>``: each ``GET`` of a
SUCCEEDED task mints a fresh one, as Runway's do, and an expired or altered one gets 403.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import math
import os
import shutil
import tempfile
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from enum import StrEnum
from pathlib import Path
from urllib.parse import urlencode

from vidgate.emulator.plan import RenderPlan
from vidgate.emulator.render import render_video
from vidgate.emulator.render_cache import CACHE_DIR, RenderCache

__all__ = ["OUTPUT_ROUTE", "OutputStore", "UrlCheck"]

OUTPUT_ROUTE = "/_emulator/outputs"

RenderDone = Callable[[str, BaseException | None], None]


class UrlCheck(StrEnum):
    """What :meth:`OutputStore.check_url` found."""

    VALID = "valid"  # signed by this emulator and not expired
    EXPIRED = "expired"  # signed, but past its expiry
    INVALID = "invalid"  # not signed by this emulator (or altered)


class OutputStore:
    """Output files of one emulator: where they live, how they are rendered and signed."""

    def __init__(self, directory: Path | None, *, workers: int, secret: bytes) -> None:
        self._owned = directory is None
        if directory is None:
            directory = Path(tempfile.mkdtemp(prefix="vidgate-emulator-"))
        self.directory = directory
        self.directory.mkdir(parents=True, exist_ok=True)
        self._secret = secret
        self._workers = workers
        self._pool: ThreadPoolExecutor | None = None
        self._futures: set[Future[None]] = set()
        self._lock = threading.Lock()
        self.render_cache = RenderCache(directory / CACHE_DIR)

    def path(self, task_id: str) -> Path:
        return self.directory / f"{task_id}.mp4"

    def submit(self, task_id: str, plan: RenderPlan, on_done: RenderDone) -> None:
        """Render ``plan`` for ``task_id`` in the pool; ``on_done(task_id, error)`` follows."""
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self._workers, thread_name_prefix="vidgate-render")
            future = self._pool.submit(self._render, task_id, plan)
            self._futures.add(future)

        def done(f: Future[None]) -> None:
            with self._lock:
                self._futures.discard(f)
            if f.cancelled():
                return
            on_done(task_id, f.exception())

        future.add_done_callback(done)

    def _render(self, task_id: str, plan: RenderPlan) -> None:
        final = self.path(task_id)
        partial = final.with_suffix(".part")
        try:
            self.render_cache.produce(plan, partial, lambda dest: _render_plan(plan, dest))
            os.replace(partial, final)
        finally:
            with contextlib.suppress(FileNotFoundError):
                partial.unlink()

    def discard(self, task_id: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path(task_id).unlink()

    def clear(self) -> None:
        """Cancel queued renders and delete every output (renders under way finish unused)."""
        with self._lock:
            futures = list(self._futures)
        for future in futures:
            future.cancel()  # runs its done-callback here, which takes the lock
        for item in self.directory.glob("*.mp4"):
            with contextlib.suppress(FileNotFoundError):
                item.unlink()

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
        self.render_cache.clear()
        if self._owned:
            shutil.rmtree(self.directory, ignore_errors=True)

    # --- signed URLs ----------------------------------------------------------------------

    def signed_path(self, task_id: str, *, expires: float) -> str:
        """``/_emulator/outputs/<id>.mp4?expires=..&signature=..`` valid until ``expires``."""
        # Rounded down: a URL never lives longer than asked, so a TTL of 0 is expired when signed.
        stamp = f"{math.floor(expires * 1000) / 1000:.3f}"
        query = urlencode({"expires": stamp, "signature": self._sign(task_id, stamp)})
        return f"{OUTPUT_ROUTE}/{task_id}.mp4?{query}"

    def check_url(self, task_id: str, expires: str, signature: str, *, now: float) -> UrlCheck:
        if not hmac.compare_digest(self._sign(task_id, expires), signature):
            return UrlCheck.INVALID
        try:
            deadline = float(expires)
        except ValueError:
            return UrlCheck.INVALID
        return UrlCheck.VALID if now < deadline else UrlCheck.EXPIRED

    def _sign(self, task_id: str, expires: str) -> str:
        message = f"{task_id}\n{expires}".encode()
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()


def _render_plan(plan: RenderPlan, dest: Path) -> None:
    render_video(
        dest,
        width=plan.width,
        height=plan.height,
        duration_seconds=plan.duration_seconds,
        fps=plan.fps,
        prompt_text=plan.prompt_text,
        first_image=plan.first_image,
        last_image=plan.last_image,
        source_video=plan.source_video,
        driving_video=plan.driving_video,
        seed=plan.seed,
        audio=plan.audio,
    )
