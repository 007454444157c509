"""`lc up`'s supervision of its embedded servers, against a real nats-server and
PostgreSQL: a killed server is reported down, started again on the same port with the
same data, and reported running."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import nats
import pytest

from lc_embedded import EmbeddedNats, EmbeddedPostgres
from lc_local.supervision import FIRST_BACKOFF_S, MAX_BACKOFF_S, ServerSupervisor, next_backoff

DEADLINE_S = 30.0


@pytest.fixture
def scratch() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="lc-supervision-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


async def wait_for(supervisor: ServerSupervisor, name: str, running: bool) -> dict[str, str]:
    deadline = time.monotonic() + DEADLINE_S
    while (supervisor.report()[name] == "running") != running:
        assert time.monotonic() < deadline, supervisor.report()
        await asyncio.sleep(0.005)
    return supervisor.report()


def test_back_off_doubles_up_to_a_bound() -> None:
    delays = [FIRST_BACKOFF_S]
    for _ in range(10):
        delays.append(next_backoff(delays[-1]))
    assert delays[:3] == [FIRST_BACKOFF_S, FIRST_BACKOFF_S * 2, FIRST_BACKOFF_S * 4]
    assert max(delays) == MAX_BACKOFF_S
    assert next_backoff(0.0) == FIRST_BACKOFF_S


async def test_a_killed_nats_server_comes_back_on_its_port_with_its_streams(scratch: Path) -> None:
    broker = EmbeddedNats(scratch / "nats").start()
    restarted: list[tuple[str, int]] = []
    supervisor = ServerSupervisor(
        {"nats": broker}, on_restarted=lambda name, pid: restarted.append((name, pid))
    )
    try:
        client = await nats.connect(broker.url, max_reconnect_attempts=-1, reconnect_time_wait=0.1)
        js = client.jetstream()
        await js.add_stream(name="KEPT", subjects=["kept.>"])
        await js.publish("kept.one", b"1")
        async with supervisor.running():
            first_pid = broker.pid
            assert first_pid is not None
            os.kill(first_pid, signal.SIGKILL)
            down = await wait_for(supervisor, "nats", running=False)
            assert down["nats"].startswith("down: exited with -9")
            assert not supervisor.healthy
            await wait_for(supervisor, "nats", running=True)
            assert supervisor.healthy
            assert restarted == [("nats", broker.pid)]
            assert broker.pid != first_pid
            ack = await js.publish("kept.two", b"2")  # same port: the client reconnected
            assert ack.seq == 2  # same data: the stream kept its first message
        await client.close()
    finally:
        broker.stop()


async def test_a_killed_postgres_comes_back_with_its_data(scratch: Path) -> None:
    import psycopg

    pg = EmbeddedPostgres(scratch / "pg", durable=False).start()
    supervisor = ServerSupervisor({"postgres": pg})
    try:
        with psycopg.connect(pg.dsn(), autocommit=True) as conn:
            conn.execute("CREATE TABLE kept (n int)")
            conn.execute("INSERT INTO kept VALUES (1)")
            conn.execute("CHECKPOINT")
        async with supervisor.running():
            assert pg.pid is not None
            os.kill(pg.pid, signal.SIGKILL)
            down = await wait_for(supervisor, "postgres", running=False)
            assert down["postgres"].startswith("down:")
            await wait_for(supervisor, "postgres", running=True)
            with psycopg.connect(pg.dsn()) as conn:
                assert conn.execute("SELECT n FROM kept").fetchall() == [(1,)]
    finally:
        pg.stop()
