"""Group commit: the writes of concurrent callers committed together, one transaction for many.

A transaction costs the same fixed price whatever it holds (``BEGIN IMMEDIATE``, a commit, on
SQLite the process's write lock and a hop into the driver's thread per statement), so a store
that commits each new job on its own tops out at a few hundred jobs a second. Here a caller hands
its item over and waits; one drain task takes everything waiting, writes it in one transaction
and answers each caller with its own result (or its own error). Nothing waits on a timer: an idle
drainer starts at once with what is there, and whatever arrives meanwhile forms the next batch,
so batches grow with the load and a lone caller pays no extra latency. Each caller still returns
only after the transaction holding its item has committed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

__all__ = ["GroupCommit"]

T = TypeVar("T")
R = TypeVar("R")


class GroupCommit(Generic[T, R]):
    """Batches :meth:`submit` calls into calls of ``write(items)``, at most ``max_batch`` each.

    ``write`` returns one outcome per item, in order: a result, or an exception that only that
    item's caller receives. If ``write`` itself raises, every caller of that batch gets the error.
    """

    def __init__(
        self,
        write: Callable[[Sequence[T]], Awaitable[Sequence[R | BaseException]]],
        *,
        max_batch: int = 256,
    ) -> None:
        self._write = write
        self._max_batch = max_batch
        self._waiting: list[tuple[T, asyncio.Future[R]]] = []
        self._drainer: asyncio.Task[None] | None = None

    async def submit(self, item: T) -> R:
        """Write ``item`` in the next batch and return its result once that batch committed."""
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._waiting.append((item, future))
        if self._drainer is None or self._drainer.done():
            self._drainer = asyncio.create_task(self._drain(), name="vidgate-group-commit")
        return await future

    async def _drain(self) -> None:
        while self._waiting:
            batch = self._waiting[: self._max_batch]
            del self._waiting[: self._max_batch]
            # A caller that gave up before its batch began is not written (its request is gone).
            batch = [(item, future) for item, future in batch if not future.done()]
            if not batch:
                continue
            try:
                outcomes = await self._write([item for item, _ in batch])
            except Exception as exc:
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            except BaseException:
                # Cancelled (shutdown): no caller may wait for a batch that will never come.
                for _, future in [*batch, *self._waiting]:
                    future.cancel()
                self._waiting.clear()
                raise
            for (_, future), outcome in zip(batch, outcomes, strict=True):
                if future.done():
                    continue  # its caller was cancelled while the batch was written
                if isinstance(outcome, BaseException):
                    future.set_exception(outcome)
                else:
                    future.set_result(outcome)
