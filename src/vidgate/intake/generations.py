"""The create-a-generation use case, shared by every surface that makes a job.

``POST /v1/generations``, the Runway-compatible ``/runway/v1/*`` creates and OpenAI's
``/openai/v1/videos`` all pass their body here, so one code path applies, in order:

1. JSON that is not finite (NaN, Infinity) is refused, every such field named;
2. the webhook URL (when given) is checked, and its problems reported with the body's;
3. the body is validated for its endpoint and model, and its media fields put through the media
   policy (:class:`~vidgate.intake.media_policy.MediaPolicy`), or, for ``chain``, the chain is
   planned (:func:`~vidgate.intake.chain.accept_chain`); one 422 names every bad field;
4. a new job is refused (503) while the provider is down, unless the Idempotency-Key names a job;
5. a repeat is recognised: the same Idempotency-Key and body answer the first job (another body:
   409); an SDK's automatic retry (``repeat_window_seconds``) answers the caller's identical job
   made moments before;
6. the job is inserted with its budget reservation in the same transaction, and queued.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, timedelta
from typing import Any

from vidgate.catalog import Catalog
from vidgate.clock import utcnow
from vidgate.errors import FieldProblem, ValidationFailed
from vidgate.intake.chain import accept_chain
from vidgate.intake.media_policy import MediaPolicy
from vidgate.jobs.store import CreatedJob, JobStore, hash_request
from vidgate.provider.health import ProviderHealth
from vidgate.requests.chain_plan import CHAIN_ENDPOINT
from vidgate.tenancy.budgets import budget_reservation
from vidgate.webhooks.policy import WebhookUrlPolicy

__all__ = ["GenerationIntake", "NewGeneration"]

# How many of the caller's newest jobs of the model are searched for the one an SDK retry repeats.
_REPEAT_SEARCH = 50


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
    #: The surface recognises SDK retries (the SDKs send no idempotency key): media fetched for
    #: this body is keyed by the body, on first tries too, so a retry stores the very same body.
    sdk_surface: bool = False
    #: An SDK's automatic retry of a create: the caller's identical job made within this many
    #: seconds is answered instead of a new one.
    repeat_window_seconds: float | None = None


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
    ) -> None:
        self.store = store
        self.catalog = catalog
        self.media = media
        self.webhooks = webhooks
        self.provider_health = provider_health
        self.job_submitted = job_submitted

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
        if new.idempotency_key is None and new.repeat_window_seconds is not None:
            earlier = await self._recent_repeat(new, endpoint, model, wire_body)
            if earlier is not None:
                return earlier
        # 503 while the provider is down (after the 422s: bad input is named even then), unless
        # the Idempotency-Key names a job (a replay).
        await self.provider_health.refuse_new_job(new.owner, new.idempotency_key)
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
        )
        if not created.existing:
            await self.job_submitted(created.job.id)
        return created

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

    async def _recent_repeat(
        self, new: NewGeneration, endpoint: str, model: str, wire_body: Mapping[str, Any]
    ) -> CreatedJob | None:
        """The caller's job with this very request made within the window, if any."""
        assert new.repeat_window_seconds is not None
        since = utcnow() - timedelta(seconds=new.repeat_window_seconds)
        wanted = hash_request(endpoint, wire_body)
        owner = new.owner or ""  # the store keeps ownerless jobs under ''
        page = await self.store.list_jobs(owner, model=model, limit=_REPEAT_SEARCH)
        for job in page.jobs:
            created_at = job.created_at
            if created_at.tzinfo is None:
                created_at = created_at.replace(tzinfo=UTC)
            if created_at < since:
                break
            if job.request_hash == wanted and job.parent_id is None:
                return CreatedJob(job, existing=True)
        return None


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
