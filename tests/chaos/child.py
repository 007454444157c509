"""One of our programs as a child process on a free loopback port, for the faults that
kill it: started (and started again on the same port) from its console module with the
`LC_*` settings given, ready when `is_ready` says so, killed with SIGKILL or stopped."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from lc_embedded import free_port

READY_DEADLINE_S = 60.0


class Child:
    def __init__(
        self,
        module: str,
        settings: Callable[[int], Mapping[str, str]],
        log: Path,
        *,
        is_ready: Callable[[str], bool],
        args: Sequence[str] = (),
    ) -> None:
        self.module, self.settings, self.log = module, settings, log
        self.is_ready, self.args = is_ready, list(args)
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("LC_")},
            **self.settings(self.port),
        }
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", self.module, *self.args],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + READY_DEADLINE_S
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, (
                f"{self.module} exited:\n{self.log.read_text()[-3000:]}"
            )
            if self.is_ready(self.url):
                return
            time.sleep(0.05)
        raise AssertionError(f"{self.module} was not ready within {READY_DEADLINE_S}s")

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
