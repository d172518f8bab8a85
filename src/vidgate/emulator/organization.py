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
from datetime import date, datetime
from typing import Any

__all__ = ["DAY_SECONDS", "LedgerEntry", "Organization"]

DAY_SECONDS = 86_400.0


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

    # --- credits ----------------------------------------------------------------------------

    def charge(self, model: str, credits: int, when: datetime) -> None:
        self.credit_balance -= credits
        self._ledger.append(LedgerEntry(when.date(), model, credits))

    def refund(self, model: str, credits: int, when: datetime) -> None:
        if credits > 0:
            self.credit_balance += credits
            self._ledger.append(LedgerEntry(when.date(), model, -credits))

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
