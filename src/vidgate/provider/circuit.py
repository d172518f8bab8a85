"""The provider circuit's rules: when calls failing in a row make the provider *down*, and when
work is let through again. Pure values and functions; :mod:`vidgate.provider.health` keeps the
circuit in the database and applies these rules to every call's outcome.

A call's outcome (:func:`outcome_of`):

- a failure: :class:`~vidgate.errors.ProviderUnavailable` (5xx, dropped connection, timeout, after
  the provider's own retries) or :class:`~vidgate.errors.SubmissionUncertain` (a create lost the
  same ways);
- a refused API key (:class:`~vidgate.errors.ProviderCredentialsRefused`): opens the circuit at
  once, since every call would be refused alike;
- a success: an answer, including a definite no (``ProviderRefused``, ``NotFound``);
- neither: a 429 (``RateLimited``), an expired output URL, anything else.

The circuit (:class:`Circuit`) opens after ``VIDGATE_PROVIDER_DOWN_AFTER_FAILURES`` failures in a
row, counted within ``VIDGATE_PROVIDER_DOWN_WINDOW_SECONDS`` of the first; any success closes it.
While it is open, work that needs the provider is refused until the next probe is due:
``VIDGATE_PROVIDER_PROBE_SECONDS`` after the last failure, or longer if the provider's own
Retry-After said so. Once that time passes with no new failure the circuit is ``probing``: work
goes through again, and the next call closes or reopens it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Literal

from vidgate.errors import (
    NotFound,
    ProviderCredentialsRefused,
    ProviderRefused,
    ProviderUnavailable,
    SubmissionUncertain,
)
from vidgate.settings import DEFAULTS, Settings

__all__ = ["KEY_REFUSED", "Circuit", "CircuitPolicy", "CircuitState", "Outcome", "outcome_of"]

# While open, a failure is written only if it moves the probe time on by this much.
_WRITE_EVERY = timedelta(seconds=1.0)
_ERROR_CHARS = 500

Outcome = Literal["success", "failure", "key_refused"]
# Starts the stored ``last_error`` of a circuit opened by a refused API key (no column of its own).
KEY_REFUSED = "provider_credentials"


class CircuitState(StrEnum):
    """Where the circuit stands; only ``closed`` and ``open`` are stored."""

    CLOSED = "closed"  # calls succeed, or too few failed to tell: work goes through
    OPEN = "open"  # known down: work that needs the provider is refused until the probe time
    PROBING = "probing"  # open, past its probe time: work goes through, the next call decides


@dataclass(frozen=True)
class CircuitPolicy:
    """When the circuit opens, and how long it refuses after a failure."""

    failures_to_open: int = DEFAULTS.provider_down_after_failures
    window_seconds: float = DEFAULTS.provider_down_window_seconds
    probe_seconds: float = DEFAULTS.provider_probe_seconds

    @classmethod
    def from_settings(cls, settings: Settings) -> CircuitPolicy:
        return cls(
            failures_to_open=settings.provider_down_after_failures,
            window_seconds=settings.provider_down_window_seconds,
            probe_seconds=settings.provider_probe_seconds,
        )


@dataclass(frozen=True)
class Circuit:
    """One provider's circuit at one moment: the row's values, and the rules that move them."""

    state: CircuitState = CircuitState.CLOSED
    #: Calls failed in a row (a success resets it).
    failures: int = 0
    #: When the current run of failures began; older than the window, a failure starts a new one.
    streak_started_at: datetime | None = None
    opened_at: datetime | None = None
    #: While open: when the next probe is due; requests are refused until then.
    retry_at: datetime | None = None
    last_error: str | None = None

    def after_failure(
        self, now: datetime, policy: CircuitPolicy, *, error: str, retry_after: float | None = None
    ) -> Circuit:
        """The circuit once a call failed at ``now`` (``retry_after``: the provider's own)."""
        probe_at = now + timedelta(seconds=max(policy.probe_seconds, retry_after or 0.0))
        error = error[:_ERROR_CHARS]
        if self.state is CircuitState.OPEN:
            return replace(
                self,
                failures=self.failures + 1,
                retry_at=max(self.retry_at or probe_at, probe_at),
                last_error=error,
            )
        started = self.streak_started_at
        if started is None or (now - started).total_seconds() > policy.window_seconds:
            started, failures = now, 1
        else:
            failures = self.failures + 1
        if failures < policy.failures_to_open:
            return Circuit(failures=failures, streak_started_at=started, last_error=error)
        return Circuit(
            state=CircuitState.OPEN,
            failures=failures,
            streak_started_at=started,
            opened_at=now,
            retry_at=probe_at,
            last_error=error,
        )

    def after_key_refused(self, now: datetime, policy: CircuitPolicy, *, error: str) -> Circuit:
        """The circuit once the provider refused our API key: open, whatever came before."""
        probe_at = now + timedelta(seconds=policy.probe_seconds)
        return Circuit(
            state=CircuitState.OPEN,
            failures=self.failures + 1,
            streak_started_at=self.streak_started_at or now,
            opened_at=self.opened_at if self.state is CircuitState.OPEN else now,
            retry_at=max(self.retry_at or probe_at, probe_at),
            last_error=error[:_ERROR_CHARS],
        )

    @property
    def key_refused(self) -> bool:
        """True when the last failure was the provider refusing our API key."""
        return (self.last_error or "").startswith(KEY_REFUSED)

    def after_success(self) -> Circuit:
        """Any answer closes the circuit and forgets the failures."""
        return Circuit()

    def state_at(self, now: datetime) -> CircuitState:
        if self.state is CircuitState.OPEN and self.retry_at is not None and now >= self.retry_at:
            return CircuitState.PROBING
        return self.state

    def refuses(self, now: datetime) -> bool:
        """True while work that needs the provider is refused."""
        return self.state_at(now) is CircuitState.OPEN

    def seconds_to_probe(self, now: datetime) -> float:
        """Seconds until the next probe is due (0 when none is waited for)."""
        if self.retry_at is None or self.state is not CircuitState.OPEN:
            return 0.0
        return max((self.retry_at - now).total_seconds(), 0.0)

    def worth_writing(self, after: Circuit) -> bool:
        """Whether moving from this circuit (as last read) to ``after`` must be stored."""
        if after == self:
            return False
        if after.state is not self.state or self.state is CircuitState.CLOSED:
            return True  # a transition, or a failure counted towards one
        # Open and still failing: only a probe time moved on by a second is worth a write.
        if after.retry_at is None or self.retry_at is None:
            return after.retry_at != self.retry_at
        return after.retry_at - self.retry_at >= _WRITE_EVERY


def outcome_of(exc: BaseException | None) -> Outcome | None:
    """What a call that ended with ``exc`` (None: it returned) says about the provider."""
    if exc is None or isinstance(exc, ProviderRefused | NotFound):
        return "success"  # it answered, if only to say no
    if isinstance(exc, ProviderUnavailable | SubmissionUncertain):
        return "failure"
    if isinstance(exc, ProviderCredentialsRefused):
        return "key_refused"
    return None  # a 429, an expired output URL: nothing about being up
