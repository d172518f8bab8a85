"""Everything one emulator holds, behind one lock: config, tasks, uploads, organization, stats.

The HTTP layer (:mod:`vidgate.emulator.app`) calls these methods and renders what they return or
raise; nothing here knows about HTTP beyond the JSON shapes of Runway's API.

Time: statuses are computed from the clock (see :mod:`vidgate.emulator.tasks`). The scheduler
(:mod:`vidgate.emulator.scheduler`) applies each change (a slot frees, a task ends) when it is due,
so renders start as soon as a task holds a slot even if nobody polls.
"""

from __future__ import annotations

import random
import secrets
import threading
import uuid
from pathlib import Path
from typing import IO, Any, Literal

from vidgate.catalog import Catalog, Endpoint, get_catalog
from vidgate.emulator.clock import Clock, SystemClock
from vidgate.emulator.config import EmulatorConfig, failure_text
from vidgate.emulator.faults import Fault, pick_fault
from vidgate.emulator.organization import Organization
from vidgate.emulator.outputs import OutputStore, UrlCheck
from vidgate.emulator.plan import RenderPlan
from vidgate.emulator.scheduler import Scheduler
from vidgate.emulator.state_file import StateFile
from vidgate.emulator.stats import Stats
from vidgate.emulator.tasks import Task, TaskBoard, TaskStatus
from vidgate.emulator.uploads import UPLOADS_DIR, Upload, UploadStore
from vidgate.errors import MediaRejected, NotFound, RequestError

__all__ = ["EmulatorState", "ForcedOutcome", "OutputForbidden"]

ForcedOutcome = Literal["succeed", "fail", "cancel"]


