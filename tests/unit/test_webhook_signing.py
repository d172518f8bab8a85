"""The webhook signature (header format, verification helper) and the retry schedule."""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import random
import time
from datetime import timedelta

import pytest
import standardwebhooks

from vidgate.errors import RequestError, WebhookSignatureInvalid
from vidgate.webhooks import (
    DELIVERY_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    verify_webhook,
    webhook_headers,
)
from vidgate.webhooks.schedule import RetrySchedule
from vidgate.webhooks.signing import new_webhook_secret

SECRET = new_webhook_secret()
BODY = b'{"id":"whd_1","type":"generation.succeeded","data":{"id":"01J","status":"succeeded"}}'


def now() -> int:
    """Signed now: the standardwebhooks package checks timestamps against its own clock (read per
    test: a module-level time goes stale when tests run minutes after collection)."""
    return int(time.time())


ID = "whd_1"


def headers(
    secret: str = SECRET, *, timestamp: int | None = None, body: bytes = BODY
) -> dict[str, str]:
    return webhook_headers(secret, ID, body, timestamp=now() if timestamp is None else timestamp)


def stamp(sent: dict[str, str]) -> int:
    return int(sent["webhook-timestamp"])


def test_headers_follow_the_standard_webhooks_spec() -> None:
    moment = 1_800_000_000
    sent = headers(timestamp=moment)
    key = base64.b64decode(SECRET.removeprefix("whsec_"))
    digest = hmac.new(key, f"{ID}.{moment}.".encode() + BODY, hashlib.sha256).digest()
    assert sent == {
        "webhook-id": ID,
        "webhook-timestamp": str(moment),
        "webhook-signature": "v1," + base64.b64encode(digest).decode(),
    }
    assert tuple(sent) == (DELIVERY_HEADER, TIMESTAMP_HEADER, SIGNATURE_HEADER)


def test_the_standardwebhooks_library_verifies_what_vidgate_signs() -> None:
    sent = webhook_headers(SECRET, ID, BODY)  # now: the library checks against its own clock
    assert standardwebhooks.Webhook(SECRET).verify(BODY, sent) == json.loads(BODY)
    with pytest.raises(standardwebhooks.WebhookVerificationError):
        standardwebhooks.Webhook(new_webhook_secret()).verify(BODY, sent)


def test_a_good_signature_verifies_and_returns_its_timestamp() -> None:
    sent = headers()
    assert verify_webhook(SECRET, sent, BODY) == stamp(sent)
    upper = {name.upper(): value for name, value in sent.items()}
    assert verify_webhook(SECRET, upper, BODY) == stamp(sent)


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
    with pytest.raises(WebhookSignatureInvalid, match="does not match"):
        verify_webhook(SECRET, headers(), body)


def test_another_secret_is_refused() -> None:
    with pytest.raises(WebhookSignatureInvalid, match="does not match"):
        verify_webhook(SECRET, headers(new_webhook_secret()), BODY)


def test_a_changed_id_or_timestamp_breaks_the_signature() -> None:
    with pytest.raises(WebhookSignatureInvalid, match="does not match"):
        sent = headers()
        verify_webhook(SECRET, {**sent, "webhook-timestamp": str(stamp(sent) + 1)}, BODY)
    with pytest.raises(WebhookSignatureInvalid, match="does not match"):
        verify_webhook(SECRET, {**headers(), "webhook-id": "whd_2"}, BODY)


@pytest.mark.parametrize("offset", [-400, 400, -86_400, 10**9])
def test_old_and_future_timestamps_are_refused(offset: int) -> None:
    with pytest.raises(WebhookSignatureInvalid, match="tolerance"):
        verify_webhook(SECRET, headers(timestamp=now() + offset), BODY)


def test_a_timestamp_within_five_minutes_is_accepted() -> None:
    for offset in (-240, 240):
        moment = now() + offset
        assert verify_webhook(SECRET, headers(timestamp=moment), BODY) == moment


@pytest.mark.parametrize(
    "changed",
    [
        {},
        {"webhook-id": ""},
        {"webhook-timestamp": "garbage"},
        {"webhook-timestamp": "-1"},
        {"webhook-timestamp": "１２"},
        {"webhook-signature": ""},
        {"webhook-signature": "garbage"},
        {"webhook-signature": "v2,abc"},
        {"webhook-signature": " ".join(["v1,00"] * 2000)},
    ],
)
def test_malformed_headers_are_refused(changed: dict[str, str]) -> None:
    sent = {**headers(), **changed} if changed else {}
    with pytest.raises(WebhookSignatureInvalid):
        verify_webhook(SECRET, sent, BODY)


def test_any_of_several_secrets_and_signatures_may_match() -> None:
    old = new_webhook_secret()
    good = headers()
    # As while a receiver rotates: old and new secret both accepted.
    assert verify_webhook([old, SECRET], good, BODY) == stamp(good)
    other = headers(old, timestamp=stamp(good))["webhook-signature"]
    both = {**good, "webhook-signature": f"{other} {good['webhook-signature']}"}
    assert verify_webhook(SECRET, both, BODY) == stamp(good)
    with pytest.raises(WebhookSignatureInvalid):
        verify_webhook([new_webhook_secret(), old], good, BODY)


def test_a_secret_set_by_hand_still_signs() -> None:
    hand = "whsec_not*base64*at*all"
    sent = headers(hand)
    assert verify_webhook(hand, sent, BODY) == stamp(sent)


def test_the_error_is_a_request_error_of_the_tree() -> None:
    assert issubclass(WebhookSignatureInvalid, RequestError)
    assert WebhookSignatureInvalid.status_code == 400


def test_new_secrets_are_random_and_prefixed() -> None:
    secrets = {new_webhook_secret() for _ in range(50)}
    assert len(secrets) == 50
    assert all(s.startswith("whsec_") and len(base64.b64decode(s[6:])) == 32 for s in secrets)


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
