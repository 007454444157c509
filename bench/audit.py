"""Audit benchmark: a project's state at a moment, and a diff between two moments, folded
from the log, against reading the same project's current state from the read models.

Run: `uv run python bench/audit.py [--services 1000] [--events 100000] [--queries 40]
[--rebuild-only]`.

Starts nats-server and PostgreSQL from their wheels, writes one project with `--services`
services and `--events` events in all (the services' later revisions) straight to
LC_EVENTS, runs `lcd` as its own process and waits until its projections hold the whole
log, then prints from one run:
- state at a moment (`GET /api/v1/projects/big/state?at=<seq>`, moments spread over the
  log) p50/p99, and as a ratio to `GET /api/v1/projects/big/services?limit=1000` (the
  current state, from the read models) measured alongside (target p50 ≤ 200 ms);
- one service's state at the same moments (`GET /api/v1/projects/big/services/<name>/state`),
  p50/p99, as a ratio to the project's;
- a diff over a 10,000-event window (`GET /api/v1/audit/diff`), p50;
- then, lcd stopped, a rebuild of its read models from the log (`ProjectionRunner.rebuild`
  of `ReadModelRebuild` with the garbage collector off, what `lc replay` runs) against reading and decoding the same events through the event
  store's reader (`EventStore.read` + `StoredMessage.event()`), in events/s (target ≥ 0.8).
  With `--rebuild-only`, only this last figure, without lcd: an untimed rebuild fills the
  read models first, so the measured one replaces rows as after lcd.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import httpx
import nats
from api import percentile, start_lcd
from sqlalchemy.ext.asyncio import create_async_engine

from lc_api.cli_commands import REPLAY_BATCH
from lc_api.db.migrate import migrate
from lc_api.db.rebuild import ReadModelRebuild, without_collections
from lc_contracts.envelope import Envelope
from lc_contracts.events import ProjectCreated, ServiceApplied, build
from lc_contracts.specs import ServiceSpec
from lc_contracts.subjects import project_subject, service_subject
from lc_embedded import EmbeddedNats, EmbeddedPostgres
from lc_eventstore import EventStore, ProjectionRunner, provision_streams

SLUG = "big"


def history(services: int, events: int) -> list[Envelope]:
    out = [
        build(ProjectCreated(slug=SLUG, name="Big"), subject=project_subject(SLUG), source="bench")
    ]
    revisions = [0] * services
    for i in range(events - 1):
        n = i % services
        revisions[n] += 1
        spec = ServiceSpec.model_validate(
            {
                "name": f"svc-{n}",
                "tier": "cpu",
                "kind": {
                    "container": {
                        "image": f"registry.example/app:{revisions[n]}",
                        "replicas": 1 + i % 3,
                        "ports": [{"port": 8080, "name": "http"}],
                    }
                },
            }
        )
        payload = ServiceApplied(project_slug=SLUG, revision=revisions[n], spec=spec)
        out.append(
            build(payload, subject=service_subject(SLUG, spec.name), source="bench", actor="admin")
        )
    return out


async def timed(
    client: httpx.AsyncClient, path: str, params: dict[str, str] | None = None
) -> float:
    started = time.perf_counter()
    answer = await client.get(path, params=params)
    elapsed = (time.perf_counter() - started) * 1000
    assert answer.status_code == 200, answer.text[:300]
    return elapsed


async def measure(url: str, total: int, queries: int, services: int) -> None:
    async with httpx.AsyncClient(base_url=url, timeout=120) as client:
        deadline = time.monotonic() + 600
        while True:  # the projections hold the whole log
            items = (await client.get("/api/v1/events", params={"after": total - 1})).json()[
                "items"
            ]
            if items:
                break
            if time.monotonic() > deadline:
                raise SystemExit("lcd's projections did not catch up")
            await asyncio.sleep(0.5)
        rng = random.Random(7)
        state_ms, current_ms, service_ms = [], [], []
        for _ in range(queries):
            at = rng.randint(total // 10, total)
            state_ms.append(await timed(client, f"/api/v1/projects/{SLUG}/state", {"at": str(at)}))
            service = f"/api/v1/projects/{SLUG}/services/svc-{rng.randrange(services)}/state"
            service_ms.append(await timed(client, service, {"at": str(at)}))
            current_ms.append(
                await timed(client, f"/api/v1/projects/{SLUG}/services", {"limit": "1000"})
            )
        diff_ms = []
        for _ in range(max(3, queries // 5)):
            start = rng.randint(1, total - 10_000)
            diff_ms.append(
                await timed(
                    client, "/api/v1/audit/diff", {"from": str(start), "to": str(start + 10_000)}
                )
            )
    p50, p99 = statistics.median(state_ms), percentile(state_ms, 0.99)
    base = statistics.median(current_ms)
    print(
        f"state at a moment ({queries} moments over {total:,} events): p50 {p50:.0f} ms, p99 {p99:.0f} ms (target p50 ≤ 200 ms)"
    )
    print(
        f"current state from the read models: p50 {base:.0f} ms; ratio state-at-T ÷ current {p50 / base:.1f}"
    )
    one, one_p99 = statistics.median(service_ms), percentile(service_ms, 0.99)
    print(
        f"one service's state at the same moments: p50 {one:.1f} ms, p99 {one_p99:.1f} ms; ratio to the project's {one / p50:.2f}"
    )
    print(f"diff over a 10,000-event window: p50 {statistics.median(diff_ms):.0f} ms")


async def rebuild(nats_url: str, database_url: str, *, fill: bool = False) -> None:
    """Measure reading, then a rebuild; with `fill`, rebuild once untimed first, so the
    measured one replaces rows as it does after lcd (and `lc replay`) projected them."""
    nc = await nats.connect(nats_url)
    store = EventStore(nc.jetstream())
    engine = create_async_engine(database_url)
    try:
        if fill:
            await ProjectionRunner(engine, store, ReadModelRebuild()).rebuild(
                batch_size=REPLAY_BATCH
            )
        began = time.perf_counter()
        read = 0
        async for batch in store.read(1):
            read += len([m.event() for m in batch])
        reading = read / (time.perf_counter() - began)
        began = time.perf_counter()
        runner = ProjectionRunner(engine, store, ReadModelRebuild())
        with without_collections():  # as `lc replay` does
            rebuilt = await runner.rebuild(batch_size=REPLAY_BATCH)
        rebuilding = rebuilt / (time.perf_counter() - began)
    finally:
        await engine.dispose()
        await nc.drain()
    print(f"reading + decoding {read:,} events through EventStore.read: {reading:,.0f} events/s")
    print(
        f"rebuild of lcd's read models: {rebuilding:,.0f} events/s; "
        f"ratio rebuild ÷ reading {rebuilding / reading:.2f} (target ≥ 0.8)"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--services", type=int, default=1000)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=40)
    parser.add_argument(
        "--rebuild-only",
        action="store_true",
        help="skip lcd and its queries: migrate, then measure the rebuild against reading",
    )
    args = parser.parse_args()
    print(f"load average at the start: {_load()}")
    root = Path(tempfile.mkdtemp(prefix="lc-bench-audit-"))
    nats_server = EmbeddedNats(root / "nats", sync_always=False).start()  # reads are measured
    pg = EmbeddedPostgres(root / "pg", durable=False).start()
    proc = None
    try:
        pg.create_database("lcd")

        async def seed() -> None:
            nc = await nats.connect(nats_server.url)
            await provision_streams(nc.jetstream())
            store = EventStore(nc.jetstream())
            events = history(args.services, args.events)
            for i in range(0, len(events), 5000):
                await store.append_pipelined(events[i : i + 5000])
            await nc.drain()

        started = time.perf_counter()
        asyncio.run(seed())
        print(f"seeded {args.events:,} events in {time.perf_counter() - started:.1f} s")
        if args.rebuild_only:
            migrate(pg.url("lcd"))
            asyncio.run(rebuild(nats_server.url, pg.url("lcd"), fill=True))
            return
        started = time.perf_counter()
        try:
            proc, url = start_lcd(
                nats_server.url, pg.url("lcd"), root / "lcd.log", ready_within_s=900
            )
        except SystemExit:
            print((root / "lcd.log").read_text()[-3000:])
            raise
        print(f"lcd ready (projections caught up) after {time.perf_counter() - started:.1f} s")
        asyncio.run(measure(url, args.events, args.queries, args.services))
        proc.terminate()
        proc.wait(15)
        proc = None
        asyncio.run(rebuild(nats_server.url, pg.url("lcd")))
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(15)
        pg.stop()
        nats_server.stop()
        shutil.rmtree(root, ignore_errors=True)
        print(f"load average at the end: {_load()}")


def _load() -> str:
    """The machine's load average (1, 5, 15 min): the figures follow it on a shared machine."""
    return " ".join(f"{value:.1f}" for value in os.getloadavg())


if __name__ == "__main__":
    main()
