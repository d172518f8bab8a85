"""The one exception tree of vidgate.

Split by who must act, so every layer knows what to do with an error without inspecting it::

    VidgateError
    ├── RequestError                  the caller's input; HTTP 4xx, never retried
    │   ├── ValidationFailed          one or more named field problems (422)
    │   ├── Unauthorized              no API key, or an unknown or revoked one (401)
    │   ├── CrossOriginRefused        a state-changing request from a foreign browser origin (403)
    │   ├── NotFound                  no such job, upload or model for this caller (404)
    │   ├── RequestTimeout            a request body that stopped arriving (408)
    │   ├── Conflict                  idempotency key reused with another body (409)
    │   ├── PayloadTooLarge           input over a size cap (413)
    │   ├── RangeNotSatisfiable       a byte range outside the file (416)
    │   ├── MisdirectedRequest        a Host header this server does not answer to (421)
    │   ├── MediaRejected             a media URL or file refused by policy (422, names the field)
    │   ├── WebhookSignatureInvalid   a webhook whose signature or timestamp does not check (400)
    │   └── BudgetExceeded            a key's budget would be overspent (402)
    ├── ProviderRefused               the provider said no for good (bad input, safety); final
    ├── SubmissionUncertain           a create may have reached the provider; never resent
    ├── TransientFault                a passing fault: retry later
    │   ├── ProviderUnavailable       provider 5xx, connection dropped, timeout
    │   ├── RateLimited               provider 429 / local limit; may carry retry_after seconds
    │   └── OutputExpired             a signed output URL expired (403): fetch the task again
    ├── ConfigurationError            a bad setting; stops the process at start-up
    └── InternalError                 our own bug or broken invariant (500)

SDK and driver errors are translated once, at the boundary that calls them (``raise ... from exc``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Self

__all__ = [
    "BudgetExceeded",
    "ConfigurationError",
    "Conflict",
    "CrossOriginRefused",
    "FieldProblem",
    "InternalError",
    "MediaRejected",
    "MisdirectedRequest",
    "NotFound",
    "OutputExpired",
    "PayloadTooLarge",
    "ProviderRefused",
    "ProviderUnavailable",
    "RangeNotSatisfiable",
    "RateLimited",
    "RequestError",
    "RequestTimeout",
    "SubmissionUncertain",
    "TransientFault",
    "Unauthorized",
    "ValidationFailed",
    "VidgateError",
    "WebhookSignatureInvalid",
]


class VidgateError(Exception):
    """Root of every error vidgate raises on purpose."""

    status_code = 500
    code = "internal_error"


@dataclass(frozen=True)
class FieldProblem:
    """One named problem with one field of the caller's input.

    ``path`` uses the wire names joined with dots and list indexes (``promptImage[1].position``).
    """

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class RequestError(VidgateError):
    """The caller's input is wrong; retrying the same request cannot help."""

    status_code = 400
    code = "bad_request"


class ValidationFailed(RequestError):
    """Every problem found in one input, not just the first."""

    status_code = 422
    code = "validation_failed"

    def __init__(self, problems: list[FieldProblem]) -> None:
        if not problems:
            raise ValueError("ValidationFailed needs at least one problem")
        self.problems = problems
        super().__init__("; ".join(str(p) for p in problems))

    @classmethod
    def single(cls, path: str, message: str) -> Self:
        return cls([FieldProblem(path, message)])


class Unauthorized(RequestError):
    """No API key was sent where one is needed, or the key is unknown or revoked."""

    status_code = 401
    code = "unauthorized"


class CrossOriginRefused(RequestError):
    """A browser request from another origin that would change state (CSRF, DNS rebinding)."""

    status_code = 403
    code = "cross_origin_refused"


class RequestTimeout(RequestError):
    """The client stopped sending its request body."""

    status_code = 408
    code = "request_timeout"


class MisdirectedRequest(RequestError):
    """A ``Host`` this server does not answer to (a rebound DNS name, say)."""

    status_code = 421
    code = "misdirected_request"


class NotFound(RequestError):
    status_code = 404
    code = "not_found"


class Conflict(RequestError):
    status_code = 409
    code = "conflict"


class PayloadTooLarge(RequestError):
    status_code = 413
    code = "payload_too_large"


class RangeNotSatisfiable(RequestError):
    """A byte range that starts past the end of the file; ``size`` goes in Content-Range."""

    status_code = 416
    code = "range_not_satisfiable"

    def __init__(self, message: str, *, size: int) -> None:
        super().__init__(message)
        self.size = size


class MediaRejected(ValidationFailed):
    """A media URL, data URI or file refused by the media policy; names the field and the rule."""

    code = "media_rejected"


class WebhookSignatureInvalid(RequestError):
    """A webhook request whose ``webhook-signature`` is missing, malformed, wrong or too old.

    Raised by :func:`vidgate.webhooks.verify_webhook` in the receiver's code: refuse the request.
    """

    status_code = 400
    code = "invalid_signature"


class BudgetExceeded(RequestError):
    """A key's daily or monthly budget cannot cover a request's estimate; nothing was stored.

    The message names the period, its limit and what is spent, reserved and left.
    """

    status_code = 402
    code = "budget_exceeded"


class ProviderRefused(VidgateError):
    """The provider refused for good: invalid input it caught, or a safety decision."""

    status_code = 502
    code = "provider_refused"

    def __init__(self, message: str, *, failure_code: str | None = None) -> None:
        super().__init__(message)
        self.failure_code = failure_code


class TransientFault(VidgateError):
    """A passing fault; the same call may succeed later."""

    status_code = 503
    code = "temporarily_unavailable"

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ProviderUnavailable(TransientFault):
    code = "provider_unavailable"


class RateLimited(TransientFault):
    status_code = 429
    code = "rate_limited"


class ConfigurationError(VidgateError):
    """A setting is wrong; the process stops at start-up with a message naming it."""

    code = "configuration_error"


class SubmissionUncertain(VidgateError):
    """A create call failed in a way that leaves open whether the provider made a (paid) task.

    Runway takes no idempotency key, so resending could pay twice: the job says so instead.
    """

    status_code = 502
    code = "submission_uncertain"


class OutputExpired(TransientFault):
    code = "output_expired"


class InternalError(VidgateError):
    """Our own bug or a broken invariant."""