class EmulatorState:
    """The emulated Runway organization and its tasks."""

    def __init__(
        self,
        config: EmulatorConfig,
        *,
        clock: Clock | None = None,
        catalog: Catalog | None = None,
        background: bool = True,
    ) -> None:
        self.initial_config = config
        self.config = config
        self.clock = clock or SystemClock()
        self.catalog = catalog or get_catalog()
        self.stats = Stats()
        # With a state file, tasks, uploads and credits outlive this process (state_file.py).
        self._file = StateFile(config.state_file, self.clock) if config.state_file else None
        secret = self._file.secret() if self._file else secrets.token_bytes(32)
        self.outputs = OutputStore.from_config(config, secret=secret)
        self._lock = threading.RLock()
        self._scheduler = Scheduler(self._lock, self._step, enabled=background)
        self._secret = secret
        self._reset_locked()
        if self._file is not None:
            self._restore(self._file)

    # --- lifecycle ------------------------------------------------------------------------

    def _reset_locked(self) -> None:
        self.board = TaskBoard()
        self.uploads = UploadStore(self._secret, self.outputs.directory / UPLOADS_DIR)
        self.organization = Organization(self.config.credit_balance)
        self._seed(self.config.seed)

    def _seed(self, seed: int | None) -> None:
        self._fault_rng = random.Random(seed)
        self._outcome_rng = random.Random(None if seed is None else seed + 1)

    def _restore(self, file: StateFile) -> None:
        saved = file.load()
        self.board = TaskBoard.restore(saved.tasks)
        self.uploads.restore(saved.uploads)
        if saved.organization is not None:
            self.organization = saved.organization
        for task in self.board:
            # A render the previous process did not finish is done again.
            task.render_submitted = task.render_done_at is not None
        with self._lock:
            self._start_renders(list(self.board))
            self._advance()
            self._scheduler.ensure_started()

    def _save(
        self, *tasks: Task, deleted: str | None = None, uploads: tuple[Upload, ...] = ()
    ) -> None:
        """Write what changed to the state file, with the organization (no file: nothing)."""
        if self._file is not None:
            self._file.save(
                tasks=tasks,
                deleted_tasks=[deleted] if deleted else [],
                uploads=uploads,
                organization=self.organization,
            )

    def reset(self) -> None:
        """Back to the start: the initial config, no tasks or uploads, full balance, zero stats."""
        with self._lock:
            self.config = self.initial_config
            self.outputs.clear()
            self.uploads.clear()
            if self._file is not None:
                self._file.clear()
            self._reset_locked()
            self.stats.reset()
            self._scheduler.notify()

    def close(self) -> None:
        self._scheduler.close()
        self.outputs.close()
        if self._file is not None:
            with self._lock:
                self._file.close()

    def update_config(self, patch: dict[str, Any]) -> EmulatorConfig:
        """Apply knobs (ValidationFailed names a bad one); ``creditBalance`` sets the balance."""
        with self._lock:
            updated = self.config.updated(patch)
            if "seed" in patch:
                self._seed(updated.seed)
            if any(k in patch for k in ("creditBalance", "credit_balance")):
                self.organization.credit_balance = updated.credit_balance
                self._save()
            self.config = updated
            self._advance()
            self._scheduler.notify()
            return updated

    def draw_fault(self) -> Fault | None:
        """The fault (if any) the next API request gets, drawn at the configured rates."""
        with self._lock:
            c = self.config
            if not (c.http429_rate or c.http5xx_rate or c.drop_connection_rate):
                return None
            roll = self._fault_rng.random()
        return pick_fault(
            roll, drop=c.drop_connection_rate, http429=c.http429_rate, http5xx=c.http5xx_rate
        )

    # --- tasks ----------------------------------------------------------------------------

    def create_task(
        self,
        *,
        model: str,
        endpoint: Endpoint,
        plan: RenderPlan,
        estimated_credits: int,
        credits_per_second: float,
    ) -> Task:
        """Accept a validated request; RateLimited past the daily limit, RequestError without
        enough credits."""
        with self._lock:
            self._advance()
            now = self.clock.now()
            c = self.config
            self.organization.admit(model, estimated_credits, now, c.daily_limit_of(model))
            failure_code = None
            if c.fail_rate and self._outcome_rng.random() < c.fail_rate:
                failure_code = c.failure_code
            task = Task(
                id=str(uuid.uuid4()),
                model=model,
                endpoint=endpoint,
                created_at=now,
                created_wall=self.clock.wall(now),
                eligible_at=now + c.throttle_seconds,
                pending_seconds=c.pending_seconds,
                task_seconds=c.task_seconds,
                estimated_credits=estimated_credits,
                credits_per_second=credits_per_second,
                plan=plan,
                failure_code=failure_code,
                failure=failure_text(failure_code) if failure_code else None,
            )
            self.board.add(task)
            live = sum(1 for t in self.board if t.model == model and not t.status_at(now).terminal)
            self.stats.live_tasks(model, live)
            self.organization.record_generation(model, now)
            self.organization.charge(model, estimated_credits, task.created_wall)
            self.stats.task_created(model, endpoint.value)
            self._advance()
            self._save(task)
            self._scheduler.ensure_started()
            self._scheduler.notify()
            return task

    def task_view(self, task_id: str, *, base_url: str) -> dict[str, Any]:
        """``GET /v1/tasks/{id}``: the task as Runway shows it now."""
        with self._lock:
            self._advance()
            task = self._task(task_id)
            now = self.clock.now()

            def output_url() -> str:
                expires = self.clock.wall(now).timestamp() + self.config.output_ttl_seconds
                return base_url.rstrip("/") + self.outputs.signed_path(task.id, expires=expires)

            return task.api_view(now, output_url)

    def delete_task(self, task_id: str) -> TaskStatus:
        """``DELETE /v1/tasks/{id}``: cancel a live task, delete a finished one; either way it is
        gone afterwards. Returns the status it had."""
        with self._lock:
            self._advance()
            task = self._task(task_id)
            before = self._cancel(task)
            self.board.remove(task)
            self.outputs.discard(task.id)
            self._save(deleted=task.id)
            self._scheduler.notify()
            return before

    def force(self, task_id: str, outcome: ForcedOutcome, *, failure_code: str | None) -> None:
        """Control: end a live task now with the given outcome (no-op on a finished one)."""
        with self._lock:
            self._advance()
            task = self._task(task_id)
            now = self.clock.now()
            if outcome == "cancel":
                self._cancel(task)
            else:
                failure = None
                if outcome == "fail":
                    code = failure_code or self.config.failure_code
                    failure = (code, failure_text(code))
                self.board.force_end(task, now, failure=failure)
                self._start_renders([task])
            self._advance()
            self._save(task)
            self._scheduler.notify()

    def tasks_view(self) -> list[dict[str, Any]]:
        """Control: every task with its model, status, when it got its slot (``startedAt``) and
        reached its final state (``endedAt``), and its output's shape."""
        with self._lock:
            self._advance()
            now = self.clock.now()
            return [t.control_view(now, self.clock.wall) for t in self.board]

    def _task(self, task_id: str) -> Task:
        task = self.board.get(task_id)
        if task is None:
            message = f"Task {task_id} not found"  # Runway's words
            if self.config.state_file:  # vidgate's emulator mode: say where to look
                message += (
                    f" in the emulator's state {self.config.state_file} (deleted, or the "
                    "emulator was reset or its state removed)"
                )
            raise NotFound(message)
        return task

    def _cancel(self, task: Task) -> TaskStatus:
        now = self.clock.now()
        before = self.board.cancel(task, now)
        if not before.terminal:
            self.outputs.discard(task.id)
            self._settle(task, now)
        return before

    def _settle(self, task: Task, ended_at: float) -> None:
        """A task that ended: its inputs dropped, its final cost set, the rest refunded."""
        task.plan = task.plan.without_inputs()
        task.final_credits = task.final_cost()
        refund = task.estimated_credits - task.final_credits
        self.organization.refund(task.model, refund, self.clock.wall(ended_at))

    # --- outputs --------------------------------------------------------------------------

    def output_file(self, task_id: str, expires: str, signature: str) -> Path:
        """The path of a task's output for a signed URL; OutputForbidden (403) or NotFound."""
        with self._lock:
            now_unix = self.clock.wall().timestamp()
            check = self.outputs.check_url(task_id, expires, signature, now=now_unix)
            if check is UrlCheck.INVALID:
                raise OutputForbidden("Invalid signature")
            if check is UrlCheck.EXPIRED:
                raise OutputForbidden("Request has expired")
            self._advance()
            task = self.board.get(task_id)
            path = self.outputs.path(task_id)
            if task is None or task.status_at(self.clock.now()) is not TaskStatus.SUCCEEDED:
                raise NotFound("The output does not exist or was deleted")
            if not path.exists():
                raise NotFound("The output does not exist or was deleted")
            return path

    def _start_renders(self, tasks: list[Task]) -> None:
        for task in tasks:
            if task.needs_render:
                task.render_submitted = True
                self.outputs.submit(task.id, task.plan, self._render_done)

    def _render_done(self, task_id: str, error: BaseException | None) -> None:
        with self._lock:
            task = self.board.get(task_id)
            if task is None or task.cancelled_at is not None:
                self.outputs.discard(task_id)
                return
            failure = None
            if error is not None:
                code = "ASSET.INVALID" if isinstance(error, MediaRejected) else "INTERNAL"
                failure = (code, f"{failure_text(code)} ({error})")
            self.board.render_finished(task, self.clock.now(), failure)
            task.plan = task.plan.without_inputs()
            self._advance()
            self._save(task)
            self._scheduler.notify()

    # --- uploads --------------------------------------------------------------------------

    def create_upload(self, filename: str) -> tuple[Upload, dict[str, str]]:
        with self._lock:
            now = self.clock.now()
            expired = self.uploads.purge_expired(now=now)
            upload = self.uploads.create(filename, now=now, ttl=self.config.upload_ttl_seconds)
            self.stats.count("uploads")
            if self._file is not None:
                self._file.save(uploads=[upload], deleted_uploads=expired)
            return upload, self.uploads.form_fields(upload)

    def complete_upload(
        self, fields: dict[str, str], source: IO[bytes], content_type: str | None
    ) -> Upload | None:
        """Keep a posted file (blocking: copied to disk, outside the lock, before it is checked)."""
        staged = self.uploads.stage(source)
        with self._lock:
            upload = self.uploads.complete(fields, staged, content_type, now=self.clock.now())
            if upload is not None:
                self.stats.count("uploadFiles")
                self._save(uploads=(upload,))
            return upload

    def lookup_upload(self, uri: str) -> bytes | None:
        with self._lock:
            upload = self.uploads.lookup(uri, now=self.clock.now())
            store = self.uploads
        return store.read(upload) if upload is not None else None

    # --- organization ---------------------------------------------------------------------

    def organization_view(self) -> dict[str, Any]:
        with self._lock:
            self._advance()
            c = self.config
            return self.organization.view(
                self.catalog.model_ids(),
                now=self.clock.now(),
                max_monthly_credit_spend=c.max_monthly_credit_spend,
                concurrency_of=c.concurrency_of,
                daily_limit_of=c.daily_limit_of,
            )

    def usage_view(self, start: str | None, before: str | None) -> dict[str, Any]:
        """``POST /v1/organization/usage``; ValidationFailed names a bad date."""
        with self._lock:
            self._advance()
            return self.organization.usage_between(start, before, today=self.clock.wall().date())

    # --- time -----------------------------------------------------------------------------

    def advance(self) -> None:
        with self._lock:
            self._advance()

    def _advance(self) -> None:
        now = self.clock.now()
        changes = self.board.advance(now, self.config.concurrency_of)
        self._start_renders(changes.started)
        for task in changes.started:
            if task.slot_at is not None and task.slot_at > task.eligible_at:
                self.stats.count("throttledTasks")  # it had to wait for a concurrency slot
        for task in changes.ended:
            self._settle(task, task.end_at or now)
        if changes.started or changes.ended:
            self._save(*changes.started, *changes.ended)

    def _step(self) -> float | None:
        """The scheduler's step: apply what is due; the seconds until the next change, if known."""
        self._advance()
        now = self.clock.now()
        nxt = self.board.next_event(now, self.config.concurrency_of)
        return None if nxt is None else nxt - now


class OutputForbidden(RequestError):
    """A signed output URL that is expired or was not signed by this emulator."""

    status_code = 403
    code = "forbidden"
