"""Keep retry loops stoppable.

Some client libraries turn a cancelled await into their own error (a timeout, a closed
connection). A retry loop that catches that error would swallow the cancellation and
run on; loops call `stop_if_cancelled()` after catching, so a cancelled task still ends.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any


def stop_if_cancelled() -> None:
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError()


async def until_cancelled(coro: Coroutine[Any, Any, None]) -> None:
    """Run `coro` in a task of its own; when cancelled, cancel it until it has ended.

    A cancellation can be lost inside a library (Python 3.11's `asyncio.wait_for` drops
    one that races with a result, and some loops retry on the timeout they turn it into).
    Cancelling again until the task is done makes stopping the reconciler reliable.
    """
    inner = asyncio.ensure_future(coro)
    try:
        await asyncio.wait({inner})
    except asyncio.CancelledError:
        while not inner.done():
            inner.cancel()
            await asyncio.wait({inner}, timeout=0.05)
        raise
    inner.result()
