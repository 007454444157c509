"""`lc up` as a user runs it: a real process, real children, real signals."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import nats
import psycopg
import pytest

from lc_contracts.events import ProjectCreated, build
from lc_contracts.subjects import project_subject
from lc_eventstore import EventStore

from .stack_process import Stack, alive


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_lc_up_starts_answers_and_stops_cleanly(stack: Stack, data_dir: Path, sig: int) -> None:
    elapsed = stack.start()
    print(f"lc up answered /healthz after {elapsed:.2f}s")
    pids = stack.endpoints["pids"]
    assert isinstance(pids, dict)
    assert set(pids) == {"nats", "postgres"}
    assert all(alive(pid) for pid in pids.values())
    assert stack.stop(sig) == 0
    deadline = time.monotonic() + 10
    while any(alive(pid) for pid in pids.values()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not [name for name, pid in pids.items() if alive(pid)], "children outlived lc up"
    assert not (data_dir / "stack.json").exists()


async def test_lc_up_keeps_its_data_across_restarts(stack: Stack) -> None:
    stack.start()
    first = stack.endpoints
    client = await nats.connect(str(first["nats_url"]))
    [seq] = await EventStore(client.jetstream()).append(
        project_subject("kept"),
        [
            build(
                ProjectCreated(slug="kept", name="Kept"),
                subject=project_subject("kept"),
                source="tests",
            )
        ],
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
