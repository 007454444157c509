"""Run `lcd` as a child process on a loopback port (crash and concurrency tests, the bench)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from lc_testing import free_port


@dataclass
class LcdProcess:
    nats_url: str
    database_url: str
    env: dict[str, str] = field(default_factory=dict)
    port: int = 0
    log: Path | None = None
    _proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> LcdProcess:
        if not self.port:
            self.port = free_port()
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("LC_")},
            "LC_NATS_URL": self.nats_url,
            "LC_DATABASE_URL": self.database_url,
            "LC_BIND_HOST": "127.0.0.1",
            "LC_BIND_PORT": str(self.port),
            **self.env,
        }
        out = self.log.open("ab") if self.log else subprocess.DEVNULL
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "lc_api.main", "--log-level", "warning"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(f"lcd exited with {self._proc.returncode}")
            try:
                if httpx.get(f"{self.url}/api/readyz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"lcd was not ready within {timeout}s")

    def kill(self) -> None:
        """SIGKILL: no shutdown hooks, no flushing, like a crash."""
        if self._proc and self._proc.poll() is None:
            self._proc.send_signal(signal.SIGKILL)
            self._proc.wait(10)

    def stop(self) -> None:
        if self._proc and self._proc.poll() is None:
            self._proc.send_signal(signal.SIGTERM)
            try:
                self._proc.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()
