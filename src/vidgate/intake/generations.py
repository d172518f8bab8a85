"""The generation use cases, shared by every surface: create a job, and cancel one.

``POST /v1/generations``, the Runway-compatible ``/runway/v1/*`` creates and OpenAI's
``/openai/v1/videos`` all pass their body here, so one code path applies, in order:

1. JSON that is not finite (NaN, Infinity) is refused, every such field named;
2. the webhook URL (when given) is checked, and its problems reported with the body's;
3. the body is validated for its endpoint and model, and its media fields put through the media
   policy (:class:`~vidgate.intake.media_policy.MediaPolicy`), or, for ``chain``, the chain is
   planned (:func:`~vidgate.intake.chain.accept_chain`); one 422 names every bad field;
4. a new job is refused (503) while the provider is down, unless the Idempotency-Key names a job;
5. the job is inserted with its budget reservation in the same transaction, and queued; a repeat
   is recognised in that transaction: the same Idempotency-Key and body answer the first job
   (another body: 409), and an SDK surface's create goes through the SDK-retry match
   (:mod:`vidgate.jobs.sdk_retries`: a retry, even one that overtakes its original, answers the
   caller's identical job made within ``VIDGATE_SDK_RETRY_WINDOW_SECONDS``).

:meth:`GenerationIntake.cancel` asks a job to stop and wakes the worker, which cancels its
upstream task.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from vidgate.catalog import Catalog
from vidgate.clock import utcnow
from vidgate.errors import (
    FieldProblem,
    ProviderCredentialsRefused,
    ProviderUnavailable,
    ValidationFailed,
)
from vidgate.intake.chain import accept_chain
from vidgate.intake.media_policy import MediaPolicy
from vidgate.jobs.models import Job
from vidgate.jobs.sdk_retries import SdkAttempt
from vidgate.jobs.store import CreatedJob, JobStore, hash_request
from vidgate.provider.health import ProviderHealth
from vidgate.requests.chain_plan import CHAIN_ENDPOINT
from vidgate.tenancy.budgets import budget_reservation
from vidgate.webhooks.policy import WebhookUrlPolicy

__all__ = ["GenerationIntake", "NewGeneration"]


@dataclass(frozen=True)
class NewGeneration:
    """One request to make a job, as any surface received it."""

    #: A Runway endpoint (``text_to_video``...) or ``chain``.
    endpoint: str
    #: ``model`` and the model's fields, by Runway's wire names.
    body: Mapping[str, Any]
    #: The API key that asks; None when auth is off.
    owner: str | None
    auth_enabled: bool
    idempotency_key: str | None = None
    webhook_url: str | None = None
    #: The wire name the webhook URL came in (for the 422).
    webhook_field: str = "webhookUrl"
    #: The surface recognises SDK retries (the SDKs send no idempotency key): the create goes
    #: through the SDK-retry match, and media fetched for this body is keyed by the body, on
    #: first tries too, so a retry stores the very same body.
    sdk_surface: bool = False
    #: The SDK marked the request as its own retry (``x-stainless-retry-count`` >= 1).
    sdk_retry: bool = False
    #: When the request arrived, before its body was read (default: now).
    received_at: datetime | None = None


class GenerationIntake:
    """Validates, admits and stores new jobs for one running API."""

    def __init__(
        self,
        *,
        store: JobStore,
        catalog: Catalog,
        media: MediaPolicy,
        webhooks: WebhookUrlPolicy,
        provider_health: ProviderHealth,
        job_submitted: Callable[[str], Awaitable[None]],
        sdk_retry_window_seconds: float,
    ) -> None:
        self.store = store
        self.catalog = catalog
        self.media = media
        self.webhooks = webhooks
        self.provider_health = provider_health
        self.job_submitted = job_submitted
        self.sdk_retry_window = timedelta(seconds=sdk_retry_window_seconds)

    async def create(self, new: NewGeneration) -> CreatedJob:
        """Make the job ``new`` asks for (or find the one it repeats); raises the caller's errors:
        ValidationFailed (422), Conflict (409), BudgetExceeded (402), ProviderUnavailable (503)."""
        raw = dict(new.body)
        problems = _non_finite(raw)
        if problems:
            raise ValidationFailed(problems)
        # Checked first, reported with the body's problems: one 422 names every bad field.
        hook_problems = await self.webhooks.problems(
            new.webhook_url, field=new.webhook_field, owner=new.owner
        )
        # Ingested URLs are reused by a repeat of the same key, or of the same body when retried.
        ingest_key = new.idempotency_key
        if ingest_key is None and new.sdk_surface:
            ingest_key = "repeat:" + hash_request(new.endpoint, raw)
        try:
            endpoint, model, wire_body, estimated = await self._validate(new, raw, ingest_key)
        except ValidationFailed as exc:
            if hook_problems:
                raise ValidationFailed([*exc.problems, *hook_problems]) from exc
            raise
        if hook_problems:
            raise ValidationFailed(hook_problems)
        sdk = None
        if new.sdk_surface and new.idempotency_key is None:
            sdk = SdkAttempt(
                retry=new.sdk_retry,
                received_at=new.received_at or utcnow(),
                window=self.sdk_retry_window,
            )
        # 503 while the provider is down (after the 422s: bad input is named even then), unless
        # the Idempotency-Key names a job (a replay) or an SDK retry's job was made already.
        try:
            await self.provider_health.refuse_new_job(new.owner, new.idempotency_key)
        except (ProviderUnavailable, ProviderCredentialsRefused):
            held = None
            if sdk is not None and sdk.retry:
                held = await self.store.find_sdk_match(
                    endpoint=endpoint, request=wire_body, owner=new.owner, sdk=sdk
                )
            if held is None:
                raise
            return CreatedJob(held, existing=True)
        created = await self.store.create_job(
            endpoint=endpoint,
            model=model,
            request=wire_body,
            owner=new.owner,
            idempotency_key=new.idempotency_key,
            estimated_credits=estimated,
            webhook_url=new.webhook_url,
            # Checked and reserved in the insert's transaction: concurrent requests cannot
            # overspend.
            admit=budget_reservation(new.owner, estimated, model=model),
            sdk=sdk,
        )
        if not created.existing:
            await self.job_submitted(created.job.id)
        return created

    async def cancel(self, job_id: str, owner: str | None) -> Job:
        """Ask the caller's job to stop, and wake the worker: it cancels the upstream task.

        Answers the job as it now stands (a finished one unchanged); NotFound for a job that is
        not the caller's.
        """
        job = await self.store.request_cancel(job_id, owner)
        await self.job_submitted(job.id)
        return job

    async def _validate(
        self, new: NewGeneration, raw: dict[str, Any], ingest_key: str | None
    ) -> tuple[str, str, dict[str, Any], float | None]:
        """The endpoint, model, body to store and estimate of a valid request."""
        if new.endpoint == CHAIN_ENDPOINT:  # the estimate covers every segment
            chain = await accept_chain(
                self.media,
                raw,
                owner=new.owner,
                auth_enabled=new.auth_enabled,
                idempotency_key=ingest_key,
            )
            return CHAIN_ENDPOINT, chain.plan.model, chain.body, chain.estimated_credits
        generation, wire_body = await self.media.validate(
            new.endpoint,
            raw,
            owner=new.owner,
            auth_enabled=new.auth_enabled,
            idempotency_key=ingest_key,
        )
        estimated = self.catalog.estimate_cost(
            generation.model,
            duration=generation.duration_seconds,
            endpoint=generation.endpoint,
        ).high
        return generation.endpoint.value, generation.model, wire_body, estimated


def _non_finite(value: Any, path: str = "") -> list[FieldProblem]:
    """JSON allows no NaN or Infinity; Python's parser does. Name every one."""
    if isinstance(value, float) and not math.isfinite(value):
        return [FieldProblem(path, "must be a finite number")]
    items: Sequence[tuple[str, Any]] = ()
    if isinstance(value, Mapping):
        items = [(f"{path}.{k}" if path else str(k), v) for k, v in value.items()]
    elif isinstance(value, list):
        items = [(f"{path}[{i}]", v) for i, v in enumerate(value)]
    return [problem for sub, item in items for problem in _non_finite(item, sub)]
