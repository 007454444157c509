"""Reconciler latency and resync cost, measured in one run against an embedded
nats-server and the cluster simulator over HTTP.

1. Service apply -> all objects present: time from appending `service.applied` until
   the last compiled object exists in the cluster (p50/p99 over sequential applies,
   with the whole fleet of services already present), against the bare API round trips
   that same apply needs (server-side apply of the same manifests, all at once).
2. Full resync of N services:
   - cold: a reconciler starts on a stream of N services and an empty cluster, until
     every compiled object exists; against the bare SSA of the same manifests at the
     same concurrency;
   - warm: a resync of an unchanged cluster (list every kind, compile, compare, queue
     nothing); against the bare lists of the same kinds.
   - drift: 10% of the Deployments deleted by hand, resync until they are back; against
     the bare lists plus the applies of the missing objects.

usage: uv run python bench/reconciler.py [--services N] [--applies M]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import shutil
import statistics
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import nats

from lc_clustersim.kubeapi.watch_log import WatchEvent
from lc_clustersim.sim import ClusterSim, SimConfig
from lc_contracts.events import Payload, ProjectCreated, ServiceApplied, build
from lc_contracts.specs import ServiceSpec
from lc_contracts.subjects import project_subject, service_subject
from lc_embedded import EmbeddedNats
from lc_eventstore import EventStore, provision_streams
from lc_reconciler.domain.compiler import Manifest, compile_namespace, compile_service
from lc_reconciler.kube.client import KubeClient
from lc_reconciler.kube.resources import DEPLOYMENT, NAMESPACE, kind_of, service_kinds
from lc_reconciler.reconcile import MANAGED_SELECTOR
from lc_reconciler.runtime import ReconcilerRuntime
from lc_reconciler.settings import ReconcilerSettings

PROJECT = "bench"
CONCURRENCY = 64


def service(i: int) -> ServiceSpec:
    if i % 2:
        raw: dict[str, Any] = {
            "name": f"svc-{i}",
            "tier": "cpu",
            "kind": {
                "container": {"image": "nginx:1.27", "ports": [{"port": 8080, "name": "http"}]}
            },
        }
    else:
        raw = {
            "name": f"svc-{i}",
            "tier": "inference",
            # small enough that the simulated engine places every one of them
            "kind": {"model": {"modelName": f"acme/tiny-{i}-0.1b", "dtype": "int4"}},
        }
    return ServiceSpec.model_validate(raw)


class Arrivals:
    """Records when each object first appears in the simulator's store."""

    def __init__(self) -> None:
        self.seen: dict[tuple[str, str, str], float] = {}
        self.waiters: dict[frozenset[tuple[str, str, str]], asyncio.Future[float]] = {}

    def __call__(self, event: WatchEvent) -> None:
        if event.type != "ADDED":
            return
        key = (event.obj.obj["kind"], event.obj.namespace or "", event.obj.name)
        now = time.perf_counter()
        self.seen.setdefault(key, now)
        for wanted, future in list(self.waiters.items()):
            if not future.done() and all(k in self.seen for k in wanted):
                future.set_result(max(self.seen[k] for k in wanted))
                del self.waiters[wanted]

    def forget(self, keys: set[tuple[str, str, str]]) -> None:
        for key in keys:
            self.seen.pop(key, None)

    def all_present(self, wanted: set[tuple[str, str, str]]) -> asyncio.Future[float]:
        future: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        if all(k in self.seen for k in wanted):
            future.set_result(max(self.seen[k] for k in wanted))
        else:
            self.waiters[frozenset(wanted)] = future
        return future


def keys_of(manifests: Sequence[Manifest]) -> set[tuple[str, str, str]]:
    return {
        (m["kind"], m["metadata"].get("namespace", ""), m["metadata"]["name"]) for m in manifests
    }


