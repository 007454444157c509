"""lcd under a backlog (a burst appended by another writer, a restart after a long pause):
reads keep answering from the read models while the projector catches up, and a write
waits for its own sequence to be projected, up to the read-your-writes bound."""

from __future__ import annotations

import asyncio
import time

from nats.js import JetStreamContext
from sqlalchemy.ext.asyncio import create_async_engine

from lc_api.db.projection import PROJECTION_NAME
from lc_contracts.envelope import Envelope
from lc_contracts.events import ProjectCreated, ServiceApplied, build
from lc_contracts.specs import ServiceSpec
from lc_contracts.subjects import project_subject, service_subject
from lc_eventstore import EventStore, provision_streams
from lc_eventstore.projection import read_checkpoint
from lc_testing import wait_until

from .conftest import client_for, make_settings

BACKLOG = 10_000


def burst(events: int) -> list[Envelope]:
    out = [build(ProjectCreated(slug="p", name="P"), subject=project_subject("p"), source="t")]
    for i in range(events - 1):
        spec = ServiceSpec.model_validate(
            {"name": f"s{i % 20}", "tier": "cpu", "kind": {"container": {"image": f"app:{i}"}}}
        )
        applied = ServiceApplied(project_slug="p", revision=i // 20 + 1, spec=spec)
        out.append(build(applied, subject=service_subject("p", spec.name), source="t"))
    return out


async def test_under_a_backlog_reads_answer_and_a_write_waits_for_its_own_sequence(
    nats_url: str, database_url: str, jetstream: JetStreamContext
) -> None:
    await provision_streams(jetstream)
    store = EventStore(jetstream)
    events = burst(BACKLOG)
    for i in range(0, len(events), 5000):
        await store.append_pipelined(events[i : i + 5000])
    engine = create_async_engine(database_url)

    async def checkpoint() -> int:
        async with engine.connect() as conn:
            return await read_checkpoint(conn, PROJECTION_NAME)

    settings = make_settings(nats_url, database_url, read_your_writes_timeout_s=30.0)
    try:
        async with client_for(settings) as client:
            write = asyncio.create_task(
                client.post("/api/v1/projects", json={"name": "W", "slug": "w"})
            )
            # Reads answer at once, from what is projected so far, while the write waits.
            started = time.monotonic()
            listed = await client.get("/api/v1/projects")
            assert listed.status_code == 200
            assert time.monotonic() - started < 2.0
            assert await checkpoint() < BACKLOG
            assert not write.done()

            created = await write
            assert created.status_code == 201, created.text
            seq = int(created.headers["x-lc-seq"])
            assert seq > BACKLOG
            assert await checkpoint() >= seq
            assert (await client.get("/api/v1/projects/w")).json()["name"] == "W"

            async def caught_up() -> bool:
                page = await client.get("/api/v1/projects/p/services", params={"limit": 100})
                if page.status_code != 200:
                    return False
                revisions = {s["name"]: s["revision"] for s in page.json()["items"]}
                return len(revisions) == 20 and sum(revisions.values()) == BACKLOG - 1

            await wait_until(caught_up, timeout=10, what="every service's last revision")
    finally:
        await engine.dispose()
