"""The one exception tree of vidgate.

Split by who must act, so every layer knows what to do with an error without inspecting it::

    VidgateError
    ├── RequestError                  the caller's input; HTTP 4xx, never retried
    │   ├── ValidationFailed          one or more named field problems (422)
    │   ├── Unauthorized              no API key, or an unknown or revoked one (401)
    │   ├── Forbidden                 refused whoever asks (403)
    │   │   ├── CrossOriginRefused    a state-changing request from a foreign browser origin (403)
    │   │   └── AdminRequired         an operator's route asked with a plain API key (403)
    │   ├── NotFound                  no such job, upload or model for this caller (404)
    │   ├── MethodNotAllowed          a method the path does not take (405)
    │   ├── NotAcceptable             an Accept header nothing here satisfies (406)
    │   ├── RequestTimeout            a request body that stopped arriving (408)
    │   ├── Conflict                  idempotency key reused with another body (409)
    │   ├── PayloadTooLarge           input over a size cap (413)
    │   ├── UnsupportedMediaType      a body of a type the route does not read (415)
    │   ├── RangeNotSatisfiable       a byte range outside the file (416)
    │   ├── MisdirectedRequest        a Host header this server does not answer to (421)
    │   ├── MediaRejected             a media URL or file refused by policy (422, names the field)
    │   ├── WebhookSignatureInvalid   a webhook whose signature or timestamp does not check (400)
    │   └── BudgetExceeded            a key's budget would be overspent (402)
    ├── ProviderRefused               the provider said no for good (bad input, safety); final
    ├── ProviderCredentialsRefused    the provider refused vidgate's own API key (401/403); final
    ├── SubmissionUncertain           a create may have reached the provider; never resent
    ├── TransientFault                a passing fault: retry later
    │   ├── ProviderUnavailable       provider 5xx, connection dropped, timeout
    │   ├── RateLimited               provider 429 / local limit; may carry retry_after seconds
    │   ├── OutputExpired             a signed output URL expired (403): fetch the task again
    │   └── StorageRefused            the media store refused vidgate's credentials while running
    ├── ConfigurationError            a bad setting; stops the process at start-up
    └── InternalError                 our own bug or broken invariant (500)

SDK and driver errors are translated once, at the boundary that calls them (``raise ... from exc``).

Each class declares its HTTP status and ``code`` once; :data:`ERRORS_BY_CODE` (derived from this
tree) maps a code back to its class, for the API's renderer and for the client that reads errors
back (:func:`error_class`, :meth:`VidgateError.from_answer`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Self

__all__ = [
    "ERRORS_BY_CODE",
    "ERRORS_BY_STATUS",
    "AdminRequired",
    "BudgetExceeded",
    "ConfigurationError",
    "Conflict",
    "CrossOriginRefused",
    "FieldProblem",
    "Forbidden",
    "InternalError",
    "MediaRejected",
    "MethodNotAllowed",
    "MisdirectedRequest",
    "NotAcceptable",
    "NotFound",
    "OutputExpired",
    "PayloadTooLarge",
    "ProviderCredentialsRefused",
    "ProviderRefused",
    "ProviderUnavailable",
    "RangeNotSatisfiable",
    "RateLimited",
    "RequestError",
    "RequestTimeout",
    "StorageRefused",
    "SubmissionUncertain",
    "TransientFault",
    "Unauthorized",
    "UnsupportedMediaType",
    "ValidationFailed",
    "VidgateError",
    "WebhookSignatureInvalid",
    "error_class",
]


class VidgateError(Exception):
    """Root of every error vidgate raises on purpose."""

    status_code = 500
    code = "internal_error"
    #: Whether the API may send the message to the caller; if not, it answers a bare 500.
    exposed: ClassVar[bool] = False

    @classmethod
    def from_answer(cls, message: str, **answer: Any) -> Self:
        """The error an API answer with this class's code stands for (the client's side);
        ``answer`` holds what else it carried: ``problems``, ``retry_after``, ``size``."""
        return cls(message)


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
    exposed = True


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

    @classmethod
    def from_answer(cls, message: str, **answer: Any) -> Self:
        return cls(list(answer.get("problems") or ()) or [FieldProblem("", message)])


class Unauthorized(RequestError):
    """No API key was sent where one is needed, or the key is unknown or revoked."""

    status_code = 401
    code = "unauthorized"


class Forbidden(RequestError):
    """Refused whoever asks (no key would help)."""

    status_code = 403
    code = "forbidden"


class CrossOriginRefused(Forbidden):
    """A browser request from another origin that would change state (CSRF, DNS rebinding)."""

    code = "cross_origin_refused"


class AdminRequired(Forbidden):
    """An operator's route (``/console``, ``/v1/admin``) asked with a plain (not admin) key."""

    code = "admin_required"


class RequestTimeout(RequestError):
    """The client stopped sending its request body."""

    status_code = 408
    code = "request_timeout"


class MisdirectedRequest(RequestError):
    """A ``Host`` this server does not answer to (a rebound DNS name, say)."""

    status_code = 421
    code = "misdirected_request"


class NotFound(RequestError):
    """No such job, upload, model or route for this caller."""

    status_code = 404
    code = "not_found"


