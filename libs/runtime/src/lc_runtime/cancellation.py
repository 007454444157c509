"""Keep loops stoppable when a library loses a cancellation.

Python 3.11's `asyncio.wait_for` drops a cancellation that races with its result or its
timeout, and some clients turn a cancelled await into their own error (nats-py's
TimeoutError, a closed connection). A loop that waits through them, or catches their
errors to retry, would run on after its task was cancelled; it calls
`raise_if_cancelled()` after each such wait or catch, so a cancelled task still ends; a
task that stops another uses `cancel_until_done`.
"""

from __future__ import annotations

import asyncio
from typing import Any


def raise_if_cancelled(cause: BaseException | None = None) -> None:
    """Raise CancelledError (from `cause`, the error a library made of it) when the
    current task is being cancelled; do nothing otherwise."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError from cause


async def cancel_until_done(*tasks: asyncio.Future[Any]) -> None:
    """Cancel `tasks` and wait for them to end, cancelling again while they run: a
    cancellation lost inside a library would otherwise leave the work running (or this
    waiting) for ever. A cancellation of the caller itself ends the wait at once."""
    pending = {task for task in tasks if not task.done()}
    while pending:
        for task in pending:
            task.cancel()
        _, pending = await asyncio.wait(pending, timeout=0.05)
    for task in tasks:
        if not task.cancelled():
            task.exception()  # retrieved: the caller reads the work's result itself
