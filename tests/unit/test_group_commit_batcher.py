"""The group-commit batcher alone: batches form from whoever waits; answers go back one by one."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from vidgate.jobs.group_commit import GroupCommit


class Recorder:
    """A ``write`` recording its batches: item "bad" fails alone, "boom" fails the batch."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []
        self.gate = asyncio.Event()
        self.gate.set()

    async def write(self, items: Sequence[str]) -> list[str | BaseException]:
        await self.gate.wait()
        self.batches.append(list(items))
        if "boom" in items:
            raise RuntimeError("the transaction failed")
        return [ValueError(item) if item == "bad" else item.upper() for item in items]


async def test_a_lone_caller_is_written_at_once_in_a_batch_of_one() -> None:
    recorder = Recorder()
    batcher = GroupCommit(recorder.write)
    assert await batcher.submit("a") == "A"
    assert recorder.batches == [["a"]]


async def test_callers_arriving_during_a_write_share_the_next_batch() -> None:
    recorder = Recorder()
    recorder.gate.clear()
    batcher = GroupCommit(recorder.write)
    first = asyncio.create_task(batcher.submit("a"))
    await asyncio.sleep(0)  # the first batch is being written (held at the gate)
    rest = [asyncio.create_task(batcher.submit(x)) for x in "bcd"]
    await asyncio.sleep(0)
    recorder.gate.set()
    assert await first == "A"
    assert [await task for task in rest] == ["B", "C", "D"]
    assert recorder.batches == [["a"], ["b", "c", "d"]]


async def test_batches_are_capped() -> None:
    recorder = Recorder()
    batcher = GroupCommit(recorder.write, max_batch=2)
    results = await asyncio.gather(*(batcher.submit(x) for x in "abcde"))
    assert results == ["A", "B", "C", "D", "E"]
    assert [len(batch) for batch in recorder.batches] == [2, 2, 1]


async def test_an_item_error_reaches_only_its_caller() -> None:
    recorder = Recorder()
    batcher = GroupCommit(recorder.write)
    results = await asyncio.gather(
        *(batcher.submit(x) for x in ["a", "bad", "c"]), return_exceptions=True
    )
    assert results[0] == "A" and results[2] == "C"
    assert isinstance(results[1], ValueError)
    assert len(recorder.batches) == 1


async def test_a_failed_write_fails_its_whole_batch_and_the_next_batch_still_runs() -> None:
    recorder = Recorder()
    batcher = GroupCommit(recorder.write)
    results = await asyncio.gather(
        *(batcher.submit(x) for x in ["a", "boom"]), return_exceptions=True
    )
    assert all(isinstance(r, RuntimeError) for r in results)
    assert await batcher.submit("z") == "Z"


async def test_a_caller_cancelled_before_its_batch_began_is_not_written() -> None:
    recorder = Recorder()
    recorder.gate.clear()
    batcher = GroupCommit(recorder.write)
    first = asyncio.create_task(batcher.submit("a"))
    await asyncio.sleep(0)
    gone = asyncio.create_task(batcher.submit("gone"))
    kept = asyncio.create_task(batcher.submit("kept"))
    await asyncio.sleep(0)
    gone.cancel()
    recorder.gate.set()
    assert await first == "A"
    assert await kept == "KEPT"
    with pytest.raises(asyncio.CancelledError):
        await gone
    assert recorder.batches == [["a"], ["kept"]]
