"""Webhooks over the API: a job's delivery log and manual redelivery; the caller's default URL and
signing secret. The format of the webhooks themselves is in docs/webhooks.md.

Scoped like every job route: another key's job (and so its deliveries) is a 404. Without API keys
the caller is the ownerless operator, whose target and secret are those of jobs no key owns.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field

from vidgate.api.deps import CallerDep, ContextDep, error_responses
from vidgate.api.routes.generations import job_out
from vidgate.api.schemas import ApiOut
from vidgate.errors import ValidationFailed
from vidgate.jobs.models import Job
from vidgate.webhooks.models import DeliveryStatus, WebhookAttempt, WebhookDelivery
from vidgate.webhooks.signing import SECRET_PREFIX
from vidgate.webhooks.store import DeliveryLog

__all__ = [
    "DeliveryAttemptOut",
    "DeliveryList",
    "DeliveryOut",
    "WebhookSecretOut",
    "WebhookSettingsIn",
    "WebhookSettingsOut",
    "delivery_out",
    "job_payload",
    "router",
]

router = APIRouter(tags=["webhooks"])
_SHOWN_SECRET_CHARS = len(SECRET_PREFIX) + 4


class DeliveryAttemptOut(ApiOut):
    number: int = Field(description="1 for the first request; counts every round.")
    started_at: datetime
    duration_seconds: float
    status_code: int | None = Field(None, description="The receiver's answer; null if none came.")
    error: str | None = Field(None, description="Why it failed; null when it succeeded (2xx).")


class DeliveryOut(ApiOut):
    id: str = Field(description="Sent as `webhook-id` on every attempt: dedupe on it.")
    job_id: str
    event: str = Field(description="`generation.succeeded`, `generation.failed`, ...")
    url: str
    status: DeliveryStatus
    attempt_count: int
    next_attempt_at: datetime | None = Field(None, description="While `pending`.")
    last_status_code: int | None = None
    last_error: str | None = None
    created_at: datetime
    delivered_at: datetime | None = None
    attempts: list[DeliveryAttemptOut] = Field(description="Every request sent, first to last.")


class DeliveryList(ApiOut):
    data: list[DeliveryOut]


class WebhookSettingsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str | None = Field(
        description="The https URL your jobs' webhooks go to when a request names none; null: none."
    )


class WebhookSettingsOut(ApiOut):
    url: str | None = None
    secret_set: bool = Field(description="Whether a signing secret exists.")
    secret_prefix: str | None = Field(None, description="Its first characters, to tell it apart.")
    secret: str | None = Field(
        None, description="The new signing secret: shown only in the answer that made it."
    )


class WebhookSecretOut(ApiOut):
    secret: str = Field(description="The new signing secret, shown once; the old one stops now.")


def job_payload(job: Job) -> dict[str, Any]:
    """A job as a webhook's ``data``: exactly what GET /v1/generations/{id} shows."""
    return job_out(job).model_dump(mode="json", by_alias=True)


def delivery_out(delivery: WebhookDelivery, attempts: list[WebhookAttempt]) -> DeliveryOut:
    return DeliveryOut(
        id=delivery.id,
        job_id=delivery.job_id,
        event=delivery.event_type,
        url=delivery.url,
        status=delivery.status,
        attempt_count=delivery.attempts,
        next_attempt_at=(
            delivery.next_attempt_at if delivery.status is DeliveryStatus.PENDING else None
        ),
        last_status_code=delivery.last_status_code,
        last_error=delivery.last_error,
        created_at=delivery.created_at,
        delivered_at=delivery.delivered_at,
        attempts=[
            DeliveryAttemptOut(
                number=a.number,
                started_at=a.started_at,
                duration_seconds=round(a.duration_seconds, 3),
                status_code=a.status_code,
                error=a.error,
            )
            for a in attempts
        ],
    )


def _log_out(log: DeliveryLog) -> DeliveryOut:
    return delivery_out(log.delivery, log.attempts)


