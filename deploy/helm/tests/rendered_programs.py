"""The chart's programs started as their containers run them: the console script of the
container's command, with exactly the rendered environment plus the overrides a test
gives (its servers' addresses, free ports).

Who calls it: `test_chart_env_starts.py` (every program) and `test_chart_port_forward.py`
(lcd alone).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from .chart_render import Rendered

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Program:
    name: str
    process: asyncio.subprocess.Process
    log: Path

    def tail(self) -> str:
        return f"--- {self.name} (exit {self.process.returncode}):\n" + "\n".join(
            self.log.read_text(errors="replace").splitlines()[-20:]
        )


@contextlib.asynccontextmanager
async def started(
    rendered: Rendered, addresses: dict[str, dict[str, str]], logs: Path
) -> AsyncIterator[dict[str, Program]]:
    programs: dict[str, Program] = {}
    try:
        for workload, overrides in addresses.items():
            (command,) = rendered.container(workload)["command"]
            env = {"PATH": os.environ["PATH"], **rendered.env(workload), **overrides}
            log = logs / f"{workload}.log"
            with log.open("wb") as out:
                process = await asyncio.create_subprocess_exec(
                    str(BIN / command), env=env, stdout=out, stderr=asyncio.subprocess.STDOUT
                )
            programs[workload] = Program(workload, process, log)
        yield programs
    finally:
        for program in programs.values():
            if program.process.returncode is None:
                program.process.send_signal(signal.SIGTERM)
        for program in programs.values():
            try:
                await asyncio.wait_for(program.process.wait(), 15)
            except TimeoutError:
                program.process.kill()
                await program.process.wait()
