"""SIGKILL nats-server (`sync_interval: always`) in the middle of 1,000 concurrent creates:
under `lc up`, whose supervision restarts it, and under lcd on the test's own server,
which the test restarts. Once it is back, every 2xx is in the log and the read models
exactly once, no 503 landed, nothing answered 500, no connection was dropped.

Both send the creates over 64 connections, so the kill lands while writes are still
being appended: with all 1,000 in flight at once, every append was done before a quarter
had been answered (991 answered 202, none 503), and the kill tested nothing. Under
`lc up` on a shared two-core machine the 1,000 took 57-99 s (lcd alone: 47 s): `lc up`
runs lcd, the projector, the workers and the simulator in one process, and each create
also makes a namespace in the simulator."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path

import httpx

from lc_embedded import EmbeddedNats, EmbeddedPostgres

from .lc_up import LcUp
from .lcd import Lcd
from .load import assert_invariants, create_projects, eventually

CREATES = 1000


async def test_lc_up_restarts_a_killed_nats_server_and_loses_no_acknowledged_write(
    lc_up: LcUp,
) -> None:
    nats_pid = lc_up.pid("nats")

    async def kill_nats() -> None:
        os.kill(nats_pid, signal.SIGKILL)

    slugs = [f"c{i}" for i in range(CREATES)]
    began = time.monotonic()
    outcome = await create_projects(lc_up.url, slugs, fault_after=CREATES // 4, fault=kill_nats)
    print(f"answers under lc up: {dict(outcome.codes)} in {time.monotonic() - began:.1f}s")

    async def healthy_again() -> bool:
        async with httpx.AsyncClient(timeout=5) as client:
            answer = await client.get(f"{lc_up.url}/healthz")
        return answer.status_code == 200 and answer.json()["servers"]["nats"] == "running"

    await eventually(healthy_again, "lc up to restart nats-server")
    assert lc_up.pid("nats") != nats_pid
    assert not outcome.dropped, f"{len(outcome.dropped)} connections dropped: {outcome.codes}"
    await assert_invariants(
        outcome, base_url=lc_up.url, nats_url=str(lc_up.endpoints()["nats_url"])
    )
    # Writes go through again without restarting anything by hand.
    async with httpx.AsyncClient(base_url=lc_up.url, timeout=30) as client:
        after = await client.post("/api/v1/projects", json={"name": "after", "slug": "after"})
    assert after.status_code in (201, 202), after.text


async def test_lcd_rides_out_a_killed_nats_server_during_a_thousand_creates(
    durable_nats: EmbeddedNats, own_postgres: EmbeddedPostgres, scratch: Path
) -> None:
    lcd = Lcd(durable_nats.url, own_postgres.url("lcd"), scratch / "lcd.log").start()
    try:

        async def kill_and_restart_nats() -> None:
            assert durable_nats.pid is not None
            os.kill(durable_nats.pid, signal.SIGKILL)
            await asyncio.to_thread(durable_nats.start)  # same port, same data

        slugs = [f"c{i}" for i in range(CREATES)]
        began = time.monotonic()
        outcome = await create_projects(
            lcd.url, slugs, fault_after=CREATES // 4, fault=kill_and_restart_nats
        )
        print(f"answers under lcd: {dict(outcome.codes)} in {time.monotonic() - began:.1f}s")
        assert not outcome.dropped, f"{len(outcome.dropped)} connections dropped: {outcome.codes}"
        await assert_invariants(outcome, base_url=lcd.url, nats_url=durable_nats.url)
    finally:
        lcd.stop()
