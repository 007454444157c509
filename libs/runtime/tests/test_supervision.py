"""A supervised task runs again after a failure, reports it until then, and stops when cancelled."""

from __future__ import annotations

import asyncio

import pytest

from lc_runtime.supervision import run_restarting


async def test_a_failed_task_runs_again_until_it_returns() -> None:
    runs: list[int] = []
    reported: list[str] = []

    async def flaky() -> None:
        runs.append(len(runs))
        if len(runs) < 3:
            raise RuntimeError(f"failure {len(runs)}")

    await asyncio.wait_for(
        run_restarting(
            "flaky",
            flaky,
            delay_s=0,
            on_failure=lambda exc: reported.append(str(exc)),
            on_restart=lambda: reported.append("restarted"),
        ),
        5,
    )
    assert runs == [0, 1, 2]
    assert reported == ["failure 1", "restarted", "failure 2", "restarted"]


async def test_cancellation_ends_the_loop() -> None:
    started = asyncio.Event()

    async def forever() -> None:
        started.set()
        await asyncio.Event().wait()

    task = asyncio.create_task(run_restarting("forever", forever, delay_s=0))
    await asyncio.wait_for(started.wait(), 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
