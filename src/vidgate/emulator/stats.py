"""What the emulator saw, counted: tasks, polls, deletes, uploads, downloads, status codes, faults.

``GET /_emulator/stats`` returns :meth:`Stats.snapshot`; a test reads the SDK's behaviour off it
(three 429s and two retried requests after a 429 storm, for instance).
"""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

__all__ = ["Stats"]


class Stats:
    """Thread-safe counters."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()
        self._by_model: Counter[str] = Counter()
        self._by_endpoint: Counter[str] = Counter()
        self._by_status: Counter[int] = Counter()
        self._faults: Counter[str] = Counter()
        self._peak_live: Counter[str] = Counter()

    def count(self, name: str, n: int = 1) -> None:
        with self._lock:
            self._counts[name] += n

    def task_created(self, model: str, endpoint: str) -> None:
        with self._lock:
            self._counts["tasksCreated"] += 1
            self._by_model[model] += 1
            self._by_endpoint[endpoint] += 1

    def live_tasks(self, model: str, live: int) -> None:
        """``live`` tasks of ``model`` exist (created, not ended); keeps the peak."""
        with self._lock:
            self._peak_live[model] = max(self._peak_live[model], live)

    def response(self, status: int) -> None:
        with self._lock:
            self._by_status[status] += 1

    def fault(self, kind: str) -> None:
        with self._lock:
            self._faults[kind] += 1

    def reset(self) -> None:
        with self._lock:
            for counter in (
                self._counts,
                self._by_model,
                self._by_endpoint,
                self._by_status,
                self._faults,
                self._peak_live,
            ):
                counter.clear()

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            c = self._counts
            return {
                "tasksCreated": {
                    "total": c["tasksCreated"],
                    "byModel": dict(self._by_model),
                    "byEndpoint": dict(self._by_endpoint),
                },
                "apiRequests": c["apiRequests"],
                "retriedRequests": c["retriedRequests"],
                "taskGets": c["taskGets"],
                "taskDeletes": c["taskDeletes"],
                # Tasks that waited THROTTLED for a slot of their model's concurrency limit.
                "throttledTasks": c["throttledTasks"],
                # The most tasks of each model alive at once (created, not yet ended).
                "peakLiveTasks": dict(self._peak_live),
                "uploads": c["uploads"],
                "uploadFiles": c["uploadFiles"],
                "outputDownloads": c["outputDownloads"],
                "responsesByStatus": {str(k): v for k, v in sorted(self._by_status.items())},
                "faults": {
                    "http429": self._faults["http429"],
                    "http5xx": self._faults["http5xx"],
                    "droppedConnections": self._faults["droppedConnections"],
                    "truncatedDownloads": self._faults["truncatedDownloads"],
                },
            }
