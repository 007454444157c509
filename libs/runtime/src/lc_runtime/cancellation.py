"""Keep loops stoppable when a library loses a cancellation.

Python 3.11's `asyncio.wait_for` drops a cancellation that races with its result or its
timeout, and some clients turn a cancelled await into their own error (nats-py's
TimeoutError, a closed connection). A loop that waits through them, or catches their
errors to retry, would run on after its task was cancelled; it calls
`raise_if_cancelled()` after each such wait or catch, so a cancelled task still ends.
"""

from __future__ import annotations

import asyncio


def raise_if_cancelled(cause: BaseException | None = None) -> None:
    """Raise CancelledError (from `cause`, the error a library made of it) when the
    current task is being cancelled; do nothing otherwise."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError from cause
