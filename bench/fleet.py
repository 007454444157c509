"""Fleet benchmark: 10,000 GPUs on 1,250 nodes, from the simulator to lcd's fleet routes.

Run: `uv run python bench/fleet.py [--nodes 1250] [--per-node 8] [--requests 60]
[--rate 100] [--seconds 10]`.

Set-up, on this machine: nats-server with JetStream (embedded), the cluster simulator in
its own process, the fleet aggregator in its own process (as `lc-fleet` runs), and in this
process lcd's fleet routes (`lc_api.api.routes.fleet`) served by uvicorn on loopback, fed
from LC_STATUS, plus the clients that measure them.

Prints, each beside a baseline measured in the same run:
1. time to converge after start: from the aggregator's start (its imports done) until the
   API's view holds every GPU; baseline: one paged list of the GPUs over HTTP plus
   publishing as many snapshot-sized messages to JetStream with the same concurrency (the
   floor for "read everything, write everything");
2. `GET /api/v1/fleet` latency p50/p99 for the full view over HTTP; baseline: the same
   server answering the same bytes prepared in advance; plus the in-process cost of
   `FleetView.view_json` against serialising every snapshot with pydantic and summing;
3. update-to-visible latency p50/p99 at a steady rate of GPU status writes (PATCH of the
   status subresource over HTTP, as the engine writes it): from the write until the API's
   view shows it; baseline: until a plain watch in this process receives the same change.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import random
import shutil
import statistics
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from multiprocessing.synchronize import Event as ProcessEvent
from pathlib import Path
from typing import Any

import httpx
import nats
import uvicorn
from fastapi import APIRouter, FastAPI
from fastapi.responses import Response
from kubernetes_asyncio.client import CustomObjectsApi
from nats.js import JetStreamContext

from lc_api.api.routes import fleet as fleet_routes
from lc_api.runtime.fleet_feed import FleetFeed
from lc_api.runtime.fleet_view import FleetView
from lc_clustersim.sim import ClusterSim, SimConfig
from lc_contracts.engine import ENGINE_GROUP, ENGINE_VERSION, GPU_PLURAL, GpuHealth
from lc_contracts.fleet import FleetSummary, GpuSnapshot
from lc_embedded import EmbeddedNats, free_port
from lc_eventstore import provision_streams
from lc_fleet.kube_client import open_api_client
from lc_fleet.settings import FleetSettings


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def poll_until(done: Callable[[], bool], interval: float, within: float = 600.0) -> None:
    """Poll a condition (a benchmark timing its own waits, not a test)."""
    deadline = time.perf_counter() + within
    while True:
        if done() or time.perf_counter() > deadline:
            return
        await asyncio.sleep(interval)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:8.1f} ms"


# -- the simulator, in its own process -------------------------------------------------------


def _simulator(gpus: str, data_dir: str, ready: Any, stop: ProcessEvent) -> None:
    async def main() -> None:
        config = SimConfig(gpus=gpus, data_dir=Path(data_dir), watch_window=200_000)
        async with ClusterSim(config) as sim:
            ready.put(str(sim.kubeconfig_path))
            await asyncio.get_running_loop().run_in_executor(None, stop.wait)

    asyncio.run(main())


@contextlib.contextmanager
def simulator(gpus: str, data_dir: Path) -> Any:
    context = multiprocessing.get_context("spawn")
    ready = context.Queue()
    stop = context.Event()
    process = context.Process(target=_simulator, args=(gpus, str(data_dir), ready, stop))
    process.start()
    try:
        yield Path(ready.get(timeout=300))
    finally:
        stop.set()
        process.join(30)
        if process.is_alive():
            process.terminate()


def _aggregator(nats_url: str, kubeconfig: str, started: Any) -> None:
    from lc_fleet import run as run_fleet

    settings = FleetSettings(nats_url=nats_url, kubeconfig=Path(kubeconfig))
    started.put(time.time())  # imports done: the aggregator itself starts now
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run_fleet(settings))


@contextlib.contextmanager
def aggregator_process(nats_url: str, kubeconfig: Path) -> Any:
    """`lc-fleet` as deployed: its own process. Yields the wall-clock time it started."""
    context = multiprocessing.get_context("spawn")
    started = context.Queue()
    process = context.Process(target=_aggregator, args=(nats_url, str(kubeconfig), started))
    process.start()
    try:
        yield started.get(timeout=120)
    finally:
        process.terminate()
        process.join(30)


# -- lcd's fleet routes on loopback -----------------------------------------------------------


@contextlib.asynccontextmanager
async def fleet_api(
    js: JetStreamContext, static: Callable[[], bytes]
) -> AsyncIterator[tuple[str, FleetFeed]]:
    # lcd's fleet routes over a feed of their own, without the rest of lcd's runtime.
    feed = FleetFeed()
    app = FastAPI()
    app.dependency_overrides[fleet_routes.fleet_feed] = lambda: feed
    v1 = APIRouter(prefix="/api/v1")
    v1.include_router(fleet_routes.router)
    app.include_router(v1)

    @app.get("/baseline")
    async def baseline() -> Response:
        return Response(static(), media_type="application/json")

    feed_task = asyncio.create_task(feed.follow(js))
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
    )
    serving = asyncio.create_task(server.serve())
    await poll_until(lambda: bool(server.started), 0.01)
    try:
        yield f"http://127.0.0.1:{port}", feed
    finally:
        server.should_exit = True
        await serving
        feed_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await feed_task


# -- 1. convergence ----------------------------------------------------------------------------


async def baseline_read_write(
    api: CustomObjectsApi, js: JetStreamContext, concurrency: int
) -> tuple[float, int]:
    started = time.perf_counter()
    items: list[dict[str, Any]] = []
    token = None
    while True:
        kwargs: dict[str, Any] = {"limit": 500}
        if token:
            kwargs["_continue"] = token
        page = await api.list_cluster_custom_object(
            ENGINE_GROUP, ENGINE_VERSION, GPU_PLURAL, **kwargs
        )
        items.extend(page["items"])
        token = page["metadata"].get("continue")
        if not token:
            break
    body = json.dumps({**items[0]["spec"], **items[0]["status"], "observedAt": "x" * 32}).encode()
    limit = asyncio.Semaphore(concurrency)

    async def publish(i: int) -> None:
        async with limit:
            await js.publish(f"lc.status.bench.{i}", body, stream="LC_STATUS")

    await asyncio.gather(*(publish(i) for i in range(len(items))))
    return time.perf_counter() - started, len(items)


# -- 2. full view ------------------------------------------------------------------------------


async def get_latencies(
    http: httpx.AsyncClient, paths: tuple[str, str], count: int
) -> tuple[list[float], list[float], int]:
    """GET both paths in alternation (so neither gets the quieter moments); drops warm-ups."""
    samples: tuple[list[float], list[float]] = ([], [])
    size = 0
    for round_ in range(count + 3):
        for index, path in enumerate(paths):
            started = time.perf_counter()
            response = await http.get(path)
            body = response.content
            elapsed = time.perf_counter() - started
            assert response.status_code == 200, response.text[:200]
            if round_ >= 3:
                samples[index].append(elapsed)
            if index == 0:
                size = len(body)
    return samples[0], samples[1], size


def naive_view(gpus: list[GpuSnapshot]) -> bytes:
    ordered = sorted(gpus, key=lambda g: (g.node, g.index))
    summary = FleetSummary(
        total=len(ordered),
        healthy=sum(g.health is GpuHealth.HEALTHY for g in ordered),
        degraded=sum(g.health is GpuHealth.DEGRADED for g in ordered),
        unhealthy=sum(g.health is GpuHealth.UNHEALTHY for g in ordered),
        memory_total_mib=sum(g.memory_total_mib for g in ordered),
        memory_available_mib=sum(g.memory_available_mib for g in ordered),
    )
    return json.dumps(
        {
            "gpus": [g.model_dump(mode="json", by_alias=True) for g in ordered],
            "summary": summary.model_dump(mode="json", by_alias=True),
        }
    ).encode()


def in_process(view: FleetView, count: int) -> tuple[list[float], list[float]]:
    """`view_json` right after a change (no cached document), against the naive way."""
    fast, naive = [], []
    for round_ in range(count):
        gpu = view.gpus()[round_ % len(view)]
        view.apply(gpu.model_copy(update={"utilization": gpu.utilization + 1}))
        started = time.perf_counter()
        view.view_json()
        fast.append(time.perf_counter() - started)
        gpus = view.gpus()
        started = time.perf_counter()
        naive_view(gpus)
        naive.append(time.perf_counter() - started)
    return fast, naive


# -- 3. update to visible ----------------------------------------------------------------------


async def raw_watch(
    api: CustomObjectsApi, version: str, seen: dict[tuple[str, str], float]
) -> None:
    response = await api.list_cluster_custom_object(
        ENGINE_GROUP,
        ENGINE_VERSION,
        GPU_PLURAL,
        watch=True,
        resource_version=version,
        timeout_seconds=600,
        _preload_content=False,
    )
    try:
        async for line in response.content:
            event = json.loads(line)
            obj = event["object"]
            health = str((obj.get("status") or {}).get("health"))
            seen.setdefault((obj["metadata"]["name"], health), time.perf_counter())
    finally:
        response.release()


async def write_health(api: CustomObjectsApi, name: str, health: str) -> None:
    """What the engine does: a merge patch of the GPU's status subresource."""
    await api.patch_cluster_custom_object_status(  # type: ignore[call-arg]
        ENGINE_GROUP,
        ENGINE_VERSION,
        GPU_PLURAL,
        name,
        {"status": {"health": health}},
        _content_type="application/merge-patch+json",
    )


