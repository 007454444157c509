"""Costs that should follow the platform's current state, not the length of its log.

Run: `uv run python bench/history.py` (logs of 10,000, 100,000 and 1,000,000 events, in
one run); `--sizes 10000,100000` for a shorter one, `--no-workers` for the projector alone.
`LC_BENCH_PROFILE=<file>` writes a cProfile of each projector catch-up to `<file>.<size>`.

At each size one log is appended to a fresh LC_EVENTS and every figure is measured on it:
half `service.applied` (one project, 50 services, each revision a new image tag, as a busy
deployment pipeline writes), half domain events (500 domains: registered, then failed
checks and new requests; every domain ends failed for good, so the verifier has nothing
to check), interleaved.

- Workers that fold LC_EVENTS into memory (reconciler, domain verifier), each start in a
  child process (so its memory is its own), against the embedded nats-server and, for the
  reconciler, the cluster simulator: the time from `run()` until its probes say ready,
  and its memory (peak RSS above what the process held before the start). Without
  snapshot: the first start, which folds from sequence 1 (it writes a snapshot on its
  clean shutdown); with snapshot: the next start, after 1,000 more events were appended
  (the tail). Target: ≤ 2 s to ready at 1,000,000 with a snapshot, flat across the sizes.
- lcd's projector (`ReadModelProjection` under the `ProjectionRunner`: read, decode, apply
  in batches, checkpoint) catching up from an empty database on the log's
  `service.applied` events and its project (the runner reading the project and service
  subjects: the burst a pipeline writes, read from the very log the workers fold), as a
  ratio to reading and decoding the same events through the event store's reader
  (`EventStore.read` + `StoredMessage.event()`), measured just before it. Target: ≥ 5,000
  events/s.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import json
import logging
import os
import resource
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nats
from sqlalchemy.ext.asyncio import create_async_engine

from lc_api.db.migrate import migrate
from lc_api.db.projection import ReadModelProjection
from lc_clustersim.sim import ClusterSim, SimConfig
from lc_contracts.envelope import Envelope, new_event_id, now
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
from lc_contracts.subjects import (
    EVENTS_PREFIX,
    domain_subject,
    project_subject,
    service_subject,
)
from lc_domain_verifier.dns_lookup import DnsChallengeResolver
from lc_domain_verifier.main import restore, run_with_snapshots
from lc_domain_verifier.settings import VerifierSettings
from lc_domain_verifier.worker import VerificationWorker
from lc_embedded import EmbeddedNats, EmbeddedPostgres
from lc_eventstore import EventStore, ProjectionRunner, provision_streams
from lc_eventstore.projection import freeze_startup_heap
from lc_reconciler.kube.client import KubeClient
from lc_reconciler.runtime import ReconcilerRuntime
from lc_reconciler.settings import ReconcilerSettings
from lc_runtime.probes import Probes

SIZES = "10000,100000,1000000"
SERVICES = 50
DOMAINS = 500
TAIL = 1_000
APPEND_CHUNK = 5_000
WORKERS = ("reconciler", "domain-verifier")
PROJECTOR_SUBJECTS = (f"{EVENTS_PREFIX}.project.>", f"{EVENTS_PREFIX}.service.>")
"""What the projector reads in the bench: the log's project and `service.applied` events."""


def _service_wire(n: int) -> dict[str, Any]:
    """Service `svc-<n>`'s spec as `ServiceApplied.to_wire()` writes it (validated once)."""
    spec = ServiceSpec.model_validate(
        {
            "name": f"svc-{n}",
            "tier": "cpu",
            "kind": {"container": {"image": "registry.example/app:1", "ports": [{"port": 80}]}},
        }
    )
    return spec.to_wire()


