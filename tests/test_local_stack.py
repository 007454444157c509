"""`lc up` as a user runs it: a real process, real children, real signals."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import nats
import psycopg
import pytest

from lc_contracts.events import ProjectCreated, build
from lc_contracts.subjects import project_subject
from lc_eventstore import EventStore
from lc_local.embedded import free_port

START_DEADLINE_S = 15.0


def _alive(pid: int) -> bool:
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

    def start(self) -> float:
        began = time.monotonic()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "lc_local.cli", "up", "--port", str(self.port), "--data-dir", str(self.data_dir)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        while time.monotonic() - began < START_DEADLINE_S:
            if self.proc.poll() is not None:
                raise AssertionError(f"lc up exited: {self.proc.stdout.read().decode() if self.proc.stdout else ''}")
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/healthz", timeout=1).status_code == 200:
                    return time.monotonic() - began
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        raise AssertionError(f"/healthz did not answer within {START_DEADLINE_S}s")

    @property
    def endpoints(self) -> dict[str, object]:
        return json.loads((self.data_dir / "stack.json").read_text())  # type: ignore[no-any-return]

    def stop(self, sig: int) -> int:
        assert self.proc is not None
        self.proc.send_signal(sig)
        return self.proc.wait(30)


@pytest.fixture
def data_dir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="lc-up-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_lc_up_starts_answers_and_stops_cleanly(data_dir: Path, sig: int) -> None:
    stack = Stack(data_dir)
    elapsed = stack.start()
    print(f"lc up answered /healthz after {elapsed:.2f}s")
    pids = stack.endpoints["pids"]
    assert isinstance(pids, dict)
    assert set(pids) == {"nats", "postgres"}
    assert all(_alive(pid) for pid in pids.values())
    assert stack.stop(sig) == 0
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in pids.values()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not [name for name, pid in pids.items() if _alive(pid)], "children outlived lc up"
    assert not (data_dir / "stack.json").exists()


async def test_lc_up_keeps_its_data_across_restarts(data_dir: Path) -> None:
    stack = Stack(data_dir)
    stack.start()
    first = stack.endpoints
    client = await nats.connect(str(first["nats_url"]))
    [seq] = await EventStore(client.jetstream()).append(
        project_subject("kept"),
        [build(ProjectCreated(slug="kept", name="Kept"), subject=project_subject("kept"), source="tests")],
        0,
    )
    await client.close()
    dsn = str(first["database_url"]).replace("postgresql+psycopg", "postgresql")
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE kept (v text)")
        conn.execute("INSERT INTO kept VALUES ('still here')")
    assert stack.stop(signal.SIGTERM) == 0

    stack.start()
    again = stack.endpoints
    try:
        client = await nats.connect(str(again["nats_url"]))
        aggregate = await EventStore(client.jetstream()).load(project_subject("kept"))
        await client.close()
        assert [m.seq for m in aggregate.messages] == [seq]
        dsn = str(again["database_url"]).replace("postgresql+psycopg", "postgresql")
        with psycopg.connect(dsn) as conn:
            assert conn.execute("SELECT v FROM kept").fetchall() == [("still here",)]
    finally:
        assert stack.stop(signal.SIGINT) == 0
