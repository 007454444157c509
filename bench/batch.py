"""Batch dispatcher benchmark: a batch's throughput against a plain client, and what a
running batch does to interactive latency, in one run.

Run: `uv run python bench/batch.py [--requests 10000] [--concurrency 32] [--latency-ms 20]`.

One simulated upstream (`SimulatedUpstream`, every answer delayed by `--latency-ms` like
a GPU's time per request) in its own process, one lc-proxy process with
`LC_PROXY_BATCH_PER_REPLICA=--concurrency`, and an embedded nats-server. Rows, each
measured in this run against the same upstream:

- throughput: `--requests` chat completions sent by a plain aiohttp client straight to
  the upstream at `--concurrency`, then by the same client through lc-proxy's
  `/v1/chat/completions` (the cost of the extra hop), then as one batch through lc-proxy
  (upload, create, poll until `completed`; timed from create to completed, so
  validation, per-line result writes and the output file are included). Ratio target
  >= 0.8.
- interactive latency: p50 and p99 of interactive chat completions through lc-proxy at a
  fixed open-loop rate (`--interactive-rps`) for `--interactive-s` seconds, alone and
  beside a running batch of `--beside-requests`, in `--rounds` alternating slices (a
  batch is created for each slice, measured once it answers, and cancelled after).
  Ratio target <= 1.25. With `--probes`, the same slices also time the upstream
  directly, lc-proxy's `/healthz` (its event loop's delay) and the bench client's own
  loop lag, and count the machine's TCP listen-queue drops and SYN retransmissions:
  where an interactive request's tail comes from.

Bounded: every phase has a deadline; every child process is stopped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
import openai
import orjson
from proxy import (
    MODEL,
    Children,
    cpu_seconds,
    pct,
    publish_route,
    wait_http,
    wait_routable,
)

from lc_embedded import EmbeddedNats, free_port

HERE = Path(__file__).resolve()


def body(i: int) -> dict[str, object]:
    return {
        "model": MODEL,
        "messages": [{"role": "user", "content": f"Say something short ({i})."}],
        "max_tokens": 8,
    }


def serve_upstream(port: int, latency_s: float, gc_log: Path | None = None) -> None:
    import uvloop

    if gc_log is not None:
        # Each garbage collection's generation and pause, for `--probes`.
        import gc

        log = gc_log.open("a", buffering=1)
        began: list[float] = [0.0]

        def timed(phase: str, info: dict[str, int]) -> None:
            if phase == "start":
                began[0] = time.perf_counter()
            else:
                pause = time.perf_counter() - began[0]
                log.write(f"{time.time():.4f} {info['generation']} {pause * 1000:.3f}\n")

        gc.callbacks.append(timed)

    from lc_clustersim.upstream import SimulatedUpstream, UpstreamFaults

    async def run() -> None:
        upstream = SimulatedUpstream(models=[MODEL], faults=UpstreamFaults(latency_s=latency_s))
        await upstream.start(port=port)
        await asyncio.Event().wait()

    uvloop.run(run())


async def direct_rate(url: str, count: int, concurrency: int) -> float:
    """Requests per second of a plain client sending `count` requests at `concurrency`."""
    queue = list(range(count))
    bodies = [orjson.dumps(body(i)) for i in queue]
    headers = {"content-type": "application/json"}

    async def worker(session: aiohttp.ClientSession) -> None:
        while queue:
            i = queue.pop()
            async with session.post(url, data=bodies[i], headers=headers) as response:
                await response.read()
                assert response.status == 200, response.status

    started = time.perf_counter()
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as s:
        await asyncio.gather(*(worker(s) for _ in range(concurrency)))
    return count / (time.perf_counter() - started)


async def start_batch(client: openai.AsyncOpenAI, count: int, tag: str) -> str:
    lines = b"".join(
        orjson.dumps(
            {
                "custom_id": f"{tag}-{i}",
                "method": "POST",
                "url": "/v1/chat/completions",
                "body": body(i),
            }
        )
        + b"\n"
        for i in range(count)
    )
    file = await client.files.create(file=("in.jsonl", io.BytesIO(lines)), purpose="batch")
    batch = await client.batches.create(
        input_file_id=file.id, endpoint="/v1/chat/completions", completion_window="24h"
    )
    return batch.id


async def wait_batch(client: openai.AsyncOpenAI, batch_id: str, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        batch = await client.batches.retrieve(batch_id)
        if batch.status in ("completed", "failed", "expired", "cancelled"):
            if batch.in_progress_at and batch.finalizing_at and batch.completed_at:
                print(
                    f"  phases: validating {batch.in_progress_at - batch.created_at} s, "
                    f"in progress {batch.finalizing_at - batch.in_progress_at} s, "
                    f"finalizing {batch.completed_at - batch.finalizing_at} s"
                )
            return batch.status
        await asyncio.sleep(0.1)
    raise RuntimeError(f"{batch_id} did not end within {timeout} s")


async def interactive(
    url: str, rps: float, seconds: float, payload: bytes | None = None
) -> list[float]:
    """Latencies (ms) of requests sent at a fixed rate (open loop) for `seconds`: chat
    completions, or GETs of `url` when `payload` is None."""
    samples: list[float] = []
    headers = {"content-type": "application/json"}
    async with aiohttp.ClientSession() as session:

        async def one() -> None:
            started = time.perf_counter()
            if payload is None:
                sent = session.get(url)
            else:
                sent = session.post(url, data=payload, headers=headers)
            async with sent as response:
                await response.read()
                assert response.status == 200, response.status
            samples.append((time.perf_counter() - started) * 1000.0)

        tasks = []
        start = time.perf_counter()
        n = int(rps * seconds)
        for i in range(n):
            delay = start + i / rps - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one()))
        await asyncio.gather(*tasks)
    return samples


async def loop_lag(seconds: float, every_s: float = 0.01) -> list[float]:
    """How late (ms) this process's event loop wakes a task that sleeps `every_s`."""
    lags: list[float] = []
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        asked = time.perf_counter()
        await asyncio.sleep(every_s)
        lags.append((time.perf_counter() - asked - every_s) * 1000.0)
    return lags


