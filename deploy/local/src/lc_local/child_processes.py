"""Our programs as child processes of `lc up --ha`, each replica its own process as in a
cluster: started from its console script with its `LC_*` settings, ready once it
answers (or, for a worker with no HTTP port, once it stayed up a moment), stopped with
SIGTERM. Each offers what `ServerSupervisor` needs to start it again when it dies.

Callers: `lc_local.ha_stack`.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from lc_embedded.servers import EmbeddedServerError, die_with_parent

READY_DEADLINE_S: Final = 60.0
WORKER_SETTLE_S: Final = 0.5


def console_script(name: str) -> str:
    """The path of one of our console scripts in this environment."""
    return str(Path(sys.executable).parent / name)


@dataclass
class ChildProcess:
    """One replica: `command` with `env` (on top of ours, without our own `LC_*`)."""

    name: str
    command: list[str]
    env: Mapping[str, str]
    log: Path
    url: str | None = None
    """Where it serves HTTP, if it does."""
    ready_path: str = "/healthz"
    _proc: subprocess.Popen[bytes] | None = field(default=None, init=False, repr=False)

    def launch(self) -> None:
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("LC_")},
            **self.env,
        }
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as out:
            self._proc = subprocess.Popen(
                self.command,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                preexec_fn=die_with_parent,
            )

    def wait_started(self) -> None:
        assert self._proc is not None, "launch() first"
        began = time.monotonic()
        while time.monotonic() - began < READY_DEADLINE_S:
            if self._proc.poll() is not None:
                raise EmbeddedServerError(
                    f"{self.name} exited with {self._proc.returncode}; see {self.log}:\n"
                    + self.log.read_text(errors="replace")[-2000:]
                )
            if self._ready(time.monotonic() - began):
                return
            time.sleep(0.05)
        raise EmbeddedServerError(
            f"{self.name} not ready after {READY_DEADLINE_S}s; see {self.log}"
        )

    def _ready(self, elapsed_s: float) -> bool:
        if self.url is None:
            return elapsed_s >= WORKER_SETTLE_S
        try:
            with urllib.request.urlopen(self.url + self.ready_path, timeout=2) as answer:
                return bool(answer.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    def exit_code(self) -> int | None:
        return self._proc.poll() if self._proc else None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def stop(self, timeout_s: float = 15.0) -> None:
        if self._proc is None or self._proc.poll() is not None:
            return
        self._proc.send_signal(signal.SIGTERM)
        try:
            self._proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait(5)
