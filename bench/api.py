"""lcd benchmark: command → visible-in-projection latency, and creates/s vs raw appends/s.

Run: `uv run python bench/api.py [--sequential 300] [--creates 2000] [--concurrency 32]`.

Starts nats-server (JetStream, `sync_interval: always` like the embedded default) and
PostgreSQL from their wheels, runs `lcd` as its own process on a loopback port, and prints
from one run:
- command → visible latency p50/p99: a sequential `POST /api/v1/projects`, whose 201 is
  only sent once the projection holds the project (read-your-writes), timed end to end
  over HTTP; a `GET` right after confirms visibility;
- creates/s over HTTP at the given concurrency, and raw `EventStore.append`s/s of the
  same events (expected sequence 0, `Nats-Msg-Id`) at the same concurrency against the
  same server, and their ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import nats

from lc_contracts.events import ProjectCreated, build
from lc_contracts.subjects import project_subject
from lc_embedded import EmbeddedNats, EmbeddedPostgres, free_port
from lc_eventstore import EventStore, provision_streams


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def start_lcd(
    nats_url: str, database_url: str, log: Path, ready_within_s: float = 60
) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("LC_")},
        "LC_NATS_URL": nats_url,
        "LC_DATABASE_URL": database_url,
        "LC_BIND_PORT": str(port),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "lc_api.main", "--log-level", "warning"],
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + ready_within_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"lcd exited; see {log}")
        try:
            if httpx.get(f"{url}/api/readyz", timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    proc.terminate()
    proc.wait(15)
    raise SystemExit("lcd did not become ready")


async def bounded(concurrency: int, jobs: list[int], run: object) -> float:
    queue: asyncio.Queue[int] = asyncio.Queue()
    for job in jobs:
        queue.put_nowait(job)

    async def worker() -> None:
        while not queue.empty():
            await run(queue.get_nowait())  # type: ignore[operator]

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - started


async def measure(url: str, nats_url: str, sequential: int, creates: int, concurrency: int) -> None:
    async with httpx.AsyncClient(
        base_url=url, timeout=30, limits=httpx.Limits(max_connections=concurrency)
    ) as client:
        for i in range(20):  # warm up connections, pools and caches
            await client.post("/api/v1/projects", json={"name": "w", "slug": f"warm{i}"})

        latencies = []
        for i in range(sequential):
            started = time.perf_counter()
            answer = await client.post("/api/v1/projects", json={"name": "S", "slug": f"seq{i}"})
            latencies.append((time.perf_counter() - started) * 1000)
            assert answer.status_code == 201, answer.text
            assert (await client.get(f"/api/v1/projects/seq{i}")).status_code == 200

        codes: dict[int, int] = {}

        async def create(i: int) -> None:
            answer = await client.post("/api/v1/projects", json={"name": "C", "slug": f"c{i}"})
            codes[answer.status_code] = codes.get(answer.status_code, 0) + 1

        http_s = await bounded(concurrency, list(range(creates)), create)

    nc = await nats.connect(nats_url)
    store = EventStore(nc.jetstream())

    async def append(i: int) -> None:
        subject = project_subject(f"raw{i}")
        await store.append(
            subject,
            [build(ProjectCreated(slug=f"raw{i}", name="R"), subject=subject, source="bench")],
            0,
        )

    append_s = await bounded(concurrency, list(range(creates)), append)
    await nc.drain()

    creates_per_s = creates / http_s
    appends_per_s = creates / append_s
    print(f"command → visible in projection (sequential POST /api/v1/projects, n={sequential}):")
    print(
        f"  p50 {statistics.median(latencies):.1f} ms   p99 {percentile(latencies, 0.99):.1f} ms   (target p99 ≤ 50 ms)"
    )
    print(
        f"creates over HTTP, concurrency {concurrency}, n={creates}: {creates_per_s:,.0f}/s  answers {codes}"
    )
    print(f"raw EventStore.append, concurrency {concurrency}, n={creates}: {appends_per_s:,.0f}/s")
    print(f"creates/s ÷ raw appends/s: {creates_per_s / appends_per_s:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sequential", type=int, default=300)
    parser.add_argument("--creates", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument(
        "--no-fsync", action="store_true", help="nats-server without sync_interval: always"
    )
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="lc-bench-api-"))
    nats_server = EmbeddedNats(root / "nats", sync_always=not args.no_fsync).start()
    pg = EmbeddedPostgres(root / "pg", durable=False).start()
    proc = None
    try:
        pg.create_database("lcd")

        async def provision() -> None:
            nc = await nats.connect(nats_server.url)
            await provision_streams(nc.jetstream())
            await nc.drain()

        asyncio.run(provision())
        proc, url = start_lcd(nats_server.url, pg.url("lcd"), root / "lcd.log")
        asyncio.run(measure(url, nats_server.url, args.sequential, args.creates, args.concurrency))
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(15)
        pg.stop()
        nats_server.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