def upstream_gc_pauses(log: Path, since: float, until: float) -> list[tuple[int, float]]:
    """The upstream's garbage collections between two times: (generation, pause ms)."""
    pauses = []
    with contextlib.suppress(OSError):
        for row in log.read_text().splitlines():
            at, generation, ms = row.split()
            if since <= float(at) <= until:
                pauses.append((int(generation), float(ms)))
    return pauses


async def interactive_phase(
    proxy: str,
    upstream: str,
    rps: float,
    seconds: float,
    probes: bool,
    gc_log: Path | None = None,
) -> dict[str, list[float]]:
    """Interactive latencies through lc-proxy; with `probes`, at the same time and rate:
    the same request straight to the upstream (its time as a client sees it), lc-proxy's
    `/healthz` (the time its event loop takes to get to a request) and the bench
    client's own loop lag."""
    payload = orjson.dumps(body(0))
    phases = {
        "through lc-proxy": interactive(f"{proxy}/v1/chat/completions", rps, seconds, payload)
    }
    if probes:
        phases["upstream, direct"] = interactive(
            f"{upstream}/v1/chat/completions", rps, seconds, payload
        )
        phases["lc-proxy /healthz"] = interactive(f"{proxy}/healthz", rps, seconds)
        phases["bench client loop lag"] = loop_lag(seconds)
    counted = tcp_counters()
    began = time.time()
    found = await asyncio.gather(*phases.values())
    if probes:
        pauses = upstream_gc_pauses(gc_log, began, time.time()) if gc_log else []
        print(
            f"  upstream garbage collections: {len(pauses)}, "
            f"of the oldest generation {sum(1 for g, _ in pauses if g == 2)}, "
            f"longest {max((ms for _, ms in pauses), default=0.0):.1f} ms"
        )
        after = tcp_counters()
        print(
            "  tcp, machine-wide: "
            + ", ".join(f"{k} +{after[k] - counted.get(k, 0)}" for k in after)
        )
    return dict(zip(phases, found, strict=True))


def tcp_counters() -> dict[str, int]:
    """This network namespace's TCP counters that explain stalls of a second or more:
    connections dropped because a listen queue was full, and SYNs sent again."""
    wanted = ("ListenOverflows", "TCPSynRetrans", "TCPTimeouts")
    found: dict[str, int] = {}
    with contextlib.suppress(OSError):
        rows = Path("/proc/net/netstat").read_text().splitlines()
        for names, values in zip(rows[::2], rows[1::2], strict=False):
            for name, value in zip(names.split()[1:], values.split()[1:], strict=False):
                if name in wanted:
                    found[name] = int(value)
    return found


