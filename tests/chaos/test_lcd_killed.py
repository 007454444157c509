"""SIGKILL lcd in the middle of concurrent creates and start it again: the requests it
was serving get no answer (their outcome is unknown to the client), but every 2xx is in
the log and the read models exactly once, and the new process projects what the killed
one appended."""

from __future__ import annotations

import asyncio
from pathlib import Path

from lc_embedded import EmbeddedNats, EmbeddedPostgres

from .lcd import Lcd
from .load import assert_invariants, create_projects

CREATES = 200


async def test_lcd_killed_during_creates_loses_no_acknowledged_write(
    durable_nats: EmbeddedNats, own_postgres: EmbeddedPostgres, scratch: Path
) -> None:
    lcd = Lcd(durable_nats.url, own_postgres.url("lcd"), scratch / "lcd.log").start()
    try:

        async def kill_and_restart_lcd() -> None:
            lcd.kill()
            await asyncio.to_thread(lcd.start)  # same port

        slugs = [f"c{i}" for i in range(CREATES)]
        outcome = await create_projects(
            lcd.url,
            slugs,
            fault_after=CREATES // 4,
            fault=kill_and_restart_lcd,
            connections=32,
            retry_refused_connections=True,
        )
        print(f"answers with lcd killed: {dict(outcome.codes)}")
        assert outcome.dropped, "the kill cut no request short: it came too late to test anything"
        assert len(outcome.accepted) > CREATES // 2, "the restarted lcd took too few of the creates"
        await assert_invariants(outcome, base_url=lcd.url, nats_url=durable_nats.url)
    finally:
        lcd.stop()
