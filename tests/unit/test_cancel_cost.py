"""What a cancelled task costs, from its last reading before the delete (Runway's refund rule)."""

from __future__ import annotations

import pytest

from vidgate.pipeline.cancelling import charged_if_cancelled
from vidgate.provider.base import TaskSnapshot, TaskStatus


def reading(status: TaskStatus, cost: float | None = None) -> TaskSnapshot:
    return TaskSnapshot(
        id="t", status=status, raw_status=status.value, estimated_credits=24, cost_credits=cost
    )


@pytest.mark.parametrize(
    ("status", "cost", "charged"),
    [
        (TaskStatus.THROTTLED, None, 0.0),  # not started: refunded
        (TaskStatus.PENDING, None, 0.0),
        (TaskStatus.RUNNING, None, 24),  # running: no refund, the estimate
        (TaskStatus.UNKNOWN, None, 24),  # unknown: counted as running
        (TaskStatus.SUCCEEDED, 20, 20),  # finished: its own cost stands
        (TaskStatus.FAILED, 0, 0),
        (TaskStatus.CANCELLED, 0, 0),
    ],
)
def test_charged_if_cancelled(status: TaskStatus, cost: float | None, charged: float) -> None:
    assert charged_if_cancelled(reading(status, cost)) == charged
