"""lcd's read models survive a poison event in the stream and a replay that fails midway."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import nats
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from lc_api.cli_commands import ReplayFailed, replay
from lc_api.settings import ApiSettings
from lc_contracts.events import ProjectCreated, build
from lc_contracts.subjects import project_subject
from lc_eventstore import EventStore

from .conftest import DOCS_PROJECT
from .test_events_and_replay import build_world, every_get


@pytest.fixture
async def engine(settings: ApiSettings) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(settings.database_url)
    yield engine
    await engine.dispose()


async def test_a_poison_event_is_quarantined_and_lcd_keeps_projecting(
    settings: ApiSettings, client: httpx.AsyncClient
) -> None:
    assert (await client.post("/api/v1/projects", json=DOCS_PROJECT)).status_code == 201
    # Straight into the stream, past lcd's validation (another writer, an old version).
    nc = await nats.connect(settings.nats_url)
    try:
        poison = build(
            ProjectCreated(slug="bad", name="Bad\x00Name"),
            subject=project_subject("bad"),
            source="tests",
        )
        [seq] = await EventStore(nc.jetstream()).append(project_subject("bad"), [poison], 0)
    finally:
        await nc.drain()
    # Later writes are projected again: 201, not 202 forever.
    created = await client.post("/api/v1/projects", json={"name": "After", "slug": "after"})
    assert created.status_code == 201, created.text
    slugs = [p["slug"] for p in (await client.get("/api/v1/projects")).json()["items"]]
    assert sorted(slugs) == ["after", "default"]

    page = (await client.get("/api/v1/events/quarantine")).json()
    assert [(q["seq"], q["subject"], q["type"]) for q in page["items"]] == [
        (seq, project_subject("bad"), "project.created")
    ]
    assert "NUL" in page["items"][0]["error"]
    assert page["items"][0]["quarantinedAt"]
    assert (await client.get(f"/api/v1/events/quarantine?after={seq}")).json()["items"] == []
    metrics = (await client.get("/api/metrics")).text
    assert "lcd_projection_quarantined 1.0" in metrics


async def test_a_replay_that_fails_midway_leaves_the_old_read_models_answering(
    settings: ApiSettings, client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    await build_world(client)
    before = await every_get(client)
    seqs = [e["seq"] for e in (await client.get("/api/v1/events?limit=1000")).json()["items"]]
    midway = seqs[len(seqs) // 2]
    # The database cancels the replay's statement when it reaches the middle of the log.
    async with engine.begin() as conn:
        await conn.execute(
            sa.text(
                "CREATE FUNCTION fail_midway() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
                f" IF NEW.seq = {midway} THEN RAISE EXCEPTION 'canceled midway'"
                " USING ERRCODE = 'query_canceled'; END IF; RETURN NEW; END $$"
            )
        )
        await conn.execute(
            sa.text(
                "CREATE TRIGGER fail_midway BEFORE INSERT ON audit_events"
                " FOR EACH ROW EXECUTE FUNCTION fail_midway()"
            )
        )
    with pytest.raises(ReplayFailed, match=r"canceled midway.*unchanged, run replay again"):
        await replay(settings)
    assert await every_get(client) == before
    async with engine.begin() as conn:
        await conn.execute(sa.text("DROP TRIGGER fail_midway ON audit_events"))
    # lcd took its projector back and goes on projecting.
    created = await client.post("/api/v1/projects", json={"name": "Later", "slug": "later"})
    assert created.status_code == 201, created.text
