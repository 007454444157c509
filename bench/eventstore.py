"""Event-store throughput, measured in one run against embedded servers.

1. Appends to JetStream awaiting each ack vs pipelined (acks collected later), under the
   default fsync policy and under `sync_interval: always`.
2. Projection rebuild (read from the stream, decode, apply in batches, checkpoint) vs a
   raw COPY of the same rows into the same table.

usage: uv run python bench/eventstore.py [--events N]
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import nats
import psycopg
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

from lc_contracts.envelope import Envelope
from lc_contracts.events import ProjectCreated, build
from lc_contracts.subjects import project_subject
from lc_eventstore import EventStore, ProjectionRunner, StoredEvent, provision_streams
from lc_eventstore.projection import metadata as checkpoint_metadata
from lc_local.embedded import EmbeddedNats, EmbeddedPostgres

metadata = sa.MetaData()
projects = sa.Table(
    "bench_projects",
    metadata,
    sa.Column("slug", sa.Text, primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("seq", sa.BigInteger, nullable=False),
)


class BenchProjection:
    """A realistic read model: one row per project, inserted batch-wise."""

    name = "bench_projects"

    async def apply(self, conn: AsyncConnection, events: Sequence[StoredEvent]) -> None:
        rows = [
            {"slug": e.payload.slug, "name": e.payload.name, "seq": e.seq}
            for e in events
            if isinstance(e.payload, ProjectCreated)
        ]
        if rows:
            await conn.execute(projects.insert(), rows)

    async def reset(self, conn: AsyncConnection) -> None:
        await conn.execute(projects.delete())


def _events(n: int, prefix: str) -> list[Envelope]:
    return [
        build(ProjectCreated(slug=f"{prefix}{i}", name=f"Project {i}"), subject=project_subject(f"{prefix}{i}"), source="bench")
        for i in range(n)
    ]


async def _append_rates(sync_always: bool, n: int) -> tuple[float, float]:
    root = Path(tempfile.mkdtemp(prefix="lc-bench-nats-"))
    server = EmbeddedNats(root, sync_always=sync_always).start()
    try:
        client = await nats.connect(server.url)
        js = client.jetstream()
        await provision_streams(js)
        store = EventStore(js)
        events = _events(n, "s")
        began = time.perf_counter()
        for event in events:
            await store.append(event.subject, [event], 0)
        sequential = n / (time.perf_counter() - began)

        events = _events(n, "p")
        began = time.perf_counter()
        seqs = await store.append_pipelined(events)
        pipelined = n / (time.perf_counter() - began)
        assert len(set(seqs)) == n
        await client.close()
        return sequential, pipelined
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


async def _rebuild_vs_copy(n: int) -> tuple[float, float, float]:
    root = Path(tempfile.mkdtemp(prefix="lc-bench-"))
    nats_server = EmbeddedNats(root / "nats", sync_always=False).start()
    pg = EmbeddedPostgres(root / "pg", durable=False).start()
    try:
        pg.create_database("bench")
        client = await nats.connect(nats_server.url)
        js = client.jetstream()
        await provision_streams(js)
        await EventStore(js).append_pipelined(_events(n, "r"))

        began = time.perf_counter()
        count = 0
        async for batch in EventStore(js).read(1):
            count += len(batch)
        read_rate = count / (time.perf_counter() - began)

        engine = create_async_engine(pg.url("bench"))
        async with engine.begin() as conn:
            await conn.run_sync(metadata.create_all)
            await conn.run_sync(checkpoint_metadata.create_all)
        runner = ProjectionRunner(engine, EventStore(js), BenchProjection())
        began = time.perf_counter()
        assert await runner.rebuild() == n
        rebuild = n / (time.perf_counter() - began)
        await engine.dispose()
        await client.close()

        rows = [(f"r{i}", f"Project {i}", i + 1) for i in range(n)]
        with psycopg.connect(pg.dsn("bench"), autocommit=True) as conn:
            conn.execute("TRUNCATE bench_projects")
            began = time.perf_counter()
            with conn.cursor().copy("COPY bench_projects (slug, name, seq) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            copy_rate = n / (time.perf_counter() - began)
            assert conn.execute("SELECT count(*) FROM bench_projects").fetchone() == (n,)
        return rebuild, copy_rate, read_rate
    finally:
        nats_server.stop()
        pg.stop()
        shutil.rmtree(root, ignore_errors=True)


async def main(n: int) -> None:
    print(f"eventstore benchmark, {n} events per row")
    for label, sync_always in (("default fsync", False), ("sync_interval: always", True)):
        sequential, pipelined = await _append_rates(sync_always, n)
        print(
            f"append [{label}]: awaiting each ack {sequential:,.0f}/s, pipelined {pipelined:,.0f}/s, "
            f"ratio {pipelined / sequential:.1f}x"
        )
    rebuild, copy_rate, read_rate = await _rebuild_vs_copy(n * 4)
    print(
        f"projection rebuild {rebuild:,.0f} events/s vs raw COPY {copy_rate:,.0f} rows/s, "
        f"ratio {rebuild / copy_rate:.2f}"
    )
    print(
        f"projection rebuild vs reading the same events off the stream ({read_rate:,.0f}/s): "
        f"ratio {rebuild / read_rate:.2f}"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=5000)
    asyncio.run(main(parser.parse_args().events))
