"""Costs that should follow the platform's current state, not the length of its log.

Run: `uv run python bench/history.py [--events 20000]`.

Today it measures lcd's projector on a burst of `service.applied` events (one project,
50 services, their revisions), the shape a busy deployment pipeline writes:
- catch-up rate of lcd's read-model projection (`ReadModelProjection` under the
  `ProjectionRunner`: read, decode, apply in batches, checkpoint), from an empty database;
- as a ratio to reading and decoding the same events through the event store's reader
  (`EventStore.read` + `StoredMessage.event()`), measured in the same run.
Target: ≥ 5,000 events/s.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import tempfile
import time
from pathlib import Path

import nats
from sqlalchemy.ext.asyncio import create_async_engine

from lc_api.db.migrate import migrate
from lc_api.db.projection import ReadModelProjection
from lc_contracts.envelope import Envelope
from lc_contracts.events import ProjectCreated, ServiceApplied, build
from lc_contracts.specs import ServiceSpec
from lc_contracts.subjects import project_subject, service_subject
from lc_embedded import EmbeddedNats, EmbeddedPostgres
from lc_eventstore import EventStore, ProjectionRunner, provision_streams


def burst(events: int, services: int = 50) -> list[Envelope]:
    out = [build(ProjectCreated(slug="p", name="P"), subject=project_subject("p"), source="bench")]
    for i in range(events - 1):
        n = i % services
        spec = ServiceSpec.model_validate(
            {
                "name": f"svc-{n}",
                "tier": "cpu",
                "kind": {
                    "container": {"image": f"registry.example/app:{i}", "ports": [{"port": 8080}]}
                },
            }
        )
        payload = ServiceApplied(project_slug="p", revision=i // services + 1, spec=spec)
        out.append(build(payload, subject=service_subject("p", spec.name), source="bench"))
    return out


async def run(nats_url: str, database_url: str, n: int) -> None:
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    await provision_streams(js)
    store = EventStore(js)
    events = burst(n)
    for i in range(0, n, 5000):
        await store.append_pipelined(events[i : i + 5000])

    began = time.perf_counter()
    read = 0
    async for batch in store.read(1):
        read += len([m.event() for m in batch])
    reading = read / (time.perf_counter() - began)

    await asyncio.to_thread(migrate, database_url)
    engine = create_async_engine(database_url)
    runner = ProjectionRunner(engine, store, ReadModelProjection())
    began = time.perf_counter()
    assert await runner.catch_up() == n
    projecting = n / (time.perf_counter() - began)
    await engine.dispose()
    await nc.drain()
    print(f"burst of {n:,} service.applied events (50 services):")
    print(f"  reading + decoding through EventStore.read: {reading:,.0f} events/s")
    print(f"  lcd projector catch-up: {projecting:,.0f} events/s (target ≥ 5,000)")
    print(f"  ratio projector ÷ reading: {projecting / reading:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=20_000)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="lc-bench-history-"))
    nats_server = EmbeddedNats(root / "nats", sync_always=False).start()
    pg = EmbeddedPostgres(root / "pg", durable=False).start()
    try:
        pg.create_database("lcd")
        asyncio.run(run(nats_server.url, pg.url("lcd"), args.events))
    finally:
        pg.stop()
        nats_server.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
