"""The provider as the rest of vidgate calls it: every call's outcome recorded on the circuit.

Every call to the provider goes through :class:`MonitoredProvider` (the worker's submits, polls,
downloads and cancels, the tier-limit reads, uploads); see :mod:`vidgate.provider.circuit` for
what each outcome means and :mod:`vidgate.provider.health` for where it is kept.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable
from datetime import date
from pathlib import Path
from typing import TypeVar

from sqlalchemy.exc import SQLAlchemyError

from vidgate.provider.base import (
    CreatedTask,
    Organization,
    OutputBody,
    Provider,
    TaskSnapshot,
    UsedCredits,
)
from vidgate.provider.health import ProviderHealth
from vidgate.requests.generation import GenerationRequest

__all__ = ["MonitoredProvider"]

log = logging.getLogger("vidgate.provider.health")

T = TypeVar("T")


class MonitoredProvider:
    """A :class:`~vidgate.provider.base.Provider` that records every call's outcome on a
    :class:`ProviderHealth`, and otherwise is the provider it wraps."""

    def __init__(self, provider: Provider, health: ProviderHealth) -> None:
        self.provider = provider
        self.health = health
        self.name = provider.name

    async def _watch(self, call: Awaitable[T]) -> T:
        try:
            result = await call
        except Exception as exc:
            await self._record(exc)
            raise
        await self._record(None)
        return result

    async def _record(self, exc: BaseException | None) -> None:
        try:
            await self.health.record(exc)
        except (SQLAlchemyError, OSError) as error:
            # The record must never fail the call it describes.
            log.warning("could not record a provider outcome: %s", error)

    async def create_task(self, request: GenerationRequest) -> CreatedTask:
        return await self._watch(self.provider.create_task(request))

    async def get_task(self, task_id: str) -> TaskSnapshot:
        return await self._watch(self.provider.get_task(task_id))

    async def cancel_task(self, task_id: str) -> None:
        await self._watch(self.provider.cancel_task(task_id))

    async def upload(self, path: Path, *, filename: str | None = None) -> str:
        return await self._watch(self.provider.upload(path, filename=filename))

    async def organization(self) -> Organization:
        return await self._watch(self.provider.organization())

    async def usage(self, start: date, before: date) -> list[UsedCredits]:
        return await self._watch(self.provider.usage(start, before))

    @contextlib.asynccontextmanager
    async def open_output(self, url: str) -> AsyncIterator[OutputBody]:
        """The provider's body; its outcome is recorded once it has been read (or failed)."""
        try:
            async with self.provider.open_output(url) as body:
                yield body
        except Exception as exc:
            await self._record(exc)
            raise
        await self._record(None)

    async def aclose(self) -> None:
        await self.provider.aclose()
