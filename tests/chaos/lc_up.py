"""`lc up` as a child process for the fault tests: its output goes to a file (a pipe
nobody reads would stall it once a fault makes it log), and its parts are found through
`stack.json`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx

from lc_embedded import free_port

START_DEADLINE_S = 120.0  # a loaded two-core machine needs well over 30 s


class LcUp:
    def __init__(
        self,
        data_dir: Path,
        *,
        args: Sequence[str] = (),
        start_deadline_s: float = START_DEADLINE_S,
    ) -> None:
        self.data_dir = data_dir
        self.args = list(args)
        self.start_deadline_s = start_deadline_s
        self.port = free_port()
        self.log = data_dir / "lc-up.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> LcUp:
        env = {k: v for k, v in os.environ.items() if not k.startswith("LC_")}
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "lc_local.cli",
                    "up",
                    "--port",
                    str(self.port),
                    "--data-dir",
                    str(self.data_dir),
                    *self.args,
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
            )
        deadline = time.monotonic() + self.start_deadline_s
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"lc up exited:\n{self.log.read_text()[-3000:]}"
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        raise AssertionError(
            f"lc up was not healthy within {self.start_deadline_s}s:\n{self.log.read_text()[-3000:]}"
        )

    def endpoints(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads((self.data_dir / "stack.json").read_text())
        return data

    def pid(self, server: str) -> int:
        return int(self.endpoints()["pids"][server])

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
