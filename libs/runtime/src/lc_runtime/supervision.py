"""The supervised restart loop: run a background task again after it fails.

Who calls it: `lc up` for its workers (reconciler, fleet, domain verifier) and lcd for its
background readers. Cancellation always ends the loop; a clean return ends it too; any
other exception is logged and the task runs again after `delay_s`. The optional hooks
let a caller report the failure (a health endpoint) until the restart.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger("lc_runtime.supervision")


async def run_restarting(
    name: str,
    run: Callable[[], Awaitable[None]],
    *,
    delay_s: float,
    on_failure: Callable[[Exception], object] | None = None,
    on_restart: Callable[[], object] | None = None,
    logger: logging.Logger = log,
) -> None:
    """Await `run()` until it returns or is cancelled, starting it again after each failure."""
    while True:
        try:
            await run()
            return
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if on_failure is not None:
                on_failure(exc)
            logger.exception("%s stopped with an error; restarting in %.1fs", name, delay_s)
            await asyncio.sleep(delay_s)
            if on_restart is not None:
                on_restart()
