"""Supervision of the servers `lc up` embeds: a server that exits (crashed, killed, OOM)
is started again on the same port with the same data, with back-off, and `/healthz`
says which one is down meanwhile.

Callers: `lc_local.stack` (one `ServerSupervisor` for the embedded nats-server and
PostgreSQL). The clients reconnect on their own: lcd and the workers to NATS, lcd's
connection pool to PostgreSQL.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Final, Protocol

log = logging.getLogger("lc.up")

POLL_S: Final = 0.1
FIRST_BACKOFF_S: Final = 0.25
MAX_BACKOFF_S: Final = 10.0
# A server that stays up this long has recovered: its next crash starts the back-off anew.
STABLE_AFTER_S: Final = 30.0
RUNNING: Final = "running"


class Supervised(Protocol):
    """What `EmbeddedNats` and `EmbeddedPostgres` offer for a restart."""

    @property
    def pid(self) -> int | None: ...

    def launch(self) -> None: ...

    def wait_started(self) -> None: ...

    def exit_code(self) -> int | None: ...


def next_backoff(previous_s: float) -> float:
    """The delay before the next restart attempt: doubling from FIRST_BACKOFF_S up to MAX_BACKOFF_S."""
    return min(MAX_BACKOFF_S, previous_s * 2) if previous_s else FIRST_BACKOFF_S


@dataclass
class ServerSupervisor:
    """Restarts the servers it watches; `report()` is their state for `/healthz`."""

    servers: dict[str, Supervised]
    on_restarted: Callable[[str, int], None] = lambda name, pid: None
    states: dict[str, str] = field(default_factory=dict)
    restarts: dict[str, int] = field(default_factory=dict)

    def report(self) -> dict[str, str]:
        return {name: self.states.get(name, RUNNING) for name in self.servers}

    @property
    def healthy(self) -> bool:
        return all(state == RUNNING for state in self.report().values())

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        tasks = [
            asyncio.create_task(self._watch(name, server), name=f"supervise-{name}")
            for name, server in self.servers.items()
        ]
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _watch(self, name: str, server: Supervised) -> None:
        backoff = 0.0
        up_since = time.monotonic()
        while True:
            code = server.exit_code()
            if code is None:
                if backoff and time.monotonic() - up_since > STABLE_AFTER_S:
                    backoff = 0.0
                await asyncio.sleep(POLL_S)
                continue
            backoff = next_backoff(backoff)
            self.states[name] = f"down: exited with {code}; restarting in {backoff:.2f}s"
            log.error("%s exited with %s; restarting in %.2fs", name, code, backoff)
            await asyncio.sleep(backoff)
            try:
                # Spawned on the event loop's thread: the child's parent-death signal is
                # tied to the thread that forked it.
                server.launch()
                await asyncio.to_thread(server.wait_started)
            except Exception as exc:
                self.states[name] = f"down: restart failed: {exc}"[:500]
                log.error("%s did not restart: %s", name, exc)
                continue
            up_since = time.monotonic()
            self.restarts[name] = self.restarts.get(name, 0) + 1
            self.states.pop(name, None)
            log.warning("%s restarted (pid %s)", name, server.pid)
            self.on_restarted(name, server.pid or 0)
