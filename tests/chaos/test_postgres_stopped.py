"""PostgreSQL stopped for 10 s while lcd takes creates: nothing answers 500, writes that
land while it is down are answered 202 with their sequence, and every accepted write is
in the read models once PostgreSQL is back."""

from __future__ import annotations

import asyncio
from pathlib import Path

from lc_embedded import EmbeddedNats, EmbeddedPostgres

from .lcd import Lcd
from .load import assert_invariants, create_projects

CREATES = 200
DOWN_FOR_S = 10.0


async def test_postgres_down_for_ten_seconds_under_load(
    durable_nats: EmbeddedNats, own_postgres: EmbeddedPostgres, scratch: Path
) -> None:
    lcd = Lcd(durable_nats.url, own_postgres.url("lcd"), scratch / "lcd.log").start()
    try:

        async def stop_postgres_for_a_while() -> None:
            await asyncio.to_thread(own_postgres.stop)
            await asyncio.sleep(DOWN_FOR_S)  # the fault's length, not a wait for a condition
            await asyncio.to_thread(own_postgres.start)  # same port, same data

        slugs = [f"c{i}" for i in range(CREATES)]
        outcome = await create_projects(
            lcd.url,
            slugs,
            fault_after=CREATES // 8,
            fault=stop_postgres_for_a_while,
            connections=16,
        )
        print(f"answers with PostgreSQL down {DOWN_FOR_S:.0f}s: {dict(outcome.codes)}")
        assert not outcome.dropped, f"{len(outcome.dropped)} connections dropped: {outcome.codes}"
        assert outcome.codes[202] > 0, "no write was taken while PostgreSQL was down"
        await assert_invariants(outcome, base_url=lcd.url, nats_url=durable_nats.url)
    finally:
        lcd.stop()
