"""Which webhook URLs are accepted when a client names one (``webhookUrl``, ``PUT /v1/webhook``).

The media URL policy's address rules, without its allowlist (a webhook goes wherever its owner
says): ``https``, a domain name (never an IP address, in any notation), no local names, no user
info, a port in ``VIDGATE_WEBHOOK_ALLOWED_PORTS``, and a name that resolves only to public
addresses. Resolving now gives the client a 422 it can act on; the guarded client checks the
address again when it connects, which is what actually stops a name re-pointed later.
"""

from __future__ import annotations

from vidgate.errors import FieldProblem, MediaRejected
from vidgate.media.guarded_fetch import Resolver, host_problem, system_resolver
from vidgate.media.url_check import check_https_url
from vidgate.settings import Settings
from vidgate.webhooks.store import WebhookStore

__all__ = ["WebhookUrlPolicy"]

_RESOLVE_SECONDS = 5.0


class WebhookUrlPolicy:
    """Checks webhook URLs for one running API (its settings, resolver and webhook store)."""

    def __init__(
        self, *, settings: Settings, store: WebhookStore, resolver: Resolver | None = None
    ) -> None:
        self.settings = settings
        self.store = store
        self._resolver = resolver or system_resolver

    async def problems(
        self, url: str | None, *, field: str, owner: str | None, need_secret: bool = True
    ) -> list[FieldProblem]:
        """Every reason to refuse ``url`` for ``field``; empty when it is acceptable.

        With ``need_secret``, the owner must already have a signing secret (else its receiver
        could not check a single webhook): made by POST /v1/webhook/secret, ``PUT /v1/webhook``
        or ``vidgate keys create --webhook-url``, or for the ownerless operator
        ``VIDGATE_WEBHOOK_SECRET``.
        """
        if url is None:
            return []
        try:
            host = check_https_url(
                url, field=field, allowed_ports=self.settings.webhook_allowed_ports
            )
        except MediaRejected as exc:
            return [FieldProblem(field, p.message) for p in exc.problems]
        problems = await self._resolve_problems(host, field)
        if need_secret and not await self._has_secret(owner):
            problems.append(
                FieldProblem(
                    field,
                    "there is no webhook signing secret for this API key yet: make one with "
                    "POST /v1/webhook/secret",
                )
            )
        return problems

    async def _has_secret(self, owner: str | None) -> bool:
        if owner is None and self.settings.webhook_secret is not None:
            return True
        target = await self.store.get_target(owner)
        return target is not None and target.secret_set

    async def _resolve_problems(self, host: str, field: str) -> list[FieldProblem]:
        message = await host_problem(host, resolver=self._resolver, seconds=_RESOLVE_SECONDS)
        return [FieldProblem(field, message)] if message else []
