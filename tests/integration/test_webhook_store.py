"""The webhook store on real SQLite and PostgreSQL: events become deliveries once, claims are
exclusive, a crash between send and record re-sends (at least once), retries end in `failed`."""

from __future__ import annotations

import asyncio
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from vidgate.errors import ConfigurationError, NotFound
from vidgate.jobs.models import Job
from vidgate.jobs.status import Status
from vidgate.jobs.store import JobStore
from vidgate.webhooks.models import DeliveryStatus
from vidgate.webhooks.schedule import RetrySchedule
from vidgate.webhooks.sealing import SEALED_PREFIX, SecretSealer, seal_stored_secrets
from vidgate.webhooks.store import AttemptOutcome, WebhookStore

T0 = datetime(2026, 1, 1, tzinfo=UTC)
URL = "https://hooks.example.com/vidgate"
FAST = RetrySchedule(
    base=timedelta(seconds=10), cap=timedelta(seconds=60), retry_for=timedelta(seconds=100)
)


def render(job: Job) -> dict[str, Any]:
    return {"id": job.id, "status": job.status.value}


async def finished_job(
    store: JobStore, *, owner: str | None = None, url: str | None = URL, status: Status
) -> Job:
    job = (
        await store.create_job(
            endpoint="text_to_video",
            model="gen4.5",
            request={"promptText": "x"},
            owner=owner,
            webhook_url=url,
        )
    ).job
    job = await store.update_job(job, expected_version=job.version, status=Status.RUNNING)
    return await store.update_job(job, expected_version=job.version, status=status)


def failed(at: datetime, code: int | None = 500) -> AttemptOutcome:
    return AttemptOutcome(at, 0.01, code, f"the receiver answered {code}")


def ok(at: datetime) -> AttemptOutcome:
    return AttemptOutcome(at, 0.01, 204, None)


@pytest.fixture
def hooks(engine: AsyncEngine) -> WebhookStore:
    return WebhookStore(engine, SecretSealer([secrets.token_bytes(32)]))


async def test_terminal_events_become_one_delivery_each(
    job_store: JobStore, hooks: WebhookStore
) -> None:
    done = await finished_job(job_store, status=Status.SUCCEEDED)
    broken = await finished_job(job_store, status=Status.FAILED)
    await finished_job(job_store, url=None, status=Status.SUCCEEDED)  # no URL anywhere: nothing
    # Several dispatchers at once: each event is read by exactly one of them.
    counts = await asyncio.gather(*(hooks.enqueue_events(render) for _ in range(4)))
    assert sum(counts) == 9  # 3 jobs x (created, running, terminal)
    assert await hooks.enqueue_events(render) == 0
    [delivery] = [log.delivery for log in await hooks.list_deliveries(done.id)]
    assert delivery.event_type == "generation.succeeded"
    assert delivery.url == URL
    assert delivery.status is DeliveryStatus.PENDING
    assert delivery.payload["data"] == {"id": done.id, "status": "succeeded"}
    assert delivery.payload["id"] == delivery.id and delivery.id.startswith("whd_")
    [other] = [log.delivery for log in await hooks.list_deliveries(broken.id)]
    assert other.event_type == "generation.failed"


async def test_the_owners_default_url_is_used_when_the_job_names_none(
    job_store: JobStore, hooks: WebhookStore
) -> None:
    _, secret = await hooks.set_default_url("ak_one", "https://one.example.com/h")
    assert secret is not None and secret.startswith("whsec_")
    assert (await hooks.set_default_url("ak_one", "https://one.example.com/2"))[1] is None
    own = await finished_job(job_store, owner="ak_one", url=None, status=Status.CANCELLED)
    mine = await finished_job(job_store, owner="ak_one", url=URL, status=Status.SUCCEEDED)
    await hooks.enqueue_events(render)
    [a] = await hooks.list_deliveries(own.id)
    [b] = await hooks.list_deliveries(mine.id)
    assert a.delivery.url == "https://one.example.com/2"
    assert a.delivery.event_type == "generation.cancelled"
    assert b.delivery.url == URL  # the request's own URL wins
    assert await hooks.signing_secret("ak_one") == secret
    rotated = await hooks.rotate_secret("ak_one")
    assert rotated != secret and await hooks.signing_secret("ak_one") == rotated


