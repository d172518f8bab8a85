"""The idle pause shared by the worker loop and the webhook dispatcher."""

from __future__ import annotations

import asyncio
import logging

import pytest

from vidgate.jobs.wake import Wakeup, run_rounds

# Far longer than any test runs: a pause that only ends by waiting it out fails by timeout.
FOREVER = 3600.0


async def test_a_wakeup_ends_the_pause_and_is_rearmed() -> None:
    wakeup = Wakeup()
    pausing = asyncio.create_task(wakeup.pause(FOREVER))
    await asyncio.sleep(0)
    wakeup.set()
    await pausing
    # Re-armed: the next pause needs a new wake-up (here one set before it starts).
    wakeup.set()
    await wakeup.pause(FOREVER)


async def test_stop_ends_the_pause() -> None:
    stop = asyncio.Event()
    pausing = asyncio.create_task(Wakeup().pause(FOREVER, stop))
    await asyncio.sleep(0)
    stop.set()
    await pausing


async def test_rounds_run_until_stopped_and_pause_only_when_idle() -> None:
    stop, wakeup = asyncio.Event(), Wakeup()
    rounds: list[int] = []
    idle = asyncio.Event()

    async def round_() -> int:
        rounds.append(len(rounds))
        if len(rounds) < 3:
            return 1  # busy: the next round follows at once, with no pause
        if len(rounds) == 3:
            idle.set()
            return 0  # idle: pauses until woken
        stop.set()
        return 0

    running = asyncio.create_task(
        run_rounds(round_, stop=stop, wakeup=wakeup, idle_seconds=FOREVER)
    )
    await idle.wait()
    wakeup.set()
    await running
    assert rounds == [0, 1, 2, 3]


async def test_a_failing_round_is_logged_and_counts_as_idle(
    caplog: pytest.LogCaptureFixture,
) -> None:
    stop, wakeup = asyncio.Event(), Wakeup()
    calls = 0

    async def round_() -> int:
        nonlocal calls
        calls += 1
        if calls == 1:
            wakeup.set()  # so the pause after the failure ends at once
            raise RuntimeError("database hiccup")
        stop.set()
        return 1

    log = logging.getLogger("test.wake")
    with caplog.at_level(logging.ERROR, logger="test.wake"):
        await run_rounds(round_, stop=stop, wakeup=wakeup, idle_seconds=FOREVER, log=log)
    assert calls == 2
    assert "round failed" in caplog.text


async def test_without_a_log_a_failing_round_ends_the_loop() -> None:
    async def round_() -> int:
        raise RuntimeError("bug")

    with pytest.raises(RuntimeError):
        await run_rounds(round_, stop=asyncio.Event(), wakeup=Wakeup(), idle_seconds=FOREVER)
