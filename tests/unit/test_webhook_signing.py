"""The webhook signature (header format, verification helper) and the retry schedule."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import random
from datetime import timedelta

import pytest

from vidgate.errors import RequestError, WebhookSignatureInvalid
from vidgate.webhooks import SIGNATURE_HEADER, sign_webhook, verify_webhook
from vidgate.webhooks.schedule import RetrySchedule
from vidgate.webhooks.signing import new_webhook_secret

SECRET = "whsec_test-secret"
BODY = b'{"id":"whd_1","type":"generation.succeeded","data":{"id":"01J","status":"succeeded"}}'
NOW = 1_800_000_000


def test_header_format_is_the_documented_one() -> None:
    header = sign_webhook(SECRET, BODY, timestamp=NOW)
    expected = hmac.new(SECRET.encode(), f"{NOW}.".encode() + BODY, hashlib.sha256).hexdigest()
    assert header == f"t={NOW},v1={expected}"
    assert SIGNATURE_HEADER == "Vidgate-Signature"


def test_a_good_signature_verifies_and_returns_its_timestamp() -> None:
    header = sign_webhook(SECRET, BODY, timestamp=NOW)
    assert verify_webhook(SECRET, header, BODY, now=NOW + 10) == NOW


@pytest.mark.parametrize(
    "body",
    [
        BODY.replace(b"succeeded", b"failed", 1),
        BODY + b" ",
        BODY[:-1],
        b"",
    ],
)
def test_a_tampered_body_is_refused(body: bytes) -> None:
    header = sign_webhook(SECRET, BODY, timestamp=NOW)
    with pytest.raises(WebhookSignatureInvalid, match="does not match"):
        verify_webhook(SECRET, header, body, now=NOW)


def test_another_secret_is_refused() -> None:
    header = sign_webhook("whsec_other", BODY, timestamp=NOW)
    with pytest.raises(WebhookSignatureInvalid, match="does not match"):
        verify_webhook(SECRET, header, BODY, now=NOW)


def test_a_changed_timestamp_breaks_the_signature() -> None:
    header = sign_webhook(SECRET, BODY, timestamp=NOW).replace(f"t={NOW}", f"t={NOW + 1}")
    with pytest.raises(WebhookSignatureInvalid, match="does not match"):
        verify_webhook(SECRET, header, BODY, now=NOW)


@pytest.mark.parametrize("offset", [-301, 301, -86_400, 10**9])
def test_old_and_future_timestamps_are_refused(offset: int) -> None:
    header = sign_webhook(SECRET, BODY, timestamp=NOW)
    with pytest.raises(WebhookSignatureInvalid, match="tolerance"):
        verify_webhook(SECRET, header, BODY, now=NOW - offset)


def test_the_tolerance_is_a_parameter() -> None:
    header = sign_webhook(SECRET, BODY, timestamp=NOW)
    assert verify_webhook(SECRET, header, BODY, now=NOW + 3000, tolerance_seconds=3600) == NOW
    with pytest.raises(WebhookSignatureInvalid):
        verify_webhook(SECRET, header, BODY, now=NOW + 11, tolerance_seconds=10)


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "garbage",
        f"v1={'0' * 64}",
        f"t={NOW}",
        f"t={NOW},t={NOW},v1={'0' * 64}",
        f"t=-{NOW},v1={'0' * 64}",
        f"t=１２,v1={'0' * 64}",
        "t=1," + "v1=00," * 2000,
    ],
)
def test_malformed_headers_are_refused(header: str | None) -> None:
    with pytest.raises(WebhookSignatureInvalid):
        verify_webhook(SECRET, header, BODY, now=NOW)


def test_any_of_several_secrets_and_signatures_may_match() -> None:
    good = sign_webhook(SECRET, BODY, timestamp=NOW)
    # As while a receiver rotates: old and new secret both accepted.
    assert verify_webhook(["whsec_old", SECRET], good, BODY, now=NOW) == NOW
    other = sign_webhook("whsec_old", BODY, timestamp=NOW).split(",")[1]
    assert verify_webhook(SECRET, f"{good},{other}", BODY, now=NOW) == NOW
    with pytest.raises(WebhookSignatureInvalid):
        verify_webhook(["whsec_a", "whsec_b"], good, BODY, now=NOW)


def test_the_error_is_a_request_error_of_the_tree() -> None:
    assert issubclass(WebhookSignatureInvalid, RequestError)
    assert WebhookSignatureInvalid.status_code == 400


def test_new_secrets_are_random_and_prefixed() -> None:
    secrets = {new_webhook_secret() for _ in range(50)}
    assert len(secrets) == 50
    assert all(s.startswith("whsec_") and len(s) == 6 + 43 for s in secrets)


# --- the retry schedule -------------------------------------------------------------------------


def _simulate(schedule: RetrySchedule) -> list[timedelta]:
    """The times of every attempt (from the first) of a delivery that always fails."""
    times = [timedelta(0)]
    failures = 0
    while True:
        failures += 1
        if schedule.gives_up(times[-1]):
            return times
        times.append(times[-1] + schedule.delay(failures))


@pytest.mark.parametrize("seed", range(20))
def test_the_default_schedule_retries_for_at_least_24_hours(seed: int) -> None:
    schedule = RetrySchedule(random=random.Random(seed))
    times = _simulate(schedule)
    assert times[-1] >= timedelta(hours=24)
    # ... and not for ever: the last attempt comes within one longest delay after 24 h.
    assert times[-1] < timedelta(hours=24) + schedule.cap
    assert 10 <= len(times) <= 25


@pytest.mark.parametrize("seed", range(20))
def test_delays_grow_exponentially_up_to_the_cap(seed: int) -> None:
    schedule = RetrySchedule(
        base=timedelta(seconds=30), cap=timedelta(hours=6), random=random.Random(seed)
    )
    delays = [schedule.delay(n) for n in range(1, 16)]
    for n, delay in enumerate(delays, start=1):
        nominal = min(30 * 2 ** (n - 1), 6 * 3600)
        assert 0.75 * nominal <= delay.total_seconds() <= nominal
    uncapped = [d for n, d in enumerate(delays, start=1) if 30 * 2 ** (n - 1) < 6 * 3600]
    assert all(b > a for a, b in itertools.pairwise(uncapped))
    assert schedule.delay(10_000) <= timedelta(hours=6)


def test_the_jitter_spreads_delays() -> None:
    schedule = RetrySchedule(random=random.Random(1))
    assert len({schedule.delay(3) for _ in range(20)}) > 10


def test_a_schedule_needs_sane_bounds() -> None:
    with pytest.raises(ValueError):
        RetrySchedule(base=timedelta(0))
    with pytest.raises(ValueError):
        RetrySchedule(base=timedelta(seconds=10), cap=timedelta(seconds=5))
    with pytest.raises(ValueError):
        RetrySchedule().delay(0)
