"""A create whose answer a crash took: ``kill -9`` of ``vidgate serve`` while Runway makes the task.

``vidgate serve`` runs in Runway mode against the emulator as an outside server (so the task,
and the credits it cost, outlive the killed process). The emulator holds each create's answer
for a few seconds after making the task: the window in which no client can know the outcome.
The restarted ``vidgate serve`` fails the job ``SUBMISSION_UNCERTAIN`` and never resends it;
``GET /v1/usage`` and the key's budget keep its estimate reserved while Runway's usage report
cannot be read, and count it as spent once the report shows the credits.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from serving import T2V, Served, run_vidgate, vidgate_env

from vidgate.emulator.server import EmulatorServer
from vidgate.jobs.status import FailureCode
from vidgate.runtime import EMULATOR_API_KEY

CREDITS = 24  # gen4.5, 2 s: 12 credits a second
DAILY = 40  # one such job fits, two do not


def _poll(read: Callable[[], Any], done: Callable[[Any], bool], what: str) -> Any:
    value = None
    for _ in range(300):
        value = read()
        if done(value):
            return value
        time.sleep(0.1)
    raise AssertionError(f"{what} never happened: {value}")


def test_a_create_lost_to_kill_9_is_charged_in_usage_and_budget(
    serve: type[Served], emulator_server: EmulatorServer, tmp_path: Path
) -> None:
    emulator = emulator_server
    emulator.reset()
    emulator.control(taskSeconds=1.0, createAnswerSeconds=8.0)
    env = vidgate_env(
        tmp_path / "var",
        RUNWAYML_API_SECRET=EMULATOR_API_KEY,
        RUNWAYML_BASE_URL=emulator.base_url,
        VIDGATE_LEASE_SECONDS="1.5",
        VIDGATE_USAGE_RECONCILE_SECONDS="0.2",
        VIDGATE_PROVIDER_LIMITS_REFRESH_SECONDS="0.2",
    )
    created = run_vidgate("keys", "create", "--name", "app", env=env, cwd=tmp_path)
    assert created.returncode == 0, created.stderr
    key_id = re.search(r"created (?:user |admin )?API key (ak_\S+)", created.stdout)
    token = re.search(r"token: (\S+)", created.stdout)
    assert key_id and token, created.stdout
    budget = run_vidgate(
        "keys", "budget", key_id.group(1), "--daily", str(DAILY), env=env, cwd=tmp_path
    )
    assert budget.returncode == 0, budget.stderr
    auth = {"Authorization": f"Bearer {token.group(1)}"}

    first = serve(env=env)
    with httpx.Client(base_url=first.url, headers=auth, timeout=10) as api:
        answer = api.post("/v1/generations", json=T2V)
        assert answer.status_code == 202, answer.text
        job_id = answer.json()["id"]
        # Runway has made (and billed) the task; its answer is still on the way.
        _poll(emulator.tasks, lambda tasks: len(tasks) == 1, "the create reaching Runway")
    first.process.kill()
    first.stop()
    # Runway's usage report cannot be read for now (every API request is answered 503).
    emulator.control(http5xxRate=1.0)

    second = serve(env=env)
    with httpx.Client(base_url=second.url, headers=auth, timeout=10) as api:
        job = _poll(
            lambda: api.get(f"/v1/generations/{job_id}").json(),
            lambda job: job["status"] == "failed",
            "the job failing after the restart",
        )
        assert job["failure"]["code"] == FailureCode.SUBMISSION_UNCERTAIN, job

        # While Runway's usage report cannot be read, the estimate stays reserved.
        usage = api.get("/v1/usage").json()
        refused = api.post("/v1/generations", json=T2V)
        emulator.control(http5xxRate=0.0)
        assert (usage["jobs"], usage["spentCredits"], usage["reservedCredits"]) == (1, 0, CREDITS)
        assert usage["budget"]["day"]["leftCredits"] == DAILY - CREDITS
        assert refused.status_code == 402, refused.text

        # The report shows the task's credits: the job ran and was paid for, and is spent.
        usage = _poll(
            lambda: api.get("/v1/usage").json(),
            lambda usage: usage["spentCredits"] == CREDITS,
            "the uncertain job's credits counted as spent",
        )
        assert usage["reservedCredits"] == 0 and usage["unaccountedCredits"] == 0
        assert usage["budget"]["day"]["leftCredits"] == DAILY - CREDITS
        assert api.post("/v1/generations", json=T2V).status_code == 402
        metrics = api.get("/metrics").text
        assert "vidgate_unaccounted_credits 0.0" in metrics

    # Never resent: the one upstream task is the one the killed process made.
    assert len(emulator.tasks()) == 1
