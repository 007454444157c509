"""Cluster simulator benchmark: list latency, watch event latency, upstream throughput.

Run: `uv run python bench/clustersim.py [--objects 10000] [--events 300] [--seconds 5]`.

Prints, from one run on this machine:
- the time to list 10,000 objects over HTTP (median of several lists, ms);
- watch event latency p50/p99 (a write over HTTP until the watcher reads the event),
  also as a ratio to a plain loopback HTTP round trip measured in the same run;
- simulated upstream requests/s at concurrency 64 (non-streaming chat completions),
  with the server in its own process so the load generator does not share its core.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import statistics
import time
from typing import Any

import aiohttp
from aiohttp import web

from lc_clustersim.kubeapi.http_server import KubeApiServer
from lc_clustersim.kubeapi.store import ObjectStore
from lc_clustersim.upstream import SimulatedUpstream


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def plain_round_trips(session: aiohttp.ClientSession, count: int) -> list[float]:
    async def ok(request: web.Request) -> web.Response:
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_get("/", ok)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    samples = []
    try:
        for _ in range(count):
            started = time.perf_counter()
            async with session.get(f"http://127.0.0.1:{port}/") as response:
                await response.read()
            samples.append(time.perf_counter() - started)
    finally:
        await runner.cleanup()
    return samples[10:]


async def bench_kube(objects: int, events: int) -> None:
    store = ObjectStore(window=max(10_000, objects + events + 100))
    server = KubeApiServer(store)
    await server.start()
    configmaps = store.type_for(("", "configmaps"))
    for index in range(objects):
        store.create(
            configmaps,
            "default",
            {
                "metadata": {"name": f"cm-{index:05d}", "labels": {"bench": "yes"}},
                "data": {"k": "v" * 32},
            },
            manager="bench",
        )
    async with aiohttp.ClientSession() as session:
        list_ms = []
        for _ in range(7):
            started = time.perf_counter()
            async with session.get(
                f"{server.url}/api/v1/namespaces/default/configmaps"
            ) as response:
                body = await response.read()
            list_ms.append((time.perf_counter() - started) * 1000)
        count = len(json.loads(body)["items"])
        print(
            f"list {count} objects: median {statistics.median(list_ms):.1f} ms "
            f"(min {min(list_ms):.1f}, max {max(list_ms):.1f}, {len(body) / 1e6:.1f} MB)"
        )

        store.create(
            store.type_for(("", "namespaces")),
            None,
            {"metadata": {"name": "watched"}},
            manager="bench",
        )
        rv = str(store.resource_version)
        watch = await session.get(
            f"{server.url}/api/v1/namespaces/watched/configmaps",
            params={"watch": "true", "resourceVersion": rv},
            timeout=aiohttp.ClientTimeout(total=None),
        )
        latencies = []
        for index in range(events):
            started = time.perf_counter()
            async with session.post(
                f"{server.url}/api/v1/namespaces/watched/configmaps",
                json={"metadata": {"name": f"w-{index}"}},
            ) as response:
                await response.read()
            line = await watch.content.readline()
            latencies.append(time.perf_counter() - started)
            assert json.loads(line)["object"]["metadata"]["name"] == f"w-{index}"
        watch.close()
        plain = await plain_round_trips(session, events + 10)
    await server.stop()
    p50, p99 = percentile(latencies, 0.5), percentile(latencies, 0.99)
    plain50, plain99 = percentile(plain, 0.5), percentile(plain, 0.99)
    print(f"plain loopback HTTP round trip: p50 {plain50 * 1e3:.3f} ms, p99 {plain99 * 1e3:.3f} ms")
    print(
        f"watch event latency (create over HTTP -> event read): p50 {p50 * 1e3:.3f} ms "
        f"({p50 / plain50:.1f}x plain), p99 {p99 * 1e3:.3f} ms ({p99 / plain99:.1f}x plain)"
    )


def _serve_upstream(port_queue: Any, stop_event: Any) -> None:
    async def main() -> None:
        upstream = SimulatedUpstream(models=["bench"])
        await upstream.start()
        port_queue.put(upstream.port)
        await asyncio.to_thread(stop_event.wait)
        await upstream.stop()

    asyncio.run(main())


async def bench_upstream(seconds: float, concurrency: int = 64) -> None:
    context = multiprocessing.get_context("spawn")
    port_queue = context.Queue()
    stop_event = context.Event()
    process = context.Process(target=_serve_upstream, args=(port_queue, stop_event), daemon=True)
    process.start()
    port = await asyncio.to_thread(port_queue.get, True, 30)
    url = f"http://127.0.0.1:{port}/v1/chat/completions"
    body = {"model": "bench", "messages": [{"role": "user", "content": "hello"}], "max_tokens": 16}
    done = 0
    errors = 0
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def worker(deadline: float) -> None:
            nonlocal done, errors
            while time.perf_counter() < deadline:
                async with session.post(url, json=body) as response:
                    await response.read()
                    if response.status == 200:
                        done += 1
                    else:
                        errors += 1

        warm = time.perf_counter() + 0.5
        await asyncio.gather(*(worker(warm) for _ in range(concurrency)))
        done = errors = 0
        started = time.perf_counter()
        await asyncio.gather(*(worker(started + seconds) for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    stop_event.set()
    await asyncio.to_thread(process.join, 10)
    print(
        f"simulated upstream, concurrency {concurrency}: {done / elapsed:.0f} requests/s "
        f"({done} ok, {errors} errors in {elapsed:.1f} s; server in its own process)"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--objects", type=int, default=10_000)
    parser.add_argument("--events", type=int, default=300)
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    await bench_kube(args.objects, args.events)
    await bench_upstream(args.seconds)


if __name__ == "__main__":
    asyncio.run(main())
