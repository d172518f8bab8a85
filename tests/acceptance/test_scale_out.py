"""Several API and worker processes on the machine's real PostgreSQL while workers are killed
with ``kill -9`` (the harness of ``make bench-scale``, with fewer jobs): every job ends, none is
created upstream twice, and nothing a dead worker held stays stuck."""

from __future__ import annotations

from bench.scale_out import run_scale_out

JOBS = 90
WORKERS = 3
SUBMIT_CONCURRENCY = 4  # the default: creates a killed worker may leave with an unknown outcome


def test_api_and_worker_processes_survive_kill_9(postgres_server_url: str) -> None:
    result = run_scale_out(
        jobs=JOBS,
        apis=2,
        workers=WORKERS,
        kill_every=3.0,
        lease_seconds=3.0,
        task_seconds=1.0,
        admin_url=postgres_server_url,
        timeout=240,
    )
    assert result.kills >= 2, result.summary()
    assert sum(result.statuses.values()) == JOBS, result.log_tail
    assert set(result.statuses) <= {"succeeded", "failed"}, result.summary()
    # Never a duplicate create: one upstream task per job at most, none made twice.
    assert result.duplicate_tasks == 0
    assert result.jobs_with_two_tasks == 0
    assert result.tasks_created <= JOBS
    # Only the creates in flight at a kill may end uncertain; every other job succeeds.
    uncertain = result.failure_codes.get("SUBMISSION_UNCERTAIN", 0)
    assert result.statuses.get("failed", 0) == uncertain, result.summary()
    assert uncertain <= result.kills * SUBMIT_CONCURRENCY
    assert result.statuses["succeeded"] >= JOBS - uncertain