def history(start: int, count: int) -> Iterator[Envelope]:
    """Events `start` .. `start + count - 1` of the bench's log: even ones revise one of
    50 services (revision r runs image tag r, so no two specs are alike), odd ones move
    one of 500 domains."""
    specs = [_service_wire(n) for n in range(SERVICES)]
    for i in range(start, start + count):
        if i == 0:
            payload: Payload = ProjectCreated(slug="p", name="P")
            yield build(payload, subject=project_subject("p"), source="bench")
            continue
        if i % 2 == 0:
            # The wire form built from a validated template: validating 500,000 specs
            # here would cost the bench more than appending them.
            revision = i // 2 + 1
            template = specs[(i // 2) % SERVICES]
            container = {**template["kind"]["container"], "image": f"registry.example/app:{i}"}
            spec = {**template, "kind": {"container": container}}
            yield Envelope(
                id=new_event_id(),
                source="bench",
                type=ServiceApplied.TYPE,
                subject=service_subject("p", str(spec["name"])),
                time=now(),
                dataversion=ServiceApplied.VERSION,
                actor="bench",
                data={"projectSlug": "p", "revision": revision, "spec": spec},
            )
            continue
        step, n = divmod(i // 2, DOMAINS)
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
    """Append in chunks, each published without awaiting every acknowledgement in turn."""
    chunk: list[Envelope] = []
    for envelope in history(start, count):
        chunk.append(envelope)
        if len(chunk) == APPEND_CHUNK:
            await store.append_pipelined(chunk)
            chunk = []
    if chunk:
        await store.append_pipelined(chunk)


# -- the workers -------------------------------------------------------------------------


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


# -- the projector -----------------------------------------------------------------------


@dataclass(frozen=True)
class ProjectorFigures:
    events: int
    reading: float
    """Events/s read and decoded through `EventStore.read`."""
    projecting: float
    """Events/s applied by lcd's projector catching up."""
    reading_cpu_us: float
    projecting_cpu_us: float
    """CPU time of this process per event (PostgreSQL's and nats-server's not counted):
    steadier than events/s on a shared machine, where the process gets what others leave."""


async def measure_projector(
    store: EventStore, database_url: str, profile: Path | None
) -> ProjectorFigures:
    # What the runner does first (once per process), done before reading too, so both
    # figures are taken with the same heap.
    freeze_startup_heap()
    began, cpu = time.perf_counter(), time.process_time()
    read = 0
    async for batch in store.read(1, PROJECTOR_SUBJECTS):
        read += len([m.event() for m in batch])
    reading = read / (time.perf_counter() - began)
    reading_cpu = time.process_time() - cpu

    await asyncio.to_thread(migrate, database_url)
    engine = create_async_engine(database_url)
    try:
        runner = ProjectionRunner(engine, store, ReadModelProjection(), subjects=PROJECTOR_SUBJECTS)
        profiler = cProfile.Profile() if profile is not None else None
        began, cpu = time.perf_counter(), time.process_time()
        if profiler is not None:
            profiler.enable()
        await runner.catch_up()
        elapsed = time.perf_counter() - began
        projecting_cpu = time.process_time() - cpu
        if profiler is not None and profile is not None:
            profiler.disable()
            profiler.dump_stats(profile)
    finally:
        await engine.dispose()
    if runner.quarantined:
        raise RuntimeError(f"the projector quarantined {runner.quarantined} events")
    return ProjectorFigures(
        events=read,
        reading=reading,
        projecting=read / elapsed,
        reading_cpu_us=reading_cpu / read * 1e6,
        projecting_cpu_us=projecting_cpu / read * 1e6,
    )


# -- one size, then the curve ------------------------------------------------------------


@dataclass(frozen=True)
class SizeFigures:
    size: int
    append_s: float
    cold: dict[str, dict[str, float]]
    warm: dict[str, dict[str, float]]
    projector: ProjectorFigures


async def measure_size(
    root: Path, pg: EmbeddedPostgres, size: int, *, workers: bool, profile: str | None
) -> SizeFigures:
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
            append_s = time.perf_counter() - began
            print(f"{size:,} events appended in {append_s:.1f} s", flush=True)
            cold: dict[str, dict[str, float]] = {}
            warm: dict[str, dict[str, float]] = {}
            if workers:
                cold = {w: await child_start(w, server.url, kubeconfig) for w in WORKERS}
                await append_history(store, size, TAIL)
                warm = {w: await child_start(w, server.url, kubeconfig) for w in WORKERS}
                for w in WORKERS:
                    print(f"  {w}: {cold[w]} then {warm[w]}", flush=True)
            database = f"lcd_{size}"
            pg.create_database(database)
            projector = await measure_projector(
                store, pg.url(database), Path(f"{profile}.{size}") if profile else None
            )
            print(
                f"  projector: {projector.events:,} events at {projector.projecting:,.0f}/s, "
                f"reading {projector.reading:,.0f}/s; CPU {projector.projecting_cpu_us:.0f} / "
                f"{projector.reading_cpu_us:.0f} us per event",
                flush=True,
            )
            await nc.drain()
    finally:
        server.stop()
    return SizeFigures(size, append_s, cold, warm, projector)


def print_curve(rows: list[SizeFigures]) -> None:
    if any(row.cold for row in rows):
        print()
        print(
            "Workers' time to ready after a restart (target with snapshot: ≤ 2 s at 1,000,000, flat):"
        )
        print()
        print(
            "| events | worker | from sequence 1 | with snapshot (+1,000 tail) "
            "| events folded from 1 / with | memory from 1 / with |"
        )
        print("| ---: | --- | ---: | ---: | ---: | ---: |")
        for row in rows:
            for w in WORKERS:
                cold, warm = row.cold[w], row.warm[w]
                print(
                    f"| {row.size:,} | {w} | {cold['ready_s']:.2f} s | {warm['ready_s']:.2f} s | "
                    f"{cold['folded']:,.0f} / {warm['folded']:,.0f} | "
                    f"{cold['rss_mib']:.0f} / {warm['rss_mib']:.0f} MiB |"
                )
    print()
    print("lcd's projector catching up on the log's service.applied events (target ≥ 5,000/s):")
    print()
    print(
        "| events in the log | appended in | events projected | projector | reading | ratio "
        "| CPU per event, projector / reading |"
    )
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for row in rows:
        p = row.projector
        print(
            f"| {row.size:,} | {row.append_s:.0f} s | {p.events:,} | {p.projecting:,.0f}/s "
            f"| {p.reading:,.0f}/s | {p.projecting / p.reading:.2f} "
            f"| {p.projecting_cpu_us:.0f} / {p.reading_cpu_us:.0f} us |"
        )


async def measure(root: Path, sizes: list[int], *, workers: bool) -> None:
    profile = os.environ.get("LC_BENCH_PROFILE") or None
    began = time.perf_counter()
    pg = EmbeddedPostgres(root / "pg", durable=False).start()
    try:
        rows = [
            await measure_size(root, pg, size, workers=workers, profile=profile) for size in sizes
        ]
    finally:
        pg.stop()
    print_curve(rows)
    print()
    print(f"whole run {time.perf_counter() - began:.0f} s; load average {os.getloadavg()}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default=SIZES, help=f"log sizes, comma-separated ({SIZES})")
    parser.add_argument("--no-workers", action="store_true", help="measure the projector only")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--nats-url", help=argparse.SUPPRESS)
    parser.add_argument("--kubeconfig", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        asyncio.run(measure_start(args.child, args.nats_url, args.kubeconfig))
        return
    sizes = [int(size) for size in args.sizes.split(",")]
    print(f"load average at start {os.getloadavg()}", flush=True)
    root = Path(tempfile.mkdtemp(prefix="lc-bench-history-"))
    try:
        asyncio.run(measure(root, sizes, workers=not args.no_workers))
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
