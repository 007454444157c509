"""Several delivery processes: start one child per share of the subscriptions, start again
one that exits, stop them all when cancelled.

With `LC_WEBHOOK_PROCESSES` above 1 the `lc-webhooks` process delivers nothing itself: it
runs this supervisor (and the probe server). Each child (`lc_webhooks.delivery_process`)
folds the subscriptions and runs the couriers of its share (`shares`), so a subscription's
consumer is read by one courier of one process: in order, never twice at once. The
children get the settings as one JSON line on their stdin (the signing key never goes to
an argument or the environment), say `ready` on their stdout once their couriers have
started, and stop when their stdin closes; the kernel kills them should this process die
(`delivery_process.die_with_parent`). A child that exits is started again after
`RESTART_DELAY_S`; what it delivered without acknowledging is sent again by the next one
(at least once, same `webhook-id`).

Callers: `lc_webhooks.main.run`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import sys
from typing import Final

from lc_runtime.probes import Probes
from lc_webhooks.settings import WebhookSettings

log = logging.getLogger(__name__)

RESTART_DELAY_S: Final = 1.0
STOP_WAIT_S: Final = 20.0
READY: Final = b"ready"


def settings_line(settings: WebhookSettings) -> bytes:
    """The settings a child delivers with, as its first stdin line: one process, no probe
    server, the rest as given."""
    assert settings.secret_key is not None
    values = settings.model_dump(mode="json", exclude={"secret_key"})
    values |= {
        "secret_key": settings.secret_key.get_secret_value(),
        "webhook_processes": 1,
        "probe_port": None,
    }
    return json.dumps(values).encode() + b"\n"


class DeliveryProcesses:
    def __init__(self, settings: WebhookSettings, probes: Probes) -> None:
        self.count = settings.webhook_processes
        self._line = settings_line(settings)
        self._ready: set[int] = set()
        self.pids: dict[int, int] = {}
        """The running child of each share (its latest pid once it started)."""
        self.starts = 0
        """Children started so far, restarts included."""
        probes.require("delivery processes", self._unready)

    def _unready(self) -> str | None:
        missing = self.count - len(self._ready)
        return f"{missing} of {self.count} delivery processes starting" if missing else None

    async def run(self) -> None:
        """Keep every share's child running until cancelled."""
        async with asyncio.TaskGroup() as group:
            for index in range(self.count):
                group.create_task(self._keep(index), name=f"delivery-process-{index}")

    async def _keep(self, index: int) -> None:
        while True:
            code = await self._once(index)
            log.warning(
                "delivery process %d/%d exited with %s; starting it again in %.1fs",
                index + 1,
                self.count,
                code,
                RESTART_DELAY_S,
            )
            await asyncio.sleep(RESTART_DELAY_S)

    async def _once(self, index: int) -> int:
        """Run one child of the share until it exits; its exit status."""
        child = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "lc_webhooks.delivery_process",
            str(index),
            str(self.count),
            str(os.getpid()),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        self.starts += 1
        self.pids[index] = child.pid
        assert child.stdin is not None
        assert child.stdout is not None
        try:
            child.stdin.write(self._line)
            await child.stdin.drain()
            async for line in child.stdout:
                if line.strip() == READY:
                    self._ready.add(index)
            return await child.wait()
        except (BrokenPipeError, ConnectionResetError):
            return await child.wait()
        finally:
            self._ready.discard(index)
            if child.returncode is None:
                await _stop(child)

    def __repr__(self) -> str:
        return f"DeliveryProcesses(count={self.count}, pids={self.pids})"


async def _stop(child: asyncio.subprocess.Process) -> None:
    """Close the child's stdin (it stops its couriers, writes its delivery log and exits);
    kill it if it takes longer than `STOP_WAIT_S` or this task is cancelled again."""
    assert child.stdin is not None
    child.stdin.close()
    try:
        await asyncio.wait_for(child.wait(), STOP_WAIT_S)
    except TimeoutError:
        _kill(child)
        await child.wait()
    except asyncio.CancelledError:
        _kill(child)
        raise


def _kill(child: asyncio.subprocess.Process) -> None:
    with contextlib.suppress(ProcessLookupError):
        child.kill()