async def test_claims_are_exclusive_and_a_crash_re_sends(
    job_store: JobStore, hooks: WebhookStore
) -> None:
    job = await finished_job(job_store, status=Status.SUCCEEDED)
    await hooks.enqueue_events(render, now=T0)
    first, second = await asyncio.gather(
        hooks.claim_due("a", now=T0, lease_seconds=30),
        hooks.claim_due("b", now=T0, lease_seconds=30),
    )
    assert len(first) + len(second) == 1
    # "a" sent it and died before recording: nobody may claim it while the lease lasts ...
    assert await hooks.claim_due("b", now=T0 + timedelta(seconds=29)) == []
    # ... and after it, it is sent again.
    [again] = await hooks.claim_due("b", now=T0 + timedelta(seconds=31), lease_seconds=30)
    done = await hooks.record_attempt(
        again, "b", ok(T0 + timedelta(seconds=31)), schedule=FAST, now=T0 + timedelta(seconds=32)
    )
    assert done is not None and done.status is DeliveryStatus.DELIVERED
    assert await hooks.claim_due("c", now=T0 + timedelta(days=2)) == []
    [log] = await hooks.list_deliveries(job.id)
    assert [a.number for a in log.attempts] == [1]


async def test_a_late_failure_from_a_lost_lease_is_only_logged(
    job_store: JobStore, hooks: WebhookStore
) -> None:
    job = await finished_job(job_store, status=Status.SUCCEEDED)
    await hooks.enqueue_events(render, now=T0)
    [mine] = await hooks.claim_due("a", now=T0, lease_seconds=5)
    [theirs] = await hooks.claim_due("b", now=T0 + timedelta(seconds=6), lease_seconds=5)
    late = await hooks.record_attempt(
        mine, "a", failed(T0), schedule=FAST, now=T0 + timedelta(seconds=7)
    )
    assert late is not None
    assert late.status is DeliveryStatus.PENDING and late.lease_owner == "b"
    assert late.round_failures == 0
    done = await hooks.record_attempt(
        theirs, "b", ok(T0 + timedelta(seconds=6)), schedule=FAST, now=T0 + timedelta(seconds=8)
    )
    assert done is not None and done.status is DeliveryStatus.DELIVERED
    [log] = await hooks.list_deliveries(job.id)
    assert [(a.number, a.status_code) for a in log.attempts] == [(1, 500), (2, 204)]


async def test_failures_back_off_then_give_up_and_redelivery_starts_a_new_round(
    job_store: JobStore, hooks: WebhookStore
) -> None:
    job = await finished_job(job_store, status=Status.FAILED)
    await hooks.enqueue_events(render, now=T0)
    now = T0
    waits: list[float] = []
    while True:
        [delivery] = await hooks.claim_due("a", now=now, lease_seconds=30)
        row = await hooks.record_attempt(delivery, "a", failed(now, 503), schedule=FAST, now=now)
        assert row is not None
        if row.status is DeliveryStatus.FAILED:
            break
        waits.append((row.next_attempt_at - now).total_seconds())
        assert await hooks.claim_due("a", now=row.next_attempt_at - timedelta(seconds=1)) == []
        now = row.next_attempt_at
    assert (now - T0) >= FAST.retry_for
    assert 7.5 <= waits[0] <= 10 and 15 <= waits[1] <= 20 and 30 <= waits[2] <= 40
    assert all(45 <= w <= 60 for w in waits[3:])
    assert await hooks.claim_due("a", now=now + timedelta(days=30)) == []

    [log] = await hooks.list_deliveries(job.id)
    count = len(log.attempts)
    assert log.delivery.last_status_code == 503
    with pytest.raises(NotFound):
        await hooks.redeliver("some-other-job", log.delivery.id)
    again = await hooks.redeliver(job.id, log.delivery.id, now=now + timedelta(days=1))
    assert again.status is DeliveryStatus.PENDING and again.round_failures == 0
    [delivery] = await hooks.claim_due("a", now=now + timedelta(days=1))
    assert delivery.id == log.delivery.id
    later = now + timedelta(days=1)
    row = await hooks.record_attempt(delivery, "a", failed(later), schedule=FAST, now=later)
    assert row is not None and row.status is DeliveryStatus.PENDING  # a new 100 s window
    [log] = await hooks.list_deliveries(job.id)
    assert [a.number for a in log.attempts] == list(range(1, count + 2))


