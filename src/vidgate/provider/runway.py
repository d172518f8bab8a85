"""Runway through the official ``runwayml`` SDK, and nothing else.

SDK errors are translated here, once, into vidgate's tree. The SDK's own retries are off: a create
is retried only where the provider certainly made no task (429, load-shedding 502/503/504, a
connection that never opened), since Runway takes no idempotency key; reads are retried with
stamina, honouring ``Retry-After``.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx
import runwayml
import stamina

from vidgate.errors import (
    NotFound,
    OutputExpired,
    ProviderCredentialsRefused,
    ProviderRefused,
    ProviderUnavailable,
    RateLimited,
    SubmissionUncertain,
    TransientFault,
    VidgateError,
)
from vidgate.provider.base import (
    CreatedTask,
    ModelLimits,
    Organization,
    TaskSnapshot,
    TaskStatus,
    UsedCredits,
)
from vidgate.provider.output_reader import OutputBody, OutputReader
from vidgate.requests.generation import GenerationRequest

__all__ = ["RunwayProvider"]

T = TypeVar("T")
# Statuses where the server answered before doing anything: safe to send a create again.
_SAFE_CREATE_STATUSES = {429, 502, 503, 504}


class RunwayProvider:
    """The Provider for Runway's API (or anything speaking it, such as vidgate's emulator)."""

    name = "runway"

    def __init__(
        self,
        *,
        api_key: str,
        base_url: str | None = None,
        timeout: float = 60.0,
        retry_attempts: int = 6,
        retry_timeout: float = 120.0,
        max_connections: int = 100,
    ) -> None:
        limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=50)
        self._http = httpx.AsyncClient(
            limits=limits, timeout=httpx.Timeout(timeout, connect=5.0), follow_redirects=False
        )
        # base_url None lets the SDK read RUNWAYML_BASE_URL itself, exactly as it always does.
        self.client = runwayml.AsyncRunwayML(
            api_key=api_key, base_url=base_url, max_retries=0, http_client=self._http
        )
        # Output URLs are signed: fetch them without our Runway credentials.
        self._outputs = OutputReader(timeout=timeout)
        self._retry_attempts = retry_attempts
        self._retry_timeout = retry_timeout

    @property
    def base_url(self) -> str:
        return str(self.client.base_url)

    def follow(self, base_url: str) -> None:
        """Send every later call to ``base_url`` (the embedded emulator moved to a new port)."""
        self.client.base_url = base_url

    async def aclose(self) -> None:
        await self.client.close()
        self._outputs.close()

    # --- calls -------------------------------------------------------------------------------

    async def create_task(self, request: GenerationRequest) -> CreatedTask:
        async def create() -> httpx.Response:
            try:
                return await self.client.post(
                    f"/v1/{request.endpoint.value}", body=request.body, cast_to=httpx.Response
                )
            except runwayml.APIError as exc:
                raise _translate(exc, creating=True) from exc

        response = await self._retrying(create)
        data = _json(response)
        credits = (data.get("estimatedCost") or {}).get("credits")
        return CreatedTask(id=str(data["id"]), estimated_credits=_number(credits))

    async def get_task(self, task_id: str) -> TaskSnapshot:
        async def get() -> httpx.Response:
            try:
                raw = await self.client.tasks.with_raw_response.retrieve(task_id)
            except runwayml.APIError as exc:
                raise _translate(exc) from exc
            return raw.http_response

        # Parsed by hand: an unknown status value must not break the poller.
        return _snapshot(_json(await self._retrying(get)))

    async def cancel_task(self, task_id: str) -> None:
        async def delete() -> None:
            try:
                await self.client.tasks.delete(task_id)
            except runwayml.NotFoundError:
                return  # already gone: cancelling is idempotent
            except runwayml.APIError as exc:
                raise _translate(exc) from exc

        await self._retrying(delete)

    async def upload(self, path: Path, *, filename: str | None = None) -> str:
        async def upload() -> str:
            try:
                with path.open("rb") as handle:
                    file: Any = (filename or path.name, handle) if filename else handle
                    result = await self.client.uploads.create_ephemeral(file=file)
            except runwayml.APIError as exc:
                raise _translate(exc) from exc
            return str(result.uri)

        uri: str = await self._retrying(upload)
        return uri

    async def organization(self) -> Organization:
        async def get() -> httpx.Response:
            try:
                raw = await self.client.organization.with_raw_response.retrieve()
            except runwayml.APIError as exc:
                raise _translate(exc) from exc
            return raw.http_response

        response = await self._retrying(get)
        data = _json(response)
        tier = (data.get("tier") or {}).get("models") or {}
        usage = (data.get("usage") or {}).get("models") or {}
        models = {
            name: ModelLimits(
                max_concurrent=limits.get("maxConcurrentGenerations"),
                max_daily=limits.get("maxDailyGenerations"),
                daily_used=int((usage.get(name) or {}).get("dailyGenerations") or 0),
            )
            for name, limits in tier.items()
        }
        return Organization(
            credit_balance=_number(data.get("creditBalance")),
            models=models,
            server_time=_http_date(response.headers.get("date")),
        )

    async def usage(self, start: date, before: date) -> list[UsedCredits]:
        async def get() -> httpx.Response:
            try:
                raw = await self.client.organization.with_raw_response.retrieve_usage(
                    start_date=start.isoformat(), before_date=before.isoformat()
                )
            except runwayml.APIError as exc:
                raise _translate(exc) from exc
            return raw.http_response

        data = _json(await self._retrying(get))
        return [
            UsedCredits(
                day=date.fromisoformat(str(result["date"])),
                model=str(used["model"]),
                credits=_number(used.get("amount")) or 0.0,
            )
            for result in data.get("results") or []
            for used in result.get("usedCredits") or []
        ]

    def open_output(self, url: str) -> AbstractAsyncContextManager[OutputBody]:
        return self._outputs.open(url)

    # --- retries -----------------------------------------------------------------------------

    async def _retrying(self, call: Callable[[], Any]) -> Any:
        retry = stamina.retry(
            on=_retry_hook,
            attempts=self._retry_attempts,
            timeout=self._retry_timeout,
            wait_initial=0.2,
            wait_max=10.0,
        )
        return await retry(call)()


def _retry_hook(exc: Exception) -> bool | float:
    """stamina's hook: retry passing faults, waiting as long as Retry-After says."""
    if isinstance(exc, TransientFault) and not isinstance(exc, OutputExpired):
        return exc.retry_after if exc.retry_after else True
    return False