@router.get(
    "/v1/generations/{job_id}/deliveries",
    response_model=DeliveryList,
    responses=error_responses(404),
    summary="The job's webhook deliveries, each with every attempt",
)
async def list_deliveries(job_id: str, ctx: ContextDep, caller: CallerDep) -> DeliveryList:
    job = await ctx.runtime.store.get_job(job_id, caller.owner)
    logs = await ctx.webhooks.store.list_deliveries(job.id)
    return DeliveryList(data=[_log_out(log) for log in logs])


@router.post(
    "/v1/generations/{job_id}/deliveries/{delivery_id}/redeliver",
    status_code=202,
    response_model=DeliveryOut,
    responses=error_responses(404),
    summary="Send a webhook delivery again (same id and body)",
)
async def redeliver(
    job_id: str, delivery_id: str, ctx: ContextDep, caller: CallerDep
) -> DeliveryOut:
    """The delivery becomes `pending` and is sent at once, with a new round of retries."""
    job = await ctx.runtime.store.get_job(job_id, caller.owner)
    await ctx.webhooks.store.redeliver(job.id, delivery_id)
    if ctx.runtime.webhooks is not None:
        ctx.runtime.webhooks.wake()
    for log in await ctx.webhooks.store.list_deliveries(job.id):
        if log.delivery.id == delivery_id:
            return _log_out(log)
    raise AssertionError("a redelivered delivery vanished")  # pragma: no cover


def _settings_out(
    url: str | None, secret: str | None, made: str | None, *, secret_set: bool = False
) -> WebhookSettingsOut:
    return WebhookSettingsOut(
        url=url,
        secret_set=secret_set or secret is not None,
        secret_prefix=secret[:_SHOWN_SECRET_CHARS] + "..." if secret else None,
        secret=made,
    )


@router.get(
    "/v1/webhook",
    response_model=WebhookSettingsOut,
    responses=error_responses(),
    summary="Your default webhook URL and whether a signing secret exists",
)
async def get_webhook_settings(ctx: ContextDep, caller: CallerDep) -> WebhookSettingsOut:
    target = await ctx.webhooks.store.get_target(caller.owner)
    secret = target.secret if target else None
    if caller.owner is None and ctx.runtime.settings.webhook_secret:
        # What the dispatcher signs with: the setting wins over a stored secret.
        secret = ctx.runtime.settings.webhook_secret.get_secret_value()
    url = target.url if target else None
    return _settings_out(url, secret, None, secret_set=target is not None and target.secret_set)


@router.put(
    "/v1/webhook",
    response_model=WebhookSettingsOut,
    responses=error_responses(),
    summary="Set your default webhook URL",
)
async def put_webhook_settings(
    body: WebhookSettingsIn, ctx: ContextDep, caller: CallerDep
) -> WebhookSettingsOut:
    """The URL is checked like `webhookUrl`; a signing secret is made if there is none (and shown
    in this answer only)."""
    problems = await ctx.webhooks.problems(
        body.url, field="url", owner=caller.owner, need_secret=False
    )
    if problems:
        raise ValidationFailed(problems)
    target, made = await ctx.webhooks.store.set_default_url(caller.owner, body.url)
    return _settings_out(target.url, target.secret, made, secret_set=target.secret_set)


@router.post(
    "/v1/webhook/secret",
    status_code=201,
    response_model=WebhookSecretOut,
    responses=error_responses(),
    summary="Make a new webhook signing secret (shown once)",
)
async def rotate_webhook_secret(
    ctx: ContextDep, caller: CallerDep, response: Response
) -> WebhookSecretOut:
    """Every later attempt, retries of older deliveries included, is signed with it."""
    secret = await ctx.webhooks.store.rotate_secret(caller.owner)
    response.headers["Cache-Control"] = "no-store"
    return WebhookSecretOut(secret=secret)