def pct(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def bare_apply(
    kube: KubeClient, settings: ReconcilerSettings, manifests: Sequence[Manifest]
) -> float:
    platform = settings.platform()
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one(m: Manifest) -> None:
        async with gate:
            await kube.apply(kind_of(m, platform), m)

    start = time.perf_counter()
    await asyncio.gather(*(one(m) for m in manifests))
    return time.perf_counter() - start


async def bare_lists(kube: KubeClient, settings: ReconcilerSettings) -> float:
    start = time.perf_counter()
    await asyncio.gather(
        *(
            kube.list(k, label_selector=MANAGED_SELECTOR)
            for k in (*service_kinds(settings.platform()), NAMESPACE)
        )
    )
    return time.perf_counter() - start


async def append(store: EventStore, subject: str, payload: Payload) -> None:
    await store.append(subject, [build(payload, subject=subject, source="bench")], None)


async def main(services: int, applies: int) -> None:
    root = Path(tempfile.mkdtemp(prefix="lc-bench-reconciler-"))
    server = EmbeddedNats(root / "nats", sync_always=False).start()
    logging.basicConfig(level=logging.ERROR)
    try:
        config = SimConfig(
            gpus="64x8:H100-80GB",
            data_dir=root / "sim",
            pending_s=0.01,
            loading_s=0.01,
            ready_delay_s=0.01,
        )
        async with ClusterSim(config) as sim:
            nc = await nats.connect(server.url)
            js = nc.jetstream()
            await provision_streams(js)
            store = EventStore(js)
            settings = ReconcilerSettings(
                nats_url=server.url,
                kubeconfig=str(sim.kubeconfig_path),
                platform_domain="bench.test",
                resync_interval_s=3600,
                retry_base_s=0.01,
                retry_max_s=0.5,
            )
            platform = settings.platform()
            arrivals = Arrivals()
            sim.store.subscribe(arrivals)
            bare = await KubeClient.connect(settings.kubeconfig)

            # Baselines run against a scratch namespace so they do not help the reconciler.
            scratch = settings.model_copy(update={"namespace_prefix": "scratch-"}).platform()
            await bare.apply(NAMESPACE, compile_namespace(PROJECT, scratch))
            fleet = [service(i) for i in range(services)]
            scratch_manifests = [
                m for s in fleet for m in compile_service(PROJECT, s, 1, [], scratch)
            ]
            bare_cold = await bare_apply(bare, settings, scratch_manifests)

            # 2a. cold resync: N services in the stream, empty cluster, reconciler starts.
            await append(store, *_project())
            for spec in fleet:
                await append(
                    store,
                    service_subject(PROJECT, spec.name),
                    ServiceApplied(project_slug=PROJECT, revision=1, spec=spec),
                )
            manifests = [m for s in fleet for m in compile_service(PROJECT, s, 1, [], platform)]
            done = arrivals.all_present(keys_of(manifests))
            kube = await KubeClient.connect(settings.kubeconfig)
            runtime = ReconcilerRuntime(settings, js, kube)
            start = time.perf_counter()
            task = asyncio.create_task(runtime.run())
            cold = await asyncio.wait_for(done, 600) - start
            await asyncio.wait_for(runtime.ready.wait(), 60)

            # 2b. warm resync of an unchanged cluster.
            await runtime.reconciler.queue.wait_idle()
            warm_runs = []
            for _ in range(5):
                start = time.perf_counter()
                await runtime.reconciler.resync()
                warm_runs.append(time.perf_counter() - start)
                queued = len(runtime.reconciler.queue)
                assert queued == 0, f"an unchanged cluster queued {queued} keys"
            warm = statistics.median(warm_runs)
            bare_warm = statistics.median([await bare_lists(bare, settings) for _ in range(5)])

            # 2c. drift: delete 10% of Deployments by hand, resync until they are back.
            victims = [m for m in manifests if m["kind"] == "Deployment"][: max(1, services // 10)]
            for m in victims:
                await bare.delete(DEPLOYMENT, m["metadata"]["namespace"], m["metadata"]["name"])
            arrivals.forget(keys_of(victims))
            back = arrivals.all_present(keys_of(victims))
            start = time.perf_counter()
            await runtime.reconciler.resync()
            drift = await asyncio.wait_for(back, 60) - start
            bare_drift = await bare_lists(bare, settings) + await bare_apply(
                bare,
                settings,
                [
                    {**m, "metadata": {**m["metadata"], "namespace": "scratch-bench"}}
                    for m in victims
                ],
            )

            # 1. apply -> all objects present, with the fleet in place.
            latencies, bare_latencies = [], []
            for i in range(services, services + applies):
                spec = service(i)
                wanted = compile_service(PROJECT, spec, 1, [], platform)
                present = arrivals.all_present(keys_of(wanted))
                start = time.perf_counter()
                await append(
                    store,
                    service_subject(PROJECT, spec.name),
                    ServiceApplied(project_slug=PROJECT, revision=1, spec=spec),
                )
                latencies.append(await asyncio.wait_for(present, 30) - start)
                bare_latencies.append(
                    await bare_apply(bare, settings, compile_service(PROJECT, spec, 1, [], scratch))
                )

            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await kube.close()
            await bare.close()
            await nc.drain()

        ms = 1000.0
        p50, p99 = pct(latencies, 0.5), pct(latencies, 0.99)
        b50, b99 = pct(bare_latencies, 0.5), pct(bare_latencies, 0.99)
        objects = len(manifests)
        print(
            f"reconciler bench: {services} services ({objects} objects), {applies} sequential applies"
        )
        print(f"apply -> all objects present  p50 {p50 * ms:7.1f} ms  p99 {p99 * ms:7.1f} ms")
        print(
            f"  bare SSA of the same objects p50 {b50 * ms:7.1f} ms  p99 {b99 * ms:7.1f} ms"
            f"  ratio p50 {p50 / b50:5.2f}x  p99 {p99 / b99:5.2f}x"
        )
        print(
            f"cold resync ({objects} objects)   {cold * ms:8.1f} ms  bare SSA {bare_cold * ms:8.1f} ms"
            f"  ratio {cold / bare_cold:5.2f}x"
        )
        print(
            f"warm resync (no change)        {warm * ms:8.1f} ms  bare lists {bare_warm * ms:6.1f} ms"
            f"  ratio {warm / bare_warm:5.2f}x"
        )
        print(
            f"drift resync ({len(victims)} recreated)    {drift * ms:8.1f} ms  bare lists+SSA {bare_drift * ms:6.1f} ms"
            f"  ratio {drift / bare_drift:5.2f}x"
        )
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


def _project() -> tuple[str, ProjectCreated]:
    return project_subject(PROJECT), ProjectCreated(slug=PROJECT, name="Bench")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--services", type=int, default=1000)
    parser.add_argument("--applies", type=int, default=200)
    args = parser.parse_args()
    asyncio.run(main(args.services, args.applies))
