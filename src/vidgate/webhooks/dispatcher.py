"""The webhook dispatcher: turns job events into deliveries and sends them, signed, until delivered.

One loop per process (``vidgate serve`` and ``vidgate worker`` start it beside the job worker);
several may share one database. Each round it moves the event cursor
(:meth:`~vidgate.webhooks.store.WebhookStore.enqueue_events`), leases the due deliveries and sends
them at once, each request bounded by ``VIDGATE_WEBHOOK_TIMEOUT_SECONDS`` end to end. Requests go
through the guarded client: only public addresses are dialled (checked at connection time, so a
name re-pointed at a private address after the request was accepted is still refused), and a
redirect is a failed attempt, never followed. A 2xx answer is success; anything else, a timeout or
a refused connection is retried on the :class:`~vidgate.webhooks.schedule.RetrySchedule`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import time
from collections.abc import Collection
from datetime import timedelta

import anyio
import httpx

from vidgate.clock import utcnow
from vidgate.errors import ConfigurationError, VidgateError
from vidgate.jobs.models import NO_OWNER
from vidgate.jobs.wake import Wakeup, run_rounds
from vidgate.media.guarded_fetch import guarded_client
from vidgate.media.url_check import check_https_url
from vidgate.settings import Settings
from vidgate.webhooks.models import WebhookDelivery
from vidgate.webhooks.schedule import RetrySchedule
from vidgate.webhooks.signing import EVENT_HEADER, webhook_headers
from vidgate.webhooks.store import (
    AttemptOutcome,
    JobRenderer,
    WebhookStore,
    delivery_lease_seconds,
)

__all__ = ["WebhookDispatcher", "webhook_client"]

log = logging.getLogger("vidgate.webhooks")

USER_AGENT = "vidgate-webhooks/1"
_NO_SECRET = (
    "no signing secret for this owner: make one with POST /v1/webhook/secret "
    "(or set VIDGATE_WEBHOOK_SECRET when running without API keys)"
)


def webhook_client(settings: Settings) -> httpx.AsyncClient:
    """The production client: guarded (public addresses only), no redirects, bounded timeouts."""
    return guarded_client(
        timeout=httpx.Timeout(settings.webhook_timeout_seconds), user_agent=USER_AGENT
    )


class WebhookDispatcher:
    """Makes and sends webhook deliveries in one process.

    ``client`` must come from :func:`~vidgate.media.guarded_fetch.guarded_client` (tests pass one
    that trusts their certificate and may dial loopback); :meth:`run` closes it when it stops.
    """

    def __init__(
        self,
        store: WebhookStore,
        *,
        render: JobRenderer,
        client: httpx.AsyncClient,
        schedule: RetrySchedule,
        timeout_seconds: float,
        poll_seconds: float,
        allowed_ports: Collection[int],
        ownerless_secret: str | None = None,
        worker_id: str | None = None,
        concurrency: int = 16,
    ) -> None:
        self.store = store
        self.render = render
        self.client = client
        self.schedule = schedule
        self.timeout_seconds = timeout_seconds
        self.poll_seconds = poll_seconds
        self.allowed_ports = frozenset(allowed_ports)
        self.ownerless_secret = ownerless_secret
        self.worker_id = worker_id or f"webhooks-{socket.gethostname()}-{os.getpid()}"
        self.concurrency = concurrency
        self.lease_seconds = delivery_lease_seconds(timeout_seconds)
        self._wake = Wakeup()

    @classmethod
    def from_settings(
        cls,
        store: WebhookStore,
        settings: Settings,
        *,
        render: JobRenderer,
        client: httpx.AsyncClient | None = None,
    ) -> WebhookDispatcher:
        secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else None
        return cls(
            store,
            render=render,
            client=client or webhook_client(settings),
            schedule=RetrySchedule(
                base=timedelta(seconds=settings.webhook_retry_base_seconds),
                cap=timedelta(
                    seconds=max(
                        settings.webhook_retry_max_delay_seconds,
                        settings.webhook_retry_base_seconds,
                    )
                ),
                retry_for=timedelta(seconds=settings.webhook_retry_for_seconds),
            ),
            timeout_seconds=settings.webhook_timeout_seconds,
            poll_seconds=settings.webhook_poll_seconds,
            allowed_ports=settings.webhook_allowed_ports,
            ownerless_secret=secret,
        )

    def wake(self) -> None:
        """Look for due deliveries now (a manual redelivery)."""
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        try:
            # A database hiccup (logged) must not end webhooks for the life of the process.
            await run_rounds(
                self.run_once,
                stop=stop,
                wakeup=self._wake,
                idle_seconds=self.poll_seconds,
                log=log,
                name="webhook round",
            )
        finally:
            await self.client.aclose()

    async def run_once(self) -> int:
        """One round: new events to deliveries, then the due deliveries sent. Returns the work
        done (events read + deliveries sent); 0 means idle."""
        read = await self.store.enqueue_events(self.render)
        due = await self.store.claim_due(
            self.worker_id, limit=self.concurrency, lease_seconds=self.lease_seconds
        )
        if due:
            await asyncio.gather(*(self.deliver(d) for d in due))
        return read + len(due)

    async def deliver(self, delivery: WebhookDelivery) -> WebhookDelivery | None:
        """Send one leased delivery and record what came of it."""
        outcome = await self.send(delivery)
        recorded = await self.store.record_attempt(
            delivery, self.worker_id, outcome, schedule=self.schedule
        )
        if recorded is not None:
            log.info(
                "webhook %s (%s, job %s) attempt %d: %s -> %s",
                delivery.id,
                delivery.event_type,
                delivery.job_id,
                recorded.attempts,
                outcome.error or f"HTTP {outcome.status_code}",
                recorded.status.value,
            )
        return recorded

    async def _secret(self, owner: str) -> str | None:
        if owner == NO_OWNER and self.ownerless_secret:
            return self.ownerless_secret
        return await self.store.signing_secret(owner)

    async def send(self, delivery: WebhookDelivery) -> AttemptOutcome:
        """One signed POST of the delivery's body; never raises for the receiver's faults."""
        started_at = utcnow()
        began = time.monotonic()

        def outcome(status_code: int | None, error: str | None) -> AttemptOutcome:
            return AttemptOutcome(started_at, time.monotonic() - began, status_code, error)

        try:
            secret = await self._secret(delivery.owner)
        except ConfigurationError as exc:  # sealed with a key this process does not have
            return outcome(None, str(exc))
        if secret is None:
            return outcome(None, _NO_SECRET)
        try:
            # The rules may have tightened (ports) since the URL was accepted.
            check_https_url(delivery.url, field="url", allowed_ports=self.allowed_ports)
        except VidgateError as exc:
            return outcome(None, f"the URL is refused: {exc}")
        body = json.dumps(delivery.payload, separators=(",", ":"), ensure_ascii=False).encode()
        headers = {
            "Content-Type": "application/json",
            **webhook_headers(secret, delivery.id, body),
            EVENT_HEADER: delivery.event_type,
        }
        try:
            # httpx's timeouts bound each phase; the deadline bounds a receiver that drips.
            with anyio.fail_after(self.timeout_seconds):
                async with self.client.stream(
                    "POST", delivery.url, content=body, headers=headers
                ) as response:
                    # The answer's body is never read: only its status matters.
                    status = response.status_code
        except (TimeoutError, httpx.TimeoutException):
            return outcome(None, f"no answer within {self.timeout_seconds:g} s")
        except VidgateError as exc:  # the guarded backend refusing a non-public address
            return outcome(None, f"refused before connecting: {exc}")
        except httpx.HTTPError as exc:
            return outcome(None, f"could not deliver ({type(exc).__name__}: {exc})")
        if 200 <= status < 300:
            return outcome(status, None)
        if 300 <= status < 400:
            return outcome(status, f"the receiver answered {status}; redirects are not followed")
        return outcome(status, f"the receiver answered {status}")
