"""A chain submitted to ``POST /v1/generations`` (``endpoint: "chain"``), checked before storing.

:func:`accept_chain` validates the chain (:func:`vidgate.requests.chain_plan.validate_chain`), then
puts its first image, if any, through the same media policy as any image to video request (upload
ownership, URL allowlist, ingest), and returns the body to store with the whole chain's estimate.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from vidgate.errors import FieldProblem, ValidationFailed
from vidgate.intake.media_policy import MediaPolicy
from vidgate.requests.chain_plan import ChainPlan, validate_chain

__all__ = ["AcceptedChain", "accept_chain"]


@dataclass(frozen=True)
class AcceptedChain:
    plan: ChainPlan
    #: The chain body to store (an ingested first image replaced by its runway:// URI).
    body: dict[str, Any]
    #: The most the whole chain may cost (every segment's estimate, added up).
    estimated_credits: float | None


async def accept_chain(
    policy: MediaPolicy,
    raw: Mapping[str, Any],
    *,
    owner: str | None,
    auth_enabled: bool,
    idempotency_key: str | None = None,
) -> AcceptedChain:
    plan = validate_chain(raw, catalog=policy.catalog)
    body = dict(plan.body)
    if plan.first_image is not None:
        # The first segment's own body carries the image: checked as any image to video is.
        first = plan.segment_body(0, plan.first_image, catalog=policy.catalog)
        try:
            _, checked = await policy.validate(
                plan.endpoint(0).value,
                first,
                owner=owner,
                auth_enabled=auth_enabled,
                idempotency_key=idempotency_key,
            )
        except ValidationFailed as exc:
            raise ValidationFailed(
                [
                    FieldProblem(
                        "promptImage" if p.path.startswith("promptImage") else p.path, p.message
                    )
                    for p in exc.problems
                ]
            ) from None
        body["promptImage"] = checked["promptImage"]
    return AcceptedChain(plan, body, plan.estimate_credits(policy.catalog))
