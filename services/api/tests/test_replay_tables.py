"""`lc replay` rebuilds into fresh tables and swaps them in (`lc_api.db.rebuild`): the
tables come out as they went in, readers are never locked out for long, and bad events
are quarantined as by the live projector."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import nats
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from lc_api.cli_commands import replay
from lc_api.db.rebuild import SHADOW
from lc_api.db.tables import READ_MODELS
from lc_api.settings import ApiSettings
from lc_contracts.events import FqdnReleased, build
from lc_contracts.subjects import fqdn_claim_subject
from lc_eventstore import EventStore
from lc_testing import wait_until

from .test_events_and_replay import build_world, every_get

TABLES = [table.name for table in READ_MODELS]


@pytest.fixture
async def engine(settings: ApiSettings) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(settings.database_url)
    yield engine
    await engine.dispose()


async def _catalog(engine: AsyncEngine) -> dict[str, Any]:
    """Everything PostgreSQL knows of the read-model tables, by name (not by oid)."""
    queries = {
        "columns": """
            SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
                pg_get_expr(d.adbin, d.adrelid)
            FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
            LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
            WHERE c.relname = ANY(:tables) AND c.relnamespace = 'public'::regnamespace
              AND a.attnum > 0 AND NOT a.attisdropped""",
        "constraints": """
            SELECT c.relname, k.conname, pg_get_constraintdef(k.oid)
            FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid
            WHERE c.relname = ANY(:tables) AND c.relnamespace = 'public'::regnamespace""",
        "indexes": """
            SELECT tablename, indexname, indexdef FROM pg_indexes
            WHERE tablename = ANY(:tables) AND schemaname = 'public'""",
        "triggers": """
            SELECT c.relname, t.tgname, pg_get_triggerdef(t.oid)
            FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
            WHERE c.relname = ANY(:tables) AND NOT t.tgisinternal""",
        "grants": """
            SELECT table_name, grantee, privilege_type FROM information_schema.table_privileges
            WHERE table_name = ANY(:tables) AND table_schema = 'public'""",
        "owned sequences": """
            SELECT s.relname, c.relname, d.refobjsubid FROM pg_depend d
            JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S'
            JOIN pg_class c ON c.oid = d.refobjid
            WHERE c.relname = ANY(:tables) AND d.deptype = 'a'""",
        "schemas": "SELECT nspname FROM pg_namespace WHERE nspname = :shadow",
    }
    async with engine.connect() as conn:
        return {
            what: sorted(
                tuple(row)
                for row in await conn.execute(sa.text(sql), {"tables": TABLES, "shadow": SHADOW})
            )
            for what, sql in queries.items()
        }


async def test_a_replay_leaves_the_tables_as_they_were(
    settings: ApiSettings, client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    await build_world(client)
    async with engine.begin() as conn:  # what an operator may have added to a read model
        await conn.execute(
            sa.text(
                "CREATE FUNCTION count_services() RETURNS trigger LANGUAGE plpgsql"
                " AS $$ BEGIN RETURN NEW; END $$"
            )
        )
        await conn.execute(
            sa.text(
                "CREATE TRIGGER count_services AFTER INSERT ON services"
                " FOR EACH ROW EXECUTE FUNCTION count_services()"
            )
        )
        await conn.execute(sa.text("GRANT SELECT ON audit_events, services TO PUBLIC"))
    before, answers = await _catalog(engine), await every_get(client)
    assert all(before[what] for what in ("indexes", "owned sequences", "triggers", "grants"))
    await replay(settings)
    assert await _catalog(engine) == before
    assert await every_get(client) == answers
    # The audit log's serial still belongs to its column, and lcd goes on writing.
    created = await client.post("/api/v1/projects", json={"name": "After", "slug": "after"})
    assert created.status_code == 201, created.text
    await replay(settings)
    assert await _catalog(engine) == before


async def test_the_rebuilt_tables_come_with_their_statistics(
    settings: ApiSettings, client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    await build_world(client)
    await replay(settings)
    async with engine.connect() as conn:
        analyzed = await conn.execute(
            sa.text(
                "SELECT relname FROM pg_stat_user_tables"
                " WHERE relname = ANY(:tables) AND schemaname = 'public'"
                " AND coalesce(last_analyze, last_autoanalyze) IS NOT NULL"
            ),
            {"tables": TABLES},
        )
        assert sorted(row[0] for row in analyzed) == sorted(TABLES)
        audit_columns = await conn.scalar(
            sa.text("SELECT count(*) FROM pg_stats WHERE tablename = 'audit_events'")
        )
    assert audit_columns


async def test_a_replay_waits_for_a_reader_without_locking_it_out(
    settings: ApiSettings, client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    await build_world(client)
    answers = await every_get(client)
    async with engine.connect() as reader:
        # A reader in the middle of a transaction: the swap cannot take its tables yet.
        await reader.execute(sa.text("SELECT count(*) FROM services"))
        replaying = asyncio.create_task(replay(settings))
        # The swap tries, steps back, tries again; the reader keeps reading meanwhile.
        async with engine.connect() as watcher:

            async def swap_waiting() -> bool:
                waiting = await watcher.scalar(
                    sa.text("SELECT count(*) FROM pg_locks WHERE NOT granted AND mode = :mode"),
                    {"mode": "AccessExclusiveLock"},
                )
                await watcher.rollback()
                return bool(waiting)

            await wait_until(swap_waiting, timeout=30, what="the swap asking for the tables")
        for _ in range(3):
            started = time.monotonic()
            await reader.execute(sa.text("SELECT count(*) FROM audit_events"))
            assert time.monotonic() - started < 5
        assert not replaying.done()
        await reader.rollback()
        await asyncio.wait_for(replaying, 60)
    assert await every_get(client) == answers


async def test_a_replay_quarantines_an_event_the_read_models_cannot_hold(
    settings: ApiSettings, client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    await build_world(client)
    nc = await nats.connect(settings.nats_url)
    try:  # past lcd's validation, as from another writer
        # Only the audit log holds this event: its row is the one PostgreSQL refuses.
        subject = fqdn_claim_subject("bad.example.com")
        poison = build(
            FqdnReleased(fqdn="bad\x00.example.com", domain_id="d-1"),
            subject=subject,
            source="tests",
        )
        [seq] = await EventStore(nc.jetstream()).append(subject, [poison], 0)
    finally:
        await nc.drain()

    async def quarantined() -> list[Any]:
        page = await client.get(f"/api/v1/events/quarantine?after={seq - 1}")
        items: list[Any] = page.json()["items"]
        return items

    await wait_until(quarantined, timeout=10)
    answers = await every_get(client)
    await replay(settings)
    assert [item["seq"] for item in await quarantined()] == [seq]
    assert await every_get(client) == answers
