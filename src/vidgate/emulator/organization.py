"""The emulated organization: credit balance, spend ledger, daily generation windows.

Credits are charged when a task is created (its estimate) and partly or wholly refunded when it
settles; both movements go into a ledger dated in UTC, which ``/v1/organization/usage`` sums by
day and model (refunds are negative amounts, as Runway reports them). Daily generation limits use
a rolling 24-hour window of task creations per model.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from vidgate.errors import RateLimited, RequestError, ValidationFailed

__all__ = ["DAY_SECONDS", "LedgerEntry", "Organization"]

DAY_SECONDS = 86_400.0
USAGE_MAX_DAYS = 90


@dataclass(frozen=True)
class LedgerEntry:
    day: date
    model: str
    amount: int  # credits spent; negative for a refund


class Organization:
    """Balance, ledger and generation windows. Not thread-safe: the owner serialises calls."""

    def __init__(self, credit_balance: int) -> None:
        self.credit_balance = credit_balance
        self._ledger: list[LedgerEntry] = []
        self._generations: dict[str, deque[float]] = {}

    def record(self, wall_of: Callable[[float], float]) -> dict[str, Any]:
        """Balance, ledger and windows as plain values, clock readings as wall time."""
        return {
            "credit_balance": self.credit_balance,
            "ledger": [[e.day.isoformat(), e.model, e.amount] for e in self._ledger],
            "generations": {m: [wall_of(t) for t in w] for m, w in self._generations.items()},
        }

    @classmethod
    def from_record(cls, values: dict[str, Any], at_of: Callable[[float], float]) -> Organization:
        org = cls(int(values["credit_balance"]))
        org._ledger = [LedgerEntry(date.fromisoformat(d), m, a) for d, m, a in values["ledger"]]
        org._generations = {m: deque(at_of(t) for t in w) for m, w in values["generations"].items()}
        return org

    def admit(self, model: str, credits: int, now: float, daily_limit: int | None) -> None:
        """Check a new task of ``model`` may run: RateLimited past the daily limit,
        RequestError without ``credits`` left."""
        if daily_limit is not None:
            wait = self.retry_after(model, now, daily_limit)
            if wait is not None:
                raise RateLimited(
                    f"You have reached the daily generation limit of {model} "
                    f"({daily_limit} per 24 hours); try again later.",
                    retry_after=wait,
                )
        if self.credit_balance < credits:
            raise RequestError(
                f"You do not have enough credits to run this task: it needs up to "
                f"{credits}, the balance is {self.credit_balance}."
            )

    # --- credits ----------------------------------------------------------------------------

    def charge(self, model: str, credits: int, when: datetime) -> None:
        self.credit_balance -= credits
        self._ledger.append(LedgerEntry(when.date(), model, credits))

    def refund(self, model: str, credits: int, when: datetime) -> None:
        if credits > 0:
            self.credit_balance += credits
            self._ledger.append(LedgerEntry(when.date(), model, -credits))

    def usage_between(
        self, start: str | None, before: str | None, *, today: date
    ) -> dict[str, Any]:
        """``POST /v1/organization/usage`` for the dates given (default: the last 30 days);
        ValidationFailed names a bad date."""
        first = _parse_date("startDate", start) if start else today - timedelta(days=30)
        end = _parse_date("beforeDate", before) if before else first + timedelta(days=30)
        if end <= first:
            raise ValidationFailed.single("beforeDate", "must be after startDate")
        if (end - first).days > USAGE_MAX_DAYS:
            raise ValidationFailed.single(
                "beforeDate", f"must be at most {USAGE_MAX_DAYS} days after startDate"
            )
        return self.usage(first, end)

    def usage(self, start: date, before: date) -> dict[str, Any]:
        """The ``/v1/organization/usage`` body for days in [start, before)."""
        by_day: dict[date, dict[str, int]] = {}
        for entry in self._ledger:
            if start <= entry.day < before:
                day = by_day.setdefault(entry.day, {})
                day[entry.model] = day.get(entry.model, 0) + entry.amount
        models = sorted({m for day in by_day.values() for m in day})
        results = [
            {
                "date": day.isoformat(),
                "usedCredits": [{"model": m, "amount": a} for m, a in sorted(spent.items())],
            }
            for day, spent in sorted(by_day.items())
        ]
        return {"models": models, "results": results}

    # --- daily generations ------------------------------------------------------------------

    def record_generation(self, model: str, now: float) -> None:
        self._generations.setdefault(model, deque()).append(now)

    def generations_today(self, model: str, now: float) -> int:
        window = self._window(model, now)
        return len(window)

    def retry_after(self, model: str, now: float, limit: int) -> float | None:
        """Seconds until ``model`` may generate again under ``limit`` (None: it may now)."""
        window = self._window(model, now)
        if len(window) < limit:
            return None
        oldest_blocking = window[len(window) - limit]
        return max(1.0, math.ceil(oldest_blocking + DAY_SECONDS - now))

    def _window(self, model: str, now: float) -> deque[float]:
        window = self._generations.setdefault(model, deque())
        while window and window[0] <= now - DAY_SECONDS:
            window.popleft()
        return window

    def view(
        self,
        model_ids: Iterable[str],
        *,
        now: float,
        max_monthly_credit_spend: int,
        concurrency_of: Callable[[str], int | None],
        daily_limit_of: Callable[[str], int | None],
    ) -> dict[str, Any]:
        """The ``GET /v1/organization`` body."""
        ids = list(model_ids)
        return {
            "creditBalance": self.credit_balance,
            "tier": {
                "maxMonthlyCreditSpend": max_monthly_credit_spend,
                "models": {
                    m: {
                        "maxConcurrentGenerations": concurrency_of(m),
                        "maxDailyGenerations": daily_limit_of(m),
                    }
                    for m in ids
                },
            },
            "usage": {
                "models": {m: {"dailyGenerations": self.generations_today(m, now)} for m in ids}
            },
        }


def _parse_date(name: str, value: str) -> date:
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError):
        raise ValidationFailed.single(name, f"must be a date YYYY-MM-DD, got {value!r}") from None
