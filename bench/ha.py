"""HA benchmark on the `lc up --ha` topology: what a second replica buys, and how long
failover takes.

Run: `uv run python bench/ha.py [--creates 1000] [--concurrency 32] [--kills 5]`.

Starts `lc up --ha` (three NATS nodes, PostgreSQL, the simulator, two of every process)
in a scratch directory and prints from one run:
- creates/s (`POST /api/v1/projects`) at the given concurrency through the gateway, which
  balances over both lcd replicas, and straight to one lcd replica; their ratio;
- reconciler failover: SIGKILL the process holding the `lc-reconciler` Lease, time until
  another process holds it (the supervisor restarts the killed one meanwhile, which then
  stands by); p50 and max over `--kills`;
- write unavailability across NATS leader kills: creates one after another through the
  gateway while the node leading LC_EVENTS is SIGKILLed; the longest time between a
  write's start and the next 2xx (refused and failed writes are retried), per kill, and
  the max over `--kills` (each killed node is restarted by the supervisor and back in
  the cluster before the next kill).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from kubernetes_asyncio import client, config

from lc_embedded import free_port
from lc_eventstore import connect

START_DEADLINE_S = 300.0


def start_stack(data_dir: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LC_")}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "lc_local.cli",
            "up",
            "--ha",
            "--port",
            str(port),
            "--data-dir",
            str(data_dir),
        ],
        env=env,
        stdout=(data_dir.parent / "lc-up.log").open("ab"),
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + START_DEADLINE_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"lc up --ha exited; see {data_dir.parent / 'lc-up.log'}")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return proc, url
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise SystemExit("lc up --ha was not healthy in time")


def stack_json(data_dir: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((data_dir / "stack.json").read_text())
    return data


async def creates_per_s(url: str, prefix: str, creates: int, concurrency: int) -> float:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as http:
        queue = list(range(creates))

        async def worker() -> None:
            while queue:
                i = queue.pop()
                answer = await http.post(
                    "/api/v1/projects", json={"name": prefix, "slug": f"{prefix}{i}"}
                )
                assert answer.status_code in (201, 202), answer.text

        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return creates / (time.perf_counter() - began)


async def holder(leases: client.CoordinationV1Api) -> str:
    lease = await leases.read_namespaced_lease("lc-reconciler", "default")
    return str(lease.spec.holder_identity or "")


async def until(check: Any, interval_s: float = 0.05, timeout_s: float = 120.0) -> Any:
    """Poll `check()` (a coroutine function) until it returns something truthy."""
    deadline = time.monotonic() + timeout_s
    while not (value := await check()):
        if time.monotonic() > deadline:
            raise TimeoutError(f"{check.__name__} not met within {timeout_s} s")
        await asyncio.sleep(interval_s)
    return value


async def reconciler_failovers(
    data_dir: Path, leases: client.CoordinationV1Api, kills: int
) -> list[float]:
    times = []
    for _ in range(kills):
        leader = await until(lambda: holder(leases), interval_s=0.2)
        os.kill(stack_json(data_dir)["pids"][leader.split("_")[0]], signal.SIGKILL)
        killed = time.monotonic()

        async def another(leader: str = leader) -> str | None:
            now = await holder(leases)
            return now if now not in ("", leader) else None

        successor = await until(another)
        times.append(time.monotonic() - killed)
        print(
            f"  reconciler {leader} killed → {successor} leads after {times[-1]:.1f} s", flush=True
        )
    return times


async def longest_write_wait(http: httpx.AsyncClient, prefix: str, stop: asyncio.Event) -> float:
    """Creates one after another until `stop`; the longest wait for one to be answered 2xx."""
    longest = 0.0
    i = 0
    while not stop.is_set():
        began = time.monotonic()
        while True:
            try:
                answer = await http.post(
                    "/api/v1/projects", json={"name": "g", "slug": f"{prefix}x{i}"}
                )
                if answer.status_code in (201, 202, 409):  # 409: an earlier try landed
                    break
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.05)
        longest = max(longest, time.monotonic() - began)
        i += 1
    return longest


async def write_gaps(url: str, data_dir: Path, kills: int) -> list[float]:
    """Per NATS leader kill: the longest wait for a 2xx while one write follows another."""
    nc = await connect(stack_json(data_dir)["nats_url"], name="bench-ha")
    js = nc.jetstream()
    gaps = []
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        for k in range(kills):
            stop = asyncio.Event()
            writer = asyncio.create_task(longest_write_wait(http, f"gap{k}", stop))
            await asyncio.sleep(2)
            cluster = (await js.stream_info("LC_EVENTS")).cluster
            assert cluster is not None, "LC_EVENTS is not clustered"
            leader = cluster.leader
            os.kill(stack_json(data_dir)["pids"][f"nats-{leader}"], signal.SIGKILL)
            await asyncio.sleep(8)
            stop.set()
            gaps.append(await writer)
            print(f"  NATS leader {leader} killed: longest write wait {gaps[-1]:.2f} s", flush=True)

            async def all_running() -> bool:
                health = (await http.get("/healthz")).json()
                return all(v == "running" for v in health["servers"].values())

            # The supervisor restarts the node; it rejoins before the next kill.
            await until(all_running, interval_s=0.5)
            await asyncio.sleep(3)
    await nc.close()
    return gaps


async def measure(url: str, data_dir: Path, creates: int, concurrency: int, kills: int) -> None:
    endpoints = stack_json(data_dir)
    await creates_per_s(url, "warm", 100, concurrency)
    one = await creates_per_s(endpoints["replicas"]["lcd-1"], "one", creates, concurrency)
    two = await creates_per_s(url, "two", creates, concurrency)
    print(
        f"creates/s, concurrency {concurrency}, n={creates}: one lcd {one:,.0f}/s, "
        f"two lcd behind the gateway {two:,.0f}/s, ratio {two / one:.2f}",
        flush=True,
    )

    configuration = client.Configuration()
    await config.load_kube_config(
        config_file=endpoints["kubeconfig"], client_configuration=configuration
    )
    async with client.ApiClient(configuration) as api:
        failovers = await reconciler_failovers(data_dir, client.CoordinationV1Api(api), kills)
    print(
        f"reconciler failover over {kills} kills: p50 {statistics.median(failovers):.1f} s, "
        f"max {max(failovers):.1f} s",
        flush=True,
    )
    gaps = await write_gaps(url, data_dir, kills)
    print(
        f"write unavailability over {kills} NATS leader kills: longest {max(gaps):.2f} s, "
        f"p50 {statistics.median(gaps):.2f} s",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--creates", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--kills", type=int, default=5)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="lc-bench-ha-"))
    proc, url = start_stack(root / "lc")
    try:
        asyncio.run(measure(url, root / "lc", args.creates, args.concurrency, args.kills))
    finally:
        proc.terminate()
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