def _translate(exc: runwayml.APIError, *, creating: bool = False) -> VidgateError:
    """Map an SDK error to vidgate's tree (the one place that knows the SDK's classes)."""
    if isinstance(exc, runwayml.APIConnectionError):
        cause = exc.__cause__
        never_sent = isinstance(cause, httpx.ConnectError | httpx.ConnectTimeout)
        if creating and not never_sent:
            return SubmissionUncertain(f"create outcome unknown: {exc!r}")
        return ProviderUnavailable(f"provider unreachable: {exc}")
    if not isinstance(exc, runwayml.APIStatusError):
        return ProviderUnavailable(str(exc))
    status = exc.status_code
    message = _error_message(exc)
    retry_after = _retry_after(exc.response)
    if status == 429:
        return RateLimited(f"provider rate limit: {message}", retry_after=retry_after)
    if status >= 500:
        if creating and status not in _SAFE_CREATE_STATUSES:
            return SubmissionUncertain(f"create answered {status}: {message}")
        return ProviderUnavailable(f"provider error {status}: {message}", retry_after=retry_after)
    if status == 404:
        return NotFound(message)
    if status in (401, 403):
        # Wrong or revoked: final, and the operator's to fix (never a start-up-only error).
        return ProviderCredentialsRefused(
            f"Runway refused vidgate's API key ({status}: {message}); "
            "set a valid RUNWAYML_API_SECRET and restart"
        )
    return ProviderRefused(f"provider refused the request ({status}): {message}")


def _error_message(exc: runwayml.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        return str(body["error"])
    return str(exc)


def _retry_after(response: httpx.Response) -> float | None:
    headers = response.headers
    if (ms := headers.get("retry-after-ms")) is not None:
        try:
            return max(float(ms) / 1000, 0.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        parsed = _http_date(value)
        return max(parsed.timestamp() - time.time(), 0.0) if parsed else None


def _http_date(value: str | None) -> datetime | None:
    """An HTTP date (``Date``, ``Retry-After``) as an aware datetime; None if absent or bad."""
    if not value:
        return None
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)  # "-0000": UTC


def _json(response: httpx.Response) -> dict[str, Any]:
    data = response.json()
    if not isinstance(data, dict):
        raise ProviderUnavailable(f"unexpected provider response: {data!r}")
    return data


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _snapshot(data: dict[str, Any]) -> TaskSnapshot:
    created = data.get("createdAt")
    created_at = None
    if isinstance(created, str):
        try:
            created_at = datetime.fromisoformat(created.replace("Z", "+00:00"))
        except ValueError:
            created_at = None
    output = data.get("output") or ()
    return TaskSnapshot(
        id=str(data.get("id")),
        status=TaskStatus.parse(data.get("status")),
        raw_status=str(data.get("status")),
        progress=_number(data.get("progress")),
        output=tuple(str(u) for u in output) if isinstance(output, list) else (),
        failure=data.get("failure"),
        failure_code=data.get("failureCode"),
        estimated_credits=_number((data.get("estimatedCost") or {}).get("credits")),
        cost_credits=_number((data.get("cost") or {}).get("credits")),
        created_at=created_at,
    )
