"""Costs that should follow the platform's current state, not the length of its log.

Run: `uv run python bench/history.py [--events 20000]`, or `... --workers [--worker-sizes 10000,100000,1000000]`.

Today it measures lcd's projector on a burst of `service.applied` events (one project,
50 services, their revisions), the shape a busy deployment pipeline writes:
- catch-up rate of lcd's read-model projection (`ReadModelProjection` under the
  `ProjectionRunner`: read, decode, apply in batches, checkpoint), from an empty database;
- as a ratio to reading and decoding the same events through the event store's reader
  (`EventStore.read` + `StoredMessage.event()`), measured in the same run.
Target: ≥ 5,000 events/s.

`--workers` measures the workers that fold LC_EVENTS into memory, after a restart, on
logs of 10,000, 100,000 and 1,000,000 events (`--worker-sizes`): half `service.applied`
(one project, 50 services), half domain events (500 domains) interleaved. Each start runs
in a child process (so its memory is its own), against the embedded nats-server and,
for the reconciler, the cluster simulator; it reports the time from `run()` until its
probes say ready, and its memory (peak RSS above what the process held before the start):
- without snapshot: the first start, which folds from sequence 1 (it writes a snapshot
  on its clean shutdown);
- with snapshot: the next start, after 1,000 more events were appended (the tail).
Target: ≤ 2 s to ready at 1,000,000 with a snapshot, flat across the sizes.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import resource
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import nats
from sqlalchemy.ext.asyncio import create_async_engine

from lc_api.db.migrate import migrate
from lc_api.db.projection import ReadModelProjection
from lc_clustersim.sim import ClusterSim, SimConfig
from lc_contracts.envelope import Envelope
from lc_contracts.events import (
    DomainRegistered,
    DomainVerificationFailed,
    DomainVerificationRequested,
    Payload,
    ProjectCreated,
    ServiceApplied,
    build,
)
from lc_contracts.specs import ServiceSpec
from lc_contracts.subjects import domain_subject, project_subject, service_subject
from lc_domain_verifier.dns_lookup import DnsChallengeResolver
from lc_domain_verifier.main import restore, run_with_snapshots
from lc_domain_verifier.settings import VerifierSettings
from lc_domain_verifier.worker import VerificationWorker
from lc_embedded import EmbeddedNats, EmbeddedPostgres
from lc_eventstore import EventStore, ProjectionRunner, provision_streams
from lc_reconciler.kube.client import KubeClient
from lc_reconciler.runtime import ReconcilerRuntime
from lc_reconciler.settings import ReconcilerSettings
from lc_runtime.probes import Probes


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


WORKER_SERVICES = 50
WORKER_DOMAINS = 500
WORKER_TAIL = 1_000


def worker_history(start: int, count: int) -> Iterator[Envelope]:
    """Events `start` .. `start + count - 1` of the workers' log: even ones revise one of
    50 services, odd ones move one of 500 domains (registered, then failed checks and new
    requests; every domain ends failed for good, so the verifier has nothing to check)."""
    specs = [
        ServiceSpec.model_validate(
            {
                "name": f"svc-{n}",
                "tier": "cpu",
                "kind": {"container": {"image": "registry.example/app:1", "ports": [{"port": 80}]}},
            }
        )
        for n in range(WORKER_SERVICES)
    ]
    for i in range(start, start + count):
        if i == 0:
            payload: Payload = ProjectCreated(slug="p", name="P")
            yield build(payload, subject=project_subject("p"), source="bench")
            continue
        if i % 2 == 0:
            spec = specs[(i // 2) % WORKER_SERVICES]
            payload = ServiceApplied(project_slug="p", revision=i // 2 + 1, spec=spec)
            yield build(payload, subject=service_subject("p", spec.name), source="bench")
            continue
        step, n = divmod(i // 2, WORKER_DOMAINS)
        domain_id = f"dom-{n}"
        if step == 0:
            payload = DomainRegistered(
                id=domain_id,
                fqdn=f"d{n}.bench.example",
                project_slug="p",
                service_name="svc-0",
                challenge_token="t" * 43,
            )
        elif step % 2:
            payload = DomainVerificationRequested(id=domain_id)
        else:
            payload = DomainVerificationFailed(
                id=domain_id, reason="expired", attempt=1, final=True
            )
        yield build(payload, subject=domain_subject(domain_id), source="bench")


async def append_history(store: EventStore, start: int, count: int) -> None:
    chunk: list[Envelope] = []
    for envelope in worker_history(start, count):
        chunk.append(envelope)
        if len(chunk) == 5_000:
            await store.append_pipelined(chunk)
            chunk = []
    if chunk:
        await store.append_pipelined(chunk)


def rss_now_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def child_start(worker: str, nats_url: str, kubeconfig: str) -> dict[str, float]:
    """One start of `worker` in a child process: its time to ready and peak RSS."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        __file__,
        "--child",
        worker,
        "--nats-url",
        nats_url,
        "--kubeconfig",
        kubeconfig,
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"{worker} start failed ({process.returncode})")
    result: dict[str, float] = json.loads(out.decode().strip().splitlines()[-1])
    return result


