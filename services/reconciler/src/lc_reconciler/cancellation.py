"""Stop the reconciler's tasks reliably (`until_cancelled`); loops that catch a
library's errors call `lc_runtime.cancellation.raise_if_cancelled` after catching."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any


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