async def wait_running(client: openai.AsyncOpenAI, batch_id: str, timeout: float) -> None:
    """Until the batch is in progress with some lines answered."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        batch = await client.batches.retrieve(batch_id)
        counts = batch.request_counts
        if batch.status == "in_progress" and counts is not None and counts.completed > 0:
            return
        await asyncio.sleep(0.1)
    raise RuntimeError(f"{batch_id} was not running within {timeout} s")


async def progress_stores(nats_url: str, count: int, concurrency: int) -> tuple[float, float]:
    """Lines per second recorded two ways: the dispatcher's (one KV `create` per line, first
    writer wins) and a work queue's (publish each line, then pull and ack it)."""
    import nats
    from nats.js.api import KeyValueConfig, RetentionPolicy, StreamConfig

    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    kv = await js.create_key_value(KeyValueConfig(bucket="BENCH_RESULTS"))
    value = orjson.dumps({"ok": True, "line": {"custom_id": "x", "body": "y" * 300}})
    todo = list(range(count))

    async def writer() -> None:
        while todo:
            await kv.create(f"b.{todo.pop()}", value)

    started = time.perf_counter()
    await asyncio.gather(*(writer() for _ in range(concurrency)))
    kv_rate = count / (time.perf_counter() - started)

    await js.add_stream(
        StreamConfig(
            name="BENCH_WORK", subjects=["bench.work"], retention=RetentionPolicy.WORK_QUEUE
        )
    )
    started = time.perf_counter()
    todo = list(range(count))

    async def publisher() -> None:
        while todo:
            todo.pop()
            await js.publish("bench.work", value)

    await asyncio.gather(*(publisher() for _ in range(concurrency)))
    sub = await js.pull_subscribe("bench.work", durable="bench")
    taken = 0
    while taken < count:
        batch = await sub.fetch(min(concurrency, count - taken), timeout=5)
        await asyncio.gather(*(msg.ack_sync() for msg in batch))
        taken += len(batch)
    queue_rate = count / (time.perf_counter() - started)
    await nc.close()
    return kv_rate, queue_rate


