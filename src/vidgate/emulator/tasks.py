"""Emulated tasks and the board that schedules them: status computed from elapsed time.

No task has a coroutine or timer of its own. Each task records a few instants on the emulator's
clock (when it got a concurrency slot, when it starts running, when it is due to end) and its
status at any moment is read off those instants. :meth:`TaskBoard.advance` hands out concurrency
slots in submission order, back-dating each start to the moment the slot really freed, so the
answer does not depend on when (or how often) anyone looks.

A successful task ends at the later of its due time and the moment its output file was written:
it stays RUNNING until the file exists.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime
from enum import StrEnum
from typing import Any

from vidgate.catalog import Endpoint
from vidgate.emulator.clock import iso_timestamp
from vidgate.emulator.plan import RenderPlan

__all__ = ["TIME_FIELDS", "Advance", "Task", "TaskBoard", "TaskStatus"]

LimitOf = Callable[[str], int | None]

# The fields of a Task that are readings of the emulator's clock (stored as wall-clock time).
TIME_FIELDS = (
    "created_at",
    "eligible_at",
    "slot_at",
    "running_at",
    "due_at",
    "end_at",
    "render_done_at",
    "cancelled_at",
)

# Failure codes decided before generation starts fail as soon as the task would start running.
_EARLY_FAILURES = ("INPUT_PREPROCESSING", "SAFETY.INPUT")


class TaskStatus(StrEnum):
    """The task states of Runway's API, in lifecycle order."""

    THROTTLED = "THROTTLED"  # accepted and stored; waits for a concurrency slot of its model
    PENDING = "PENDING"  # holds a slot; about to run
    RUNNING = "RUNNING"  # generating; ``progress`` goes from 0 to 1
    SUCCEEDED = "SUCCEEDED"  # finished; ``output`` holds the video URL
    FAILED = "FAILED"  # finished without output; ``failure`` and ``failureCode`` say why
    CANCELLED = "CANCELLED"  # cancelled before it finished

    @property
    def terminal(self) -> bool:
        return self in (TaskStatus.SUCCEEDED, TaskStatus.FAILED, TaskStatus.CANCELLED)


