"""The provider circuit's rules (vidgate.provider.health.Circuit), on a clock the tests move."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from vidgate.errors import (
    ConfigurationError,
    NotFound,
    OutputExpired,
    ProviderCredentialsRefused,
    ProviderRefused,
    ProviderUnavailable,
    RateLimited,
    SubmissionUncertain,
)
from vidgate.provider.health import (
    KEY_REFUSED,
    Circuit,
    CircuitPolicy,
    CircuitState,
    outcome_of,
)

POLICY = CircuitPolicy(failures_to_open=3, window_seconds=60.0, probe_seconds=15.0)
T0 = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def fail(circuit: Circuit, seconds: float, retry_after: float | None = None) -> Circuit:
    return circuit.after_failure(at(seconds), POLICY, error="503", retry_after=retry_after)


def test_opens_after_three_failures_in_a_row_within_the_window() -> None:
    circuit = fail(fail(Circuit(), 0), 10)
    assert circuit.state is CircuitState.CLOSED and circuit.failures == 2
    assert not circuit.refuses(at(10))

    circuit = fail(circuit, 20)
    assert circuit.state is CircuitState.OPEN
    assert circuit.refuses(at(20))
    assert circuit.retry_at == at(35)  # the last failure + probe seconds
    assert circuit.seconds_to_probe(at(20)) == 15.0


def test_failures_spread_beyond_the_window_start_a_new_run() -> None:
    circuit = fail(fail(Circuit(), 0), 30)
    circuit = fail(circuit, 61)  # 61 s after the run's first failure: a new run
    assert circuit.state is CircuitState.CLOSED
    assert (circuit.failures, circuit.streak_started_at) == (1, at(61))


def test_any_success_closes_it_and_forgets_the_failures() -> None:
    almost = fail(fail(Circuit(), 0), 1)
    assert almost.after_success() == Circuit()
    assert fail(almost.after_success(), 2).failures == 1  # the run starts again

    open_ = fail(almost, 2)
    assert open_.state is CircuitState.OPEN
    closed = open_.after_success()
    assert closed == Circuit() and not closed.refuses(at(3))


def test_retry_after_counts_down_then_the_next_call_probes() -> None:
    circuit = fail(fail(fail(Circuit(), 0), 1), 2)  # open; probe due at 17 s
    assert circuit.seconds_to_probe(at(7)) == 10.0
    assert circuit.state_at(at(16.9)) is CircuitState.OPEN

    # The probe time has come: work goes through, and the next call decides.
    assert circuit.state_at(at(17)) is CircuitState.PROBING
    assert not circuit.refuses(at(17))
    assert circuit.seconds_to_probe(at(20)) == 0.0

    reopened = fail(circuit, 20)
    assert reopened.refuses(at(20)) and reopened.retry_at == at(35)
    assert reopened.opened_at == at(2) and reopened.failures == 4
    assert circuit.after_success().state_at(at(20)) is CircuitState.CLOSED


def test_each_failure_while_open_pushes_the_probe_on() -> None:
    circuit = fail(fail(fail(Circuit(), 0), 1), 2)
    assert fail(circuit, 10).retry_at == at(25)
    # The provider's own Retry-After wins when it is longer, and is never shortened after.
    longer = fail(circuit, 10, retry_after=120.0)
    assert longer.retry_at == at(130)
    assert fail(longer, 11).retry_at == at(130)
    # ...but a short one does not bring the probe nearer than probe seconds.
    assert fail(fail(fail(Circuit(), 0), 1), 2, retry_after=1.0).retry_at == at(17)


def test_only_changes_that_matter_are_worth_writing() -> None:
    pristine = Circuit()
    assert not pristine.worth_writing(pristine.after_success())  # up, and a success: no write
    one = fail(pristine, 0)
    assert pristine.worth_writing(one)  # counted towards opening
    assert one.worth_writing(one.after_success())  # a count to clear
    two = fail(one, 1)
    open_ = fail(two, 2)
    assert two.worth_writing(open_)  # the transition
    # Open and still failing: at most one write a second (the probe time moves on).
    assert not open_.worth_writing(fail(open_, 2.5))
    assert open_.worth_writing(fail(open_, 3))
    assert open_.worth_writing(open_.after_success())


@pytest.mark.parametrize(
    ("exc", "outcome"),
    [
        (None, "success"),
        (ProviderRefused("400: bad ratio"), "success"),
        (NotFound("no such task"), "success"),
        (ProviderUnavailable("provider error 503"), "failure"),
        (SubmissionUncertain("create outcome unknown"), "failure"),
        (RateLimited("429", retry_after=3), None),
        (OutputExpired("403"), None),
        (ConfigurationError("a start-up problem"), None),
        (ProviderCredentialsRefused("401: bad key"), "key_refused"),
        (ValueError("a bug"), None),
    ],
)
def test_what_a_call_says_about_the_provider(exc: Exception | None, outcome: str | None) -> None:
    assert outcome_of(exc) == outcome


def test_a_refused_key_opens_it_at_once_and_says_so() -> None:
    policy = CircuitPolicy()
    refused = Circuit().after_key_refused(at(0), policy, error=f"{KEY_REFUSED}: 401")
    assert refused.state_at(at(1)) is CircuitState.OPEN and refused.key_refused
    assert refused.seconds_to_probe(at(0)) == policy.probe_seconds
    assert not fail(Circuit(), 0).key_refused
    assert not refused.after_success().key_refused