class CpuMeter:
    """CPU time each process of the run spent over a phase, per request of the phase."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.pids = pids
        self.before: dict[str, float] = {}

    def start(self) -> None:
        self.before = {name: cpu_seconds(pid) for name, pid in self.pids.items()}

    def per_request(self, count: int) -> dict[str, float]:
        """Microseconds of CPU per request since `start`, by process."""
        return {
            name: (cpu_seconds(pid) - self.before[name]) / count * 1e6
            for name, pid in self.pids.items()
        }


def cpu_row(used: dict[str, float]) -> str:
    return ", ".join(f"{name} {us:.0f}" for name, us in used.items()) + " us/request"


async def run(args: argparse.Namespace) -> None:
    scratch = Path(tempfile.mkdtemp(prefix="lc-bench-batch-"))
    children = Children(scratch)
    nats_server = EmbeddedNats(scratch / "nats", sync_always=False).start()
    proxy_pid = 0
    try:
        nats_url = nats_server.url
        up_port = free_port()
        upstream_pid = children.start(
            "upstream",
            [sys.executable, str(HERE), "--serve-upstream", str(up_port),
             "--latency-ms", str(args.latency_ms),
             *(["--gc-log", str(scratch / "upstream-gc.log")] if args.probes else [])],
            1,
        )  # fmt: skip
        upstream = f"http://127.0.0.1:{up_port}"
        await wait_http(f"{upstream}/health")
        await publish_route(nats_url, upstream)
        port = free_port()
        # With --profile, lc-proxy runs under cProfile and writes its profile on exit.
        profiled = ["-m", "cProfile", "-o", str(args.profile)] if args.profile else []
        proxy_pid = children.start(
            "lc-proxy",
            [sys.executable, *profiled, "-m", "lc_proxy.main"],
            args.proxy_cpu or 0,
            env={
                "LC_NATS_URL": nats_url,
                "LC_PROXY_PORT": str(port),
                "LC_PROXY_REPLICA_NAME": "bench-batch",
                "LC_PROXY_BATCH_PER_REPLICA": str(args.concurrency),
                "LC_PROXY_ACCESS_LOG": "false",
                "LC_PROXY_LOG_LEVEL": "warning",
            },
        )
        if args.proxy_cpu is None:
            # Placed like the plain client it is compared with: on any CPU, not confined to
            # one the rest of the machine also uses.
            os.sched_setaffinity(proxy_pid, range(os.cpu_count() or 1))
        assert nats_server._proc is not None
        meter = CpuMeter(
            {
                "upstream": upstream_pid,
                "lc-proxy": proxy_pid,
                "nats-server": nats_server._proc.pid,
                "client": os.getpid(),
            }
        )
        proxy = f"http://127.0.0.1:{port}"
        await wait_routable(proxy)
        client = openai.AsyncOpenAI(base_url=f"{proxy}/v1", api_key="bench", max_retries=2)
        print(
            f"# batch benchmark — {args.requests} requests, concurrency {args.concurrency}, "
            f"upstream latency {args.latency_ms:g} ms, {os.cpu_count()} CPUs, "
            f"lc-proxy on {'any CPU' if args.proxy_cpu is None else f'CPU {args.proxy_cpu}'}, "
            f"load average {os.getloadavg()[0]:.2f}"
        )
        if not args.skip_throughput:
            direct_url = f"{upstream}/v1/chat/completions"
            await direct_rate(direct_url, 500, args.concurrency)
            meter.start()
            direct = await direct_rate(direct_url, args.requests, args.concurrency)
            direct_cpu = meter.per_request(args.requests)
            await direct_rate(f"{proxy}/v1/chat/completions", 500, args.concurrency)
            via_proxy = await direct_rate(
                f"{proxy}/v1/chat/completions", args.requests, args.concurrency
            )
            started = time.perf_counter()
            batch_id = await start_batch(client, args.requests, "t")
            upload_s = time.perf_counter() - started
            created = time.perf_counter()
            meter.start()
            status = await wait_batch(client, batch_id, timeout=600.0)
            batch_rate = args.requests / (time.perf_counter() - created)
            batch_cpu = meter.per_request(args.requests)
            # The machine is shared: the baseline is measured again after the batch and
            # the better of the two kept, so a disturbed baseline cannot flatter the ratio.
            direct = max(direct, await direct_rate(direct_url, args.requests, args.concurrency))
            print(f"\nthroughput (upload of the file took {upload_s:.2f} s, not counted)")
            print(f"  plain client, direct:   {direct:8.0f} req/s")
            print(f"  plain client, lc-proxy: {via_proxy:8.0f} req/s (one request at a time)")
            print(f"  batch through lc-proxy: {batch_rate:8.0f} req/s ({status})")
            print(
                f"  ratio to direct: {batch_rate / direct:.2f} (target >= 0.8); "
                f"to the same requests through lc-proxy: {batch_rate / via_proxy:.2f}"
            )
            print(f"  CPU, direct: {cpu_row(direct_cpu)}")
            print(f"  CPU, batch:  {cpu_row(batch_cpu)}")

        gc_log = scratch / "upstream-gc.log" if args.probes else None
        url = f"{proxy}/v1/chat/completions"
        await interactive(url, args.interactive_rps, 1.0, orjson.dumps(body(0)))  # warm-up
        # Alone and beside a batch in alternating slices, so that a machine whose load
        # drifts weighs on both alike.
        slice_s = args.interactive_s / args.rounds
        alone: dict[str, list[float]] = {}
        beside: dict[str, list[float]] = {}
        done, ran_s, statuses = 0, 0.0, []
        for _ in range(args.rounds):
            for name, found in (
                await interactive_phase(
                    proxy, upstream, args.interactive_rps, slice_s, args.probes, gc_log
                )
            ).items():
                alone.setdefault(name, []).extend(found)
            batch_id = await start_batch(client, args.beside_requests or args.requests, "i")
            await wait_running(client, batch_id, timeout=120.0)
            before = (await client.batches.retrieve(batch_id)).request_counts
            began = time.perf_counter()
            for name, found in (
                await interactive_phase(
                    proxy, upstream, args.interactive_rps, slice_s, args.probes, gc_log
                )
            ).items():
                beside.setdefault(name, []).extend(found)
            ran_s += time.perf_counter() - began
            batch = await client.batches.retrieve(batch_id)
            statuses.append(batch.status)
            done += (batch.request_counts.completed if batch.request_counts else 0) - (
                before.completed if before else 0
            )
            if batch.status == "in_progress":
                await client.batches.cancel(batch_id)
                await wait_batch(client, batch_id, timeout=60.0)
        still = ", ".join(statuses) + " at the end of each slice"
        a = alone["through lc-proxy"]
        b = beside["through lc-proxy"]
        a50, a99 = pct(a, 0.5), pct(a, 0.99)
        b50, b99 = pct(b, 0.5), pct(b, 0.99)
        print(
            f"\ninteractive latency at {args.interactive_rps:g} req/s for "
            f"{args.interactive_s:g} s in {args.rounds} slices each ({len(a)} requests each; "
            f"p99 is the {len(a) - round(0.99 * (len(a) - 1))}th slowest)"
        )
        print(f"  alone:              p50 {a50:7.2f} ms  p99 {a99:7.2f} ms")
        print(f"  beside the batch:   p50 {b50:7.2f} ms  p99 {b99:7.2f} ms  (batch {still})")
        print(f"  ratio: p50 {b50 / a50:.2f}, p99 {b99 / a99:.2f} (target <= 1.25)")
        print(f"  the batch meanwhile: {done / ran_s:.0f} req/s")
        if args.probes:
            print("  probes (p50 / p99 / max ms), alone -> beside the batch:")
            for name in alone:
                if name == "through lc-proxy":
                    continue
                x, y = alone[name], beside[name]
                print(
                    f"    {name:24s} {pct(x, 0.5):6.2f} / {pct(x, 0.99):6.2f} / {max(x):6.2f}"
                    f"  ->  {pct(y, 0.5):6.2f} / {pct(y, 0.99):6.2f} / {max(y):6.2f}"
                )
        await client.close()
        if not args.skip_stores:
            kv_rate, queue_rate = await progress_stores(nats_url, args.requests, args.concurrency)
            print(f"\nrecording {args.requests} line results at concurrency {args.concurrency}")
            print(f"  KV create per line (the dispatcher's): {kv_rate:8.0f} lines/s")
            print(f"  work queue, publish + pull + ack:      {queue_rate:8.0f} lines/s")
    finally:
        if args.profile:
            # uvicorn ends by raising SIGTERM again, which would kill the process before
            # cProfile writes; after SIGINT it raises KeyboardInterrupt, which lets it write.
            for proc in children.procs:
                if proc.pid == proxy_pid and proc.poll() is None:
                    proc.send_signal(signal.SIGINT)
                    with contextlib.suppress(subprocess.TimeoutExpired):
                        proc.wait(30)
        children.stop_all()
        nats_server.stop()
        shutil.rmtree(scratch, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--interactive-rps", type=float, default=20.0)
    parser.add_argument("--interactive-s", type=float, default=30.0)
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="slices the interactive phases are cut in, alone and beside a batch in turn",
    )
    parser.add_argument(
        "--beside-requests",
        type=int,
        help="size of each batch that runs beside interactive traffic (default --requests; "
        "it must outlast a slice, and is cancelled at its end)",
    )
    parser.add_argument(
        "--probes",
        action="store_true",
        help="also time, beside interactive traffic, the upstream directly, lc-proxy's "
        "/healthz and the bench client's loop lag",
    )
    parser.add_argument(
        "--skip-throughput", action="store_true", help="measure interactive latency only"
    )
    parser.add_argument(
        "--proxy-cpu",
        type=int,
        help="pin lc-proxy to this CPU (by default it runs on any, like the plain client)",
    )
    parser.add_argument(
        "--profile", type=Path, help="run lc-proxy under cProfile, writing its profile here"
    )
    parser.add_argument(
        "--skip-stores", action="store_true", help="leave out the KV vs work-queue comparison"
    )
    parser.add_argument("--serve-upstream", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--gc-log", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_upstream:
        serve_upstream(args.serve_upstream, args.latency_ms / 1000.0, args.gc_log)
        return
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