class MethodNotAllowed(RequestError):
    """A method the path does not take; the answer's ``Allow`` lists those it does."""

    status_code = 405
    code = "method_not_allowed"


class NotAcceptable(RequestError):
    """An ``Accept`` header that nothing at this path satisfies."""

    status_code = 406
    code = "not_acceptable"


class Conflict(RequestError):
    """An ``Idempotency-Key`` used before with another body."""

    status_code = 409
    code = "conflict"


class PayloadTooLarge(RequestError):
    """A body or upload over its size cap."""

    status_code = 413
    code = "payload_too_large"


class UnsupportedMediaType(RequestError):
    """A body of a content type the route does not read."""

    status_code = 415
    code = "unsupported_media_type"


class RangeNotSatisfiable(RequestError):
    """A byte range that starts past the end of the file; ``size`` goes in Content-Range."""

    status_code = 416
    code = "range_not_satisfiable"

    def __init__(self, message: str, *, size: int) -> None:
        super().__init__(message)
        self.size = size

    @classmethod
    def from_answer(cls, message: str, **answer: Any) -> Self:
        return cls(message, size=answer.get("size") or 0)


class MediaRejected(ValidationFailed):
    """A media URL, data URI or file refused by the media policy; names the field and the rule."""

    code = "media_rejected"


class WebhookSignatureInvalid(RequestError):
    """A webhook request whose ``webhook-signature`` is missing, malformed, wrong or too old.

    Raised by :func:`vidgate.webhooks.verify_webhook` in the receiver's code: refuse the request.
    """

    code = "invalid_signature"  # 400, as every RequestError


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
    exposed = True

    def __init__(self, message: str, *, failure_code: str | None = None) -> None:
        super().__init__(message)
        self.failure_code = failure_code


class ProviderCredentialsRefused(VidgateError):
    """The provider refused vidgate's own API key (HTTP 401/403: wrong or revoked).

    No retry can help and the caller cannot fix it: the operator must set a valid
    ``RUNWAYML_API_SECRET``. Jobs fail with ``PROVIDER_CREDENTIALS``; ``/readyz`` shows it.
    """

    status_code = 503
    code = "provider_credentials"
    exposed = True


class TransientFault(VidgateError):
    """A passing fault (the provider or the database); the same call may succeed later."""

    status_code = 503
    code = "temporarily_unavailable"
    exposed = True

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after

    @classmethod
    def from_answer(cls, message: str, **answer: Any) -> Self:
        return cls(message, retry_after=answer.get("retry_after"))


class ProviderUnavailable(TransientFault):
    """The provider is down (known down, or a call failed after its retries)."""

    code = "provider_unavailable"


class RateLimited(TransientFault):
    """Over a request rate (this API key's, or the provider's); see ``retry_after``."""

    status_code = 429
    code = "rate_limited"


class ConfigurationError(VidgateError):
    """A setting is wrong; the process stops at start-up with a message naming it.

    Only for start-up: a fault found while running (a key refused mid-run) has its own class.
    """

    code = "configuration_error"


class SubmissionUncertain(VidgateError):
    """A create call failed in a way that leaves open whether the provider made a (paid) task.

    Runway takes no idempotency key, so resending could pay twice: the job says so instead.
    """

    status_code = 502
    code = "submission_uncertain"


class OutputExpired(TransientFault):
    """A signed output URL expired (403): fetch the task again for a fresh one."""

    code = "output_expired"


class StorageRefused(TransientFault):
    """The media store refused vidgate's credentials while running (revoked, expired, a policy
    changed): nothing can be stored until the operator fixes them, so work waits, never fails."""

    code = "storage_refused"


class InternalError(VidgateError):
    """Our own bug or a broken invariant."""

    code = "internal_error"


def _tree(root: type[VidgateError]) -> Iterator[type[VidgateError]]:
    for child in root.__subclasses__():
        if child.__module__ == __name__:  # the tree is this module; others' subclasses are local
            yield child
            yield from _tree(child)


#: Every error class of the tree by its ``code`` (each class declares its own).
ERRORS_BY_CODE: Mapping[str, type[VidgateError]] = {cls.code: cls for cls in _tree(VidgateError)}


#: The class an answer stands for when only its status is known (the HTTP errors Starlette raises
#: itself; a code this version does not know).
ERRORS_BY_STATUS: Mapping[int, type[VidgateError]] = {
    cls.status_code: cls
    for cls in (
        RequestError,
        Unauthorized,
        BudgetExceeded,
        Forbidden,
        NotFound,
        MethodNotAllowed,
        NotAcceptable,
        RequestTimeout,
        Conflict,
        PayloadTooLarge,
        UnsupportedMediaType,
        RangeNotSatisfiable,
        MisdirectedRequest,
        ValidationFailed,
        RateLimited,
        InternalError,
        ProviderRefused,
        TransientFault,
    )
}


def error_class(code: str, status: int) -> type[VidgateError]:
    """The class an API answer with ``code`` stands for; by ``status`` for a code not in the tree
    (an older or newer server): a 4xx is the caller's, anything else ours."""
    known = ERRORS_BY_CODE.get(code) or ERRORS_BY_STATUS.get(status)
    if known is not None:
        return known
    return RequestError if 400 <= status < 500 else InternalError