async def updates_to_visible(
    api: CustomObjectsApi, feed: FleetFeed, names: dict[str, str], rate: float, seconds: float
) -> tuple[list[float], list[float], int]:
    page = await api.list_cluster_custom_object(ENGINE_GROUP, ENGINE_VERSION, GPU_PLURAL, limit=1)
    watch_seen: dict[tuple[str, str], float] = {}
    watcher = asyncio.create_task(raw_watch(api, page["metadata"]["resourceVersion"], watch_seen))
    visible: dict[tuple[str, str], float] = {}

    async def observe() -> None:
        with feed.subscription() as subscriber:
            while True:
                await subscriber.wake.wait()
                subscriber.wake.clear()
                now = time.perf_counter()
                while subscriber.backlog:
                    current = subscriber.backlog.popleft().change.current
                    if current is not None:
                        visible.setdefault((names[current.uuid], current.health.value), now)

    observer = asyncio.create_task(observe())
    by_name = {name: uuid for uuid, name in names.items()}
    pool = list(by_name)
    random.shuffle(pool)
    sent: list[tuple[str, str, float]] = []
    interval = 1.0 / rate
    start = time.perf_counter()
    total = int(rate * seconds)
    writes = []
    for i in range(total):
        # Each write targets a GPU not touched before, so every change is distinct.
        name = pool[i % len(pool)]
        health = GpuHealth.DEGRADED.value
        due = start + i * interval
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        sent.append((name, health, time.perf_counter()))
        writes.append(asyncio.create_task(write_health(api, name, health)))
    await asyncio.gather(*writes)
    await poll_until(lambda: all((n, h) in visible for n, h, _ in sent), 0.05, within=10.0)
    observer.cancel()
    watcher.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await observer
    with contextlib.suppress(asyncio.CancelledError):
        await watcher
    to_view = [visible[(n, h)] - t for n, h, t in sent if (n, h) in visible]
    to_watch = [watch_seen[(n, h)] - t for n, h, t in sent if (n, h) in watch_seen]
    return to_view, to_watch, len(sent) - len(to_view)