@dataclass(eq=False)
class Task:
    """One generation task. Times are readings of the emulator's clock; None = not yet known."""

    id: str
    model: str
    endpoint: Endpoint
    created_at: float
    created_wall: datetime
    eligible_at: float  # earliest start: creation + the configured extra THROTTLED time
    pending_seconds: float
    task_seconds: float
    estimated_credits: int
    credits_per_second: float
    plan: RenderPlan
    failure_code: str | None = None  # set: the task ends FAILED with this code
    failure: str | None = None
    slot_at: float | None = None  # got a concurrency slot (THROTTLED -> PENDING)
    running_at: float | None = None  # PENDING -> RUNNING
    due_at: float | None = None  # generation time is over
    end_at: float | None = None  # reached its final state; frees the slot
    render_done_at: float | None = None
    cancelled_at: float | None = None
    cancelled_from: TaskStatus | None = None
    final_credits: int | None = None  # set once the task is settled
    render_submitted: bool = False

    @property
    def needs_render(self) -> bool:
        """Holds a slot, will succeed, and its output has not been asked for yet."""
        return self.slot_at is not None and not self.fails and not self.render_submitted

    @property
    def fails(self) -> bool:
        return self.failure_code is not None

    @property
    def settled(self) -> bool:
        return self.final_credits is not None

    def status_at(self, now: float) -> TaskStatus:
        if self.cancelled_at is not None:
            return TaskStatus.CANCELLED
        if self.slot_at is None or self.running_at is None:
            return TaskStatus.THROTTLED
        if self.end_at is not None and self.end_at <= now:
            return TaskStatus.FAILED if self.fails else TaskStatus.SUCCEEDED
        if now < self.running_at:
            return TaskStatus.PENDING
        return TaskStatus.RUNNING

    def progress_at(self, now: float) -> float:
        if self.running_at is None or now < self.running_at:
            return 0.0
        if self.task_seconds <= 0:
            return 1.0
        return round(min(1.0, (now - self.running_at) / self.task_seconds), 4)

    def final_cost(self) -> int:
        """Credits charged when the task ends as it is now; never more than the estimate."""
        status = self.cancelled_from if self.cancelled_at is not None else None
        if status is not None:
            return self.estimated_credits if status is TaskStatus.RUNNING else 0
        if self.fails:
            return 0
        used = math.ceil(round(self.credits_per_second * self.plan.duration_seconds, 6))
        return min(self.estimated_credits, used)

    def api_view(self, now: float, output_url: Callable[[], str]) -> dict[str, Any]:
        """The task as Runway's ``GET /v1/tasks/{id}`` shows it; ``output_url`` signs the
        output's URL (asked for only once the task succeeded)."""
        status = self.status_at(now)
        view: dict[str, Any] = {
            "id": self.id,
            "status": status.value,
            "createdAt": iso_timestamp(self.created_wall),
        }
        if not status.terminal:
            view["estimatedCost"] = {"credits": self.estimated_credits}
            if status is TaskStatus.RUNNING:
                view["progress"] = self.progress_at(now)
            return view
        view["cost"] = {"credits": self.final_credits if self.settled else self.final_cost()}
        if status is TaskStatus.SUCCEEDED:
            view["output"] = [output_url()]
        elif status is TaskStatus.FAILED:
            view["failure"] = self.failure
            view["failureCode"] = self.failure_code
        return view

    def control_view(self, now: float, wall: Callable[[float], datetime]) -> dict[str, Any]:
        """The task as ``GET /_emulator/tasks`` shows it: when it got its slot (``startedAt``)
        and reached its final state (``endedAt``), and its output's shape."""

        def stamp(at: float | None) -> str | None:
            return None if at is None or at > now else iso_timestamp(wall(at))

        return {
            "id": self.id,
            "model": self.model,
            "endpoint": self.endpoint.value,
            "status": self.status_at(now).value,
            "createdAt": iso_timestamp(self.created_wall),
            "startedAt": stamp(self.slot_at),
            "endedAt": stamp(self.end_at),
            "width": self.plan.width,
            "height": self.plan.height,
            "durationSeconds": self.plan.duration_seconds,
        }

    def record(self, wall_of: Callable[[float], float]) -> dict[str, Any]:
        """The task as plain values, clock readings turned into wall time by ``wall_of``."""
        values: dict[str, Any] = {f.name: getattr(self, f.name) for f in fields(self)}
        for name in TIME_FIELDS:
            if values[name] is not None:
                values[name] = wall_of(values[name])
        values["endpoint"] = self.endpoint.value
        values["created_wall"] = self.created_wall.isoformat()
        values["cancelled_from"] = self.cancelled_from.value if self.cancelled_from else None
        values["plan"] = asdict(self.plan)
        return values

    @classmethod
    def from_record(cls, values: dict[str, Any], at_of: Callable[[float], float]) -> Task:
        """The inverse of :meth:`record` (``at_of``: wall time to a reading of this clock)."""
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in values.items() if k in known}
        for name in TIME_FIELDS:
            if values.get(name) is not None:
                values[name] = at_of(values[name])
        values["endpoint"] = Endpoint(values["endpoint"])
        values["created_wall"] = datetime.fromisoformat(values["created_wall"])
        cancelled = values.get("cancelled_from")
        values["cancelled_from"] = TaskStatus(cancelled) if cancelled else None
        plan_fields = {f.name for f in fields(RenderPlan)}
        values["plan"] = RenderPlan(**{k: v for k, v in values["plan"].items() if k in plan_fields})
        return cls(**values)

    def assign_slot(self, at: float) -> None:
        """Hold a concurrency slot from `at`: PENDING, then RUNNING, then due."""
        self.slot_at = at
        self.running_at = at + self.pending_seconds
        self.due_at = self.running_at + self.task_seconds
        if self.fails:
            early = self.failure_code is not None and self.failure_code.startswith(_EARLY_FAILURES)
            self.end_at = self.running_at if early else self.due_at


@dataclass
class Advance:
    """What one :meth:`TaskBoard.advance` changed: tasks that got a slot, tasks that ended."""

    started: list[Task] = field(default_factory=list)
    ended: list[Task] = field(default_factory=list)