async def test_a_chains_segments_send_no_webhook(job_store: JobStore, hooks: WebhookStore) -> None:
    await hooks.set_default_url("ak_chain", "https://chain.example.com/h")
    parent = (
        await job_store.create_job(
            endpoint="text_to_video", model="gen4.5", request={"p": 1}, owner="ak_chain"
        )
    ).job
    segment = (
        await job_store.create_job(
            endpoint="text_to_video",
            model="gen4.5",
            request={"p": 2},
            owner="ak_chain",
            parent_id=parent.id,
            segment_index=0,
        )
    ).job
    for job in (segment, parent):
        job = await job_store.update_job(job, expected_version=job.version, status=Status.RUNNING)
        await job_store.update_job(job, expected_version=job.version, status=Status.SUCCEEDED)
    await hooks.enqueue_events(render)
    assert await hooks.list_deliveries(segment.id) == []
    [log] = await hooks.list_deliveries(parent.id)
    assert log.delivery.url == "https://chain.example.com/h"


# --- secrets sealed at rest (webhooks/sealing.py) ------------------------------------------------


async def stored_secret(engine: AsyncEngine, owner: str) -> str | None:
    async with engine.connect() as connection:
        value = await connection.scalar(
            text("SELECT secret FROM webhook_targets WHERE owner = :owner"), {"owner": owner}
        )
    return None if value is None else str(value)


async def test_the_database_holds_secrets_sealed_and_the_store_opens_them(
    engine: AsyncEngine, hooks: WebhookStore
) -> None:
    _, secret = await hooks.set_default_url("ak_seal", "https://seal.example.com/h")
    assert secret is not None
    stored = await stored_secret(engine, "ak_seal")
    assert stored is not None and stored.startswith(SEALED_PREFIX)
    assert secret not in stored and secret.removeprefix("whsec_") not in stored
    assert await hooks.signing_secret("ak_seal") == secret
    target = await hooks.get_target("ak_seal")
    assert target is not None and (target.secret, target.secret_set) == (secret, True)
    rotated = await hooks.rotate_secret("ak_seal")
    assert rotated not in (await stored_secret(engine, "ak_seal") or "")
    # Another key opens nothing: the secret shows as set, signing says which key is missing.
    stranger = WebhookStore(engine, SecretSealer([secrets.token_bytes(32)]))
    target = await stranger.get_target("ak_seal")
    assert target is not None and (target.secret, target.secret_set) == (None, True)
    with pytest.raises(ConfigurationError, match="VIDGATE_SECRETS_KEY"):
        await stranger.signing_secret("ak_seal")


async def test_plaintext_secrets_from_before_are_sealed_once_and_keys_rotate(
    engine: AsyncEngine,
) -> None:
    old_key, new_key = secrets.token_bytes(32), secrets.token_bytes(32)
    plain = "whsec_" + "QUJD" * 11
    async with engine.begin() as connection:  # as a vidgate from before sealing left it
        await connection.execute(
            text(
                "INSERT INTO webhook_targets (owner, url, secret, created_at, updated_at) "
                "VALUES ('ak_old', NULL, :secret, :now, :now)"
            ),
            {"secret": plain, "now": T0},
        )
    before = SecretSealer([old_key])
    assert await WebhookStore(engine, before).signing_secret("ak_old") == plain  # read as is
    # Two processes starting at once: the row is sealed once.
    done = await asyncio.gather(*(seal_stored_secrets(engine, before) for _ in range(3)))
    assert sum(d.sealed for d in done) == 1 and all(d.unopened == 0 for d in done)
    sealed = await stored_secret(engine, "ak_old")
    assert sealed is not None and sealed.startswith(SEALED_PREFIX) and plain not in sealed
    assert await seal_stored_secrets(engine, before) == (0, 0)
    # A new key first, the old one still given: sealed again with the new one.
    rotating = SecretSealer([new_key, old_key])
    assert await seal_stored_secrets(engine, rotating) == (1, 0)
    assert await seal_stored_secrets(engine, rotating) == (0, 0)
    after = SecretSealer([new_key])
    assert await WebhookStore(engine, after).signing_secret("ak_old") == plain
    # The old key alone no longer opens it, and says so.
    assert await seal_stored_secrets(engine, before) == (0, 1)
