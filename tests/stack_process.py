"""`lc up` as a child process, as a user runs it; shared by the stack-level tests."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from lc_testing import free_port

START_DEADLINE_S = 30.0


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still answers kill(0); it is gone for our purpose.
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split()[2] != "Z"


class Stack:
    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.env: dict[str, str] = {}
        self.args: list[str] = []  # further flags of `lc up`, e.g. --ha
        self.start_deadline_s = START_DEADLINE_S

    def start(self) -> float:
        began = time.monotonic()
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
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env={**os.environ, **self.env},
        )
        while time.monotonic() - began < self.start_deadline_s:
            if self.proc.poll() is not None:
                raise AssertionError(
                    f"lc up exited: {self.proc.stdout.read().decode() if self.proc.stdout else ''}"
                )
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/healthz", timeout=1).status_code == 200:
                    return time.monotonic() - began
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        raise AssertionError(f"/healthz did not answer within {self.start_deadline_s}s")

    @property
    def endpoints(self) -> dict[str, object]:
        return json.loads((self.data_dir / "stack.json").read_text())  # type: ignore[no-any-return]

    def stop(self, sig: int = signal.SIGTERM) -> int:
        assert self.proc is not None
        self.proc.send_signal(sig)
        return self.proc.wait(30)

    def ensure_stopped(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"