async def measure_start(worker: str, nats_url: str, kubeconfig: str) -> None:
    """(child) Start `worker`, wait until ready, stop it cleanly; print the figures."""
    logging.basicConfig(level=logging.ERROR)
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    probes = Probes(worker)
    baseline_mib = rss_now_mib()
    began = time.perf_counter()
    if worker == "reconciler":
        kube = await KubeClient.connect(kubeconfig)
        settings = ReconcilerSettings(
            nats_url=nats_url, kubeconfig=kubeconfig, resync_interval_s=3600
        )
        task = asyncio.create_task(ReconcilerRuntime(settings, js, kube, probes).run())
    else:
        verifier = VerifierSettings(nats_url=nats_url, dns_nameservers="127.0.0.1:9")
        worker_ = VerificationWorker(
            EventStore(js),
            DnsChallengeResolver(verifier.dns_nameservers, verifier.dns_timeout_s),
            verifier.policy(),
            progress=probes.track_fold(),
        )
        writer = await restore(js, worker_, verifier)
        task = asyncio.create_task(run_with_snapshots(worker_, writer))
    while not probes.ready:
        if task.done():
            task.result()
        await asyncio.sleep(0.002)
    ready_s = time.perf_counter() - began
    fold = probes.fold
    assert fold is not None
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task  # a clean shutdown: the worker writes its snapshot
    if worker == "reconciler":
        await kube.close()
    await nc.drain()
    # Peak resident memory of the start, above what the process held before it (imports).
    rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 - baseline_mib
    print(
        json.dumps(
            {
                "ready_s": ready_s,
                "rss_mib": rss_mib,
                "folded": fold.folded,
                "position": fold.position,
            }
        )
    )


async def run_workers(root: Path, sizes: list[int]) -> None:
    rows = []
    for size in sizes:
        server = EmbeddedNats(root / f"nats-{size}", sync_always=False).start()
        try:
            config = SimConfig(gpus="1x1:H100-80GB", data_dir=root / f"sim-{size}")
            async with ClusterSim(config) as sim:
                kubeconfig = str(sim.kubeconfig_path)
                nc = await nats.connect(server.url)
                js = nc.jetstream()
                await provision_streams(js)
                store = EventStore(js)
                began = time.perf_counter()
                await append_history(store, 0, size)
                print(
                    f"  {size:,} events appended in {time.perf_counter() - began:.1f}s", flush=True
                )
                workers = ("reconciler", "domain-verifier")
                cold = {w: await child_start(w, server.url, kubeconfig) for w in workers}
                await append_history(store, size, WORKER_TAIL)
                warm = {w: await child_start(w, server.url, kubeconfig) for w in workers}
                for worker in workers:
                    rows.append((size, worker, cold[worker], warm[worker]))
                    print(f"  {worker} at {size:,}: {cold[worker]} then {warm[worker]}", flush=True)
                await nc.drain()
        finally:
            server.stop()
    print("time to ready after a restart (target with snapshot: ≤ 2 s at 1,000,000, flat):")
    print(
        "| events | worker | without snapshot | with snapshot (+1,000 tail) "
        "| events folded without / with | memory without / with |"
    )
    print("| ---: | --- | ---: | ---: | ---: | ---: |")
    for size, worker, cold, warm in rows:
        print(
            f"| {size:,} | {worker} | {cold['ready_s']:.2f} s | {warm['ready_s']:.2f} s | "
            f"{cold['folded']:,.0f} / {warm['folded']:,.0f} | "
            f"{cold['rss_mib']:.0f} / {warm['rss_mib']:.0f} MiB |"
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--workers", action="store_true", help="measure the workers' restarts")
    parser.add_argument("--worker-sizes", default="10000,100000,1000000")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--nats-url", help=argparse.SUPPRESS)
    parser.add_argument("--kubeconfig", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        asyncio.run(measure_start(args.child, args.nats_url, args.kubeconfig))
        return
    if args.workers:
        root = Path(tempfile.mkdtemp(prefix="lc-bench-history-workers-"))
        try:
            sizes = [int(size) for size in args.worker_sizes.split(",")]
            asyncio.run(run_workers(root, sizes))
        finally:
            shutil.rmtree(root, ignore_errors=True)
        return
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