class TaskBoard:
    """Every task, the per-model FIFO of tasks waiting for a slot, and the slot holders.

    Not thread-safe: the owner (:class:`~vidgate.emulator.state.EmulatorState`) serialises calls.
    """

    def __init__(self) -> None:
        self._tasks: dict[str, Task] = {}
        self._waiting: dict[str, deque[Task]] = {}
        self._holding: dict[str, list[Task]] = {}
        self._last_slot: dict[str, float] = {}
        self._unsettled: dict[str, Task] = {}

    def __iter__(self) -> Iterator[Task]:
        return iter(list(self._tasks.values()))

    @classmethod
    def restore(cls, tasks: Iterable[Task]) -> TaskBoard:
        """A board holding ``tasks`` (in creation order) as they were when last recorded."""
        board = cls()
        for task in sorted(tasks, key=lambda t: t.created_at):
            board._tasks[task.id] = task
            if task.cancelled_at is None and task.final_credits is None:
                board._unsettled[task.id] = task
            if task.slot_at is None:
                if task.cancelled_at is None:
                    board._waiting.setdefault(task.model, deque()).append(task)
                continue
            board._holding.setdefault(task.model, []).append(task)
            last = board._last_slot.get(task.model, task.slot_at)
            board._last_slot[task.model] = max(last, task.slot_at)
        return board

    def __len__(self) -> int:
        return len(self._tasks)

    def get(self, task_id: str) -> Task | None:
        return self._tasks.get(task_id)

    def add(self, task: Task) -> None:
        self._tasks[task.id] = task
        self._unsettled[task.id] = task
        self._waiting.setdefault(task.model, deque()).append(task)

    def remove(self, task: Task) -> None:
        """Forget a task (DELETE); a slot it still holds frees at its ``end_at``."""
        self._tasks.pop(task.id, None)

    def advance(self, now: float, limit_of: LimitOf) -> Advance:
        """Hand out the slots that freed up to ``now`` and collect the tasks that ended."""
        result = Advance()
        for model, queue in self._waiting.items():
            limit = limit_of(model)
            while queue:
                head = queue[0]
                start = self._free_at(model, head, limit)
                if start is None or start > now:
                    break
                queue.popleft()
                self._give_slot(head, start)
                result.started.append(head)
            floor = self._floor(model, queue[0]) if queue else now
            self._holding[model] = [
                t for t in self._holding.get(model, []) if t.end_at is None or t.end_at > floor
            ]
        for task in list(self._unsettled.values()):
            if task.end_at is not None and task.end_at <= now:
                del self._unsettled[task.id]
                result.ended.append(task)
        return result

    def next_event(self, now: float, limit_of: LimitOf) -> float | None:
        """The next instant at which :meth:`advance` would change something (None: none known)."""
        times = [t.end_at for t in self._unsettled.values() if t.end_at is not None]
        for model, queue in self._waiting.items():
            if queue:
                start = self._free_at(model, queue[0], limit_of(model))
                if start is not None:
                    times.append(start)
        future = [t for t in times if t > now]
        return min(future) if future else None

    def running_count(self, model: str, now: float) -> int:
        return sum(1 for t in self._holding.get(model, []) if t.end_at is None or t.end_at > now)

    def cancel(self, task: Task, now: float) -> TaskStatus:
        """Cancel a THROTTLED, PENDING or RUNNING task now; returns the status it had."""
        before = task.status_at(now)
        if before.terminal:
            return before
        task.cancelled_at = now
        task.cancelled_from = before
        if task.slot_at is None:
            self._unqueue(task)
            task.end_at = now
        elif task.end_at is None or task.end_at > now:
            task.end_at = now
        self._unsettled.pop(task.id, None)
        return before

    def force_end(self, task: Task, now: float, *, failure: tuple[str, str] | None) -> None:
        """End a live task now: FAILED with ``failure`` (code, text), or SUCCEEDED as soon as its
        output exists (see :attr:`Task.needs_render`)."""
        if task.status_at(now).terminal:
            return
        if task.slot_at is None:
            self._unqueue(task)
            self._give_slot(task, now)
        task.running_at = min(task.running_at if task.running_at is not None else now, now)
        task.due_at = now
        if failure is not None:
            task.failure_code, task.failure = failure
            task.end_at = now
            return
        task.failure_code = task.failure = None
        task.end_at = max(now, task.render_done_at) if task.render_done_at is not None else None

    def render_finished(self, task: Task, at: float, error: tuple[str, str] | None) -> None:
        """The output of ``task`` was written at ``at`` (or failed with ``error``)."""
        task.render_done_at = at
        if task.cancelled_at is not None or task.fails or task.due_at is None:
            return
        if error is not None:
            task.failure_code, task.failure = error
        task.end_at = max(task.due_at, at)

    # --- slots ----------------------------------------------------------------------------

    def _give_slot(self, task: Task, at: float) -> None:
        task.assign_slot(at)
        self._last_slot[task.model] = max(self._last_slot.get(task.model, at), at)
        self._holding.setdefault(task.model, []).append(task)

    def _unqueue(self, task: Task) -> None:
        queue = self._waiting.get(task.model)
        if queue is not None and task in queue:
            queue.remove(task)

    def _floor(self, model: str, task: Task) -> float:
        last = self._last_slot.get(model)
        return task.eligible_at if last is None else max(task.eligible_at, last)

    def _free_at(self, model: str, task: Task, limit: int | None) -> float | None:
        """The first instant from the task's floor at which its model has a free slot."""
        floor = self._floor(model, task)
        if limit is None:
            return floor
        busy = [t for t in self._holding.get(model, []) if t.end_at is None or t.end_at > floor]
        if len(busy) < limit:
            return floor
        ends = sorted(t.end_at for t in busy if t.end_at is not None)
        needed = len(busy) - limit  # this many must end, plus one, to open a slot
        return ends[needed] if needed < len(ends) else None
