"""One delivery process of several (`delivery_processes`):
`python -m lc_webhooks.delivery_process INDEX COUNT PARENT_PID`.

Reads the settings from the first line of stdin, delivers for share INDEX of COUNT
(`shares`), writes `ready` to stdout once its couriers have started, and stops when
stdin closes (the parent stops it, or died). On Linux the kernel also kills it the moment
its parent dies, whatever the parent died of: a worker killed with SIGKILL leaves no
child delivering, so the next worker is the only one reading the consumers.

Callers: the supervisor in `delivery_processes`, as a child process.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import json
import os
import signal
import sys
from typing import Final

from lc_runtime.cancellation import cancel_until_done
from lc_runtime.logs import configure_logging
from lc_runtime.probes import Probes
from lc_webhooks.delivery_processes import READY
from lc_webhooks.main import deliver
from lc_webhooks.settings import WebhookSettings
from lc_webhooks.shares import Share

PR_SET_PDEATHSIG: Final = 1


def die_with_parent(parent_pid: int) -> None:
    """Have the kernel kill this process when its parent dies (Linux); exit at once if
    the parent is already gone."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent_pid:
        os._exit(0)


async def _serve(share: Share) -> None:
    loop = asyncio.get_running_loop()
    stdin = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(stdin), sys.stdin)
    line = await stdin.readline()
    if not line:
        return  # the parent went before sending the settings
    settings = WebhookSettings(**json.loads(line))

    def ready() -> None:
        os.write(sys.stdout.fileno(), READY + b"\n")

    probes = Probes(f"webhooks-{share.index}")
    delivering = asyncio.create_task(deliver(settings, probes, share, on_started=ready))
    closed = asyncio.create_task(stdin.read())  # returns at end of file
    try:
        await asyncio.wait({delivering, closed}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        await cancel_until_done(delivering, closed)
    if not delivering.cancelled():
        delivering.result()  # delivery stopped by itself: its error ends the process


def main() -> None:
    index, count, parent_pid = (int(arg) for arg in sys.argv[1:4])
    die_with_parent(parent_pid)
    configure_logging()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(Share(index, count)))


if __name__ == "__main__":
    main()