# -- the run -----------------------------------------------------------------------------------


async def run(args: argparse.Namespace, nats_url: str, kubeconfig: Path) -> None:
    total_gpus = args.nodes * args.per_node
    settings = FleetSettings(nats_url=nats_url, kubeconfig=kubeconfig)
    client = await nats.connect(nats_url)
    js = client.jetstream()
    await provision_streams(js)
    async with await open_api_client(settings) as api_client:
        api = CustomObjectsApi(api_client)

        baseline_s, listed = await baseline_read_write(api, js, settings.publish_concurrency)
        assert listed == total_gpus, listed
        document = b""
        async with fleet_api(js, lambda: document) as (base, feed):
            with aggregator_process(nats_url, kubeconfig) as started_at:
                await poll_until(lambda: len(feed.view) >= total_gpus, 0.005)
                visible_s = time.time() - started_at
                print(f"fleet: {total_gpus} GPUs on {args.nodes} nodes")
                print("1. converge after start (aggregator in its own process, as lc-fleet)")
                print(f"   whole fleet in the API view  {ms(visible_s)}")
                print(
                    f"   baseline list+publish floor  {ms(baseline_s)}   "
                    f"ratio {visible_s / baseline_s:.2f}x"
                )

                document = feed.view.view_json()
                async with httpx.AsyncClient(base_url=base, timeout=30) as http:
                    fleet_samples, base_samples, size = await get_latencies(
                        http, ("/api/v1/fleet", "/baseline"), args.requests
                    )
                fast, naive = in_process(feed.view, max(10, args.requests // 3))
                p50, p99 = percentile(fleet_samples, 0.5), percentile(fleet_samples, 0.99)
                b50, b99 = percentile(base_samples, 0.5), percentile(base_samples, 0.99)
                print(
                    f"2. GET /api/v1/fleet, full view ({size / 1e6:.1f} MB, {args.requests} requests)"
                )
                print(f"   p50 {ms(p50)}   p99 {ms(p99)}")
                print(
                    f"   baseline, same bytes prepared: p50 {ms(b50)}   p99 {ms(b99)}   "
                    f"ratio p50 {p50 / b50:.2f}x"
                )
                print(
                    f"   in process, after a change: FleetView.view_json p50 {ms(statistics.median(fast))}; "
                    f"naive pydantic dump + sort + sum p50 {ms(statistics.median(naive))} "
                    f"({statistics.median(naive) / statistics.median(fast):.1f}x slower)"
                )

                names = {g.uuid: f"{g.node}-gpu{g.index}" for g in feed.view.gpus()}
                to_view, to_watch, lost = await updates_to_visible(
                    api, feed, names, args.rate, args.seconds
                )
                print(
                    f"3. update to visible at {args.rate:.0f} updates/s for {args.seconds:.0f} s "
                    f"({len(to_view)} updates, {lost} not seen)"
                )
                print(
                    f"   write -> API view      p50 {ms(percentile(to_view, 0.5))}   "
                    f"p99 {ms(percentile(to_view, 0.99))}"
                )
                print(
                    f"   baseline write -> raw watch  p50 {ms(percentile(to_watch, 0.5))}   "
                    f"p99 {ms(percentile(to_watch, 0.99))}   "
                    f"ratio p99 {percentile(to_view, 0.99) / percentile(to_watch, 0.99):.2f}x"
                )
    await client.close()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--nodes", type=int, default=1250)
    parser.add_argument("--per-node", type=int, default=8)
    parser.add_argument("--requests", type=int, default=60)
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="lc-bench-fleet-"))
    server = EmbeddedNats(root / "nats", sync_always=False).start()
    try:
        started = time.perf_counter()
        with simulator(f"{args.nodes}x{args.per_node}:H100-80GB", root / "sim") as kubeconfig:
            print(
                f"(simulator with {args.nodes * args.per_node} GPUs up in "
                f"{time.perf_counter() - started:.1f} s)"
            )
            asyncio.run(run(args, server.url, kubeconfig))
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
