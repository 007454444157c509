"""A cancellation a library swallowed still ends the task at the next check."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from lc_runtime.cancellation import raise_if_cancelled


async def test_a_swallowed_cancellation_still_ends_the_task() -> None:
    reached: list[str] = []

    async def loop() -> None:
        # What Python 3.11's wait_for does when a result races the cancellation:
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.sleep(10)
        reached.append("after the wait")
        raise_if_cancelled()
        reached.append("went on")

    task = asyncio.create_task(loop())
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert reached == ["after the wait"]


async def test_a_task_not_cancelled_goes_on() -> None:
    raise_if_cancelled()
    raise_if_cancelled(TimeoutError("a client's own timeout"))
