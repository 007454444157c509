"""`lcd` as a child process on servers started by the test, for the faults that kill it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from lc_embedded import free_port

READY_DEADLINE_S = 60.0


class Lcd:
    def __init__(self, nats_url: str, database_url: str, log: Path) -> None:
        self.nats_url = nats_url
        self.database_url = database_url
        self.log = log
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Lcd:
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("LC_")},
            "LC_NATS_URL": self.nats_url,
            "LC_DATABASE_URL": self.database_url,
            "LC_BIND_HOST": "127.0.0.1",
            "LC_BIND_PORT": str(self.port),
        }
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "lc_api.main", "--log-level", "warning"],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + READY_DEADLINE_S
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"lcd exited:\n{self.log.read_text()[-3000:]}"
            try:
                if httpx.get(f"{self.url}/api/readyz", timeout=2).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        raise AssertionError(f"lcd was not ready within {READY_DEADLINE_S}s")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()
