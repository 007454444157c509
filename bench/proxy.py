"""lc-proxy benchmark: added latency, throughput, streaming overhead and memory, in one run.

Run: `uv run python bench/proxy.py [--quick] [--no-litellm] [--rss-requests 100000]`.

Everything talks over loopback to one simulated upstream (`SimulatedUpstream`, in its
own process pinned to CPU 1). Each proxy under test runs alone in its own process pinned
to CPU 0 (uvicorn + uvloop + httptools); the load generator shares CPU 1 with the
upstream, except for the headline chunk throughput below. Rows, each measured in this
run against the same upstream:

- added latency at concurrency 1 (non-streaming chat completion, p50 and p99 of proxied
  minus direct), for lc-proxy with aiohttp and with httpx as its upstream client, for a
  bare pass-through (receive, forward, return — nothing else) on each library, and for
  LiteLLM's proxy (`litellm[proxy]==1.105.7`, installed by this script into a throwaway
  venv under the temp dir, never into the workspace);
- throughput at concurrency 64 (`wrk`, or a Python load generator when `wrk` is not
  installed), and lc-proxy's ratio to the bare pass-through on the same library;
- streaming: time to first chunk, proxied minus direct (p50), and chunk throughput of a
  long stream as a ratio to direct, with the reading client on the proxy's core (the
  headline: the upstream's reader is on the other core in both cases) and on the
  upstream's core (where the direct baseline alone skips a cross-core wake-up per chunk);
- RSS growth of one lc-proxy process over `--rss-requests` requests.

Bounded: every load phase stops after a fixed time or request count; every child process
is stopped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import orjson
from throwaway_venv import throwaway_venv

from lc_embedded import free_port

MODEL = "sim-model"
CHAT_BODY = orjson.dumps(
    {"model": MODEL, "messages": [{"role": "user", "content": "Say something short."}]}
)
LITELLM_VERSION = "1.105.7"
# LiteLLM's proxy refuses to start without a master key; every target gets the header
# (lc-proxy drops it, the simulated upstream ignores it), so all rows send the same bytes.
MASTER_KEY = "sk-" + secrets.token_hex(32)
HEADERS = {"content-type": "application/json", "authorization": f"Bearer {MASTER_KEY}"}
PROXY_CPU = 0
UPSTREAM_CPU = 1
HERE = Path(__file__).resolve()


# -- child processes -----------------------------------------------------------------


def _pin(cpu: int) -> None:
    with contextlib.suppress(OSError, AttributeError, ValueError):
        os.sched_setaffinity(0, {cpu % (os.cpu_count() or 1)})


def serve_upstream(port: int) -> None:
    import uvloop

    from lc_clustersim.upstream import SimulatedUpstream

    async def run() -> None:
        upstream = SimulatedUpstream(models=[MODEL])
        await upstream.start(port=port)
        await asyncio.Event().wait()

    uvloop.run(run())


def bare_passthrough_app(kind: str, upstream: str) -> Any:
    """The ceiling: receive, forward to one upstream, return. Nothing else."""
    state: dict[str, Any] = {}

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    if kind == "aiohttp":
                        state["client"] = aiohttp.ClientSession(
                            connector=aiohttp.TCPConnector(limit=1024)
                        )
                    else:
                        import httpx

                        state["client"] = httpx.AsyncClient(
                            limits=httpx.Limits(max_connections=1024)
                        )
                    await send({"type": "lifespan.startup.complete"})
                else:
                    client = state["client"]
                    await (client.close() if kind == "aiohttp" else client.aclose())
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        body = b""
        more = True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        url = upstream + scope["path"]
        headers = {"content-type": "application/json"}
        client = state["client"]
        if kind == "aiohttp":
            async with client.post(url, data=body, headers=headers) as response:
                payload = await response.read()
                status = response.status
                content_type = response.headers.get("Content-Type", "application/json")
        else:
            response = await client.post(url, content=body, headers=headers)
            payload, status = response.content, response.status_code
            content_type = response.headers.get("content-type", "application/json")
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", content_type.encode()),
                    (b"content-length", str(len(payload)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": payload})

    return app


def serve_bare(kind: str, port: int, upstream: str) -> None:
    import uvicorn

    uvicorn.run(
        bare_passthrough_app(kind, upstream),
        host="127.0.0.1",
        port=port,
        loop="uvloop",
        http="httptools",
        lifespan="on",
        access_log=False,
        log_config=None,
        server_header=False,
        date_header=False,
    )


def child_main(args: argparse.Namespace) -> None:
    _pin(args.cpu)
    if args.serve == "upstream":
        serve_upstream(args.port)
    elif args.serve in ("bare-aiohttp", "bare-httpx"):
        serve_bare(args.serve.removeprefix("bare-"), args.port, args.upstream)
    else:
        raise SystemExit(f"unknown role {args.serve}")


class Children:
    """Processes started by this run; all stopped on exit."""

    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self, name: str, cmd: list[str], cpu: int, env: dict[str, str] | None = None) -> int:
        log = (self.logs / f"{name}.log").open("wb")
        proc = subprocess.Popen(
            cmd,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**os.environ, **(env or {})},
            preexec_fn=lambda: _pin(cpu),
            start_new_session=True,
        )
        self.procs.append(proc)
        return proc.pid

    def stop(self, pid: int) -> None:
        for proc in self.procs:
            if proc.pid == pid and proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait(5)

    def stop_all(self) -> None:
        for proc in self.procs:
            self.stop(proc.pid)


def self_cmd(role: str, port: int, cpu: int, upstream: str = "") -> list[str]:
    cmd = [sys.executable, str(HERE), "--serve", role, "--port", str(port), "--cpu", str(cpu)]
    return [*cmd, "--upstream", upstream] if upstream else cmd


async def wait_http(url: str, timeout: float = 60.0, method: str = "GET") -> None:
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as session:
        while True:
            with contextlib.suppress(aiohttp.ClientError, OSError):
                async with session.request(method, url) as response:
                    if response.status < 500:
                        return
            if time.monotonic() > deadline:
                raise RuntimeError(f"{url} did not come up within {timeout} s")
            await asyncio.sleep(0.1)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (robust to a noisy neighbour)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024.0
    raise RuntimeError("no VmRSS")


# -- measurements --------------------------------------------------------------------


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def latencies(targets: dict[str, str], count: int) -> dict[str, list[float]]:
    """Per-request latency (ms) at concurrency 1, targets interleaved in rounds of 50."""
    samples: dict[str, list[float]] = {name: [] for name in targets}
    headers = HEADERS
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1)) as session:
        for url in targets.values():  # warm-up
            for _ in range(100):
                async with session.post(url, data=CHAT_BODY, headers=headers) as response:
                    await response.read()
        for _ in range(max(1, count // 50)):
            for name, url in targets.items():
                for _ in range(50):
                    started = time.perf_counter()
                    async with session.post(url, data=CHAT_BODY, headers=headers) as response:
                        await response.read()
                        assert response.status == 200, (name, response.status)
                    samples[name].append((time.perf_counter() - started) * 1000.0)
    return samples


def wrk_script(directory: Path, body: bytes) -> Path:
    script = directory / "post.lua"
    script.write_text(
        'wrk.method = "POST"\n'
        f"wrk.body = [[{body.decode()}]]\n"
        'wrk.headers["Content-Type"] = "application/json"\n'
        f'wrk.headers["Authorization"] = "Bearer {MASTER_KEY}"\n'
    )
    return script


def run_wrk(url: str, seconds: float, scratch: Path) -> tuple[float, int, int]:
    """(requests/s, requests, non-2xx) from wrk with 1 thread, 64 connections, on CPU 1."""
    cmd = [
        "wrk",
        "-t1",
        "-c64",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "10s",
        "-s",
        str(wrk_script(scratch, CHAT_BODY)),
        url,
    ]
    out = subprocess.run(
        cmd,
        capture_output=True,
        text=True,
        timeout=seconds + 60,
        preexec_fn=lambda: _pin(UPSTREAM_CPU),
        check=True,
    ).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    failures = int(bad.group(1)) if bad else 0
    if errors:
        failures += sum(int(g) for g in errors.groups())
    return rate, total, failures


async def python_load(url: str, seconds: float) -> tuple[float, int, int]:
    """Fallback load generator (64 concurrent keep-alive clients) when wrk is missing."""
    done = 0
    failures = 0
    deadline = time.monotonic() + seconds
    headers = HEADERS

    async def worker(session: aiohttp.ClientSession) -> None:
        nonlocal done, failures
        while time.monotonic() < deadline:
            async with session.post(url, data=CHAT_BODY, headers=headers) as response:
                await response.read()
                done += 1
                failures += response.status != 200

    started = time.monotonic()
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=64)) as session:
        await asyncio.gather(*(worker(session) for _ in range(64)))
    return done / (time.monotonic() - started), done, failures


async def throughput(url: str, seconds: float, scratch: Path) -> tuple[float, int, int]:
    if shutil.which("wrk"):
        return await asyncio.to_thread(run_wrk, url, seconds, scratch)
    return await python_load(url, seconds)


async def _chunk_rate(
    session: aiohttp.ClientSession, url: str, body: bytes, cpu_of: dict[str, int]
) -> tuple[float, dict[str, float]]:
    """Chunks/s of one stream, and the CPU seconds each watched process spent on it."""
    before = {name: cpu_seconds(pid) for name, pid in cpu_of.items()}
    started = time.perf_counter()
    async with session.post(url, data=body, headers=HEADERS) as response:
        payload = await response.read()
    rate = payload.count(b"data: ") / (time.perf_counter() - started)
    return rate, {name: cpu_seconds(pid) - before[name] for name, pid in cpu_of.items()}


async def stream_figures(
    direct: str, proxied: str, count: int, cpu_of: dict[str, int]
) -> dict[str, float]:
    """TTFT p50/p99 (ms) of both, and chunk throughput of a long stream (events/s, best of
    6 streams of 20,000 chunks each, direct and proxied alternated: long enough, at some
    100k chunks/s, for the steady state to outweigh a stream's start).

    Chunk throughput is measured twice, with the reading client on each core. Beside the
    proxy (the headline), the upstream's reader sits on the other core both direct and
    proxied, as it would on any real network, and the proxy's every cycle is taken from
    the client's core. Beside the upstream, the direct baseline gets what no proxied
    stream can: its reader on the writer's own core, where the writer never wakes another
    core per chunk."""
    short = orjson.dumps(
        {
            "model": MODEL,
            "messages": [{"role": "user", "content": "hi"}],
            "stream": True,
            "max_tokens": 8,
        }
    )
    long = orjson.dumps(
        {
            "model": MODEL,
            "messages": [{"role": "user", "content": "long"}],
            "stream": True,
            "max_tokens": 20000,
        }
    )
    ttft: dict[str, list[float]] = {"direct": [], "proxied": []}
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1)) as session:
        for round_ in range(count // 50 + 1):
            for name, url in (("direct", direct), ("proxied", proxied)):
                for _ in range(50):
                    started = time.perf_counter()
                    async with session.post(url, data=short, headers=HEADERS) as response:
                        await response.content.readany()
                        first = time.perf_counter() - started
                        await response.read()
                    if round_:  # the first round warms up
                        ttft[name].append(first * 1000.0)
        figures = {
            "ttft_direct_p50": pct(ttft["direct"], 0.5),
            "ttft_proxied_p50": pct(ttft["proxied"], 0.5),
            "ttft_direct_p99": pct(ttft["direct"], 0.99),
            "ttft_proxied_p99": pct(ttft["proxied"], 0.99),
        }
        for where, cpu in (("beside_proxy", PROXY_CPU), ("beside_upstream", UPSTREAM_CPU)):
            _pin(cpu)
            rate: dict[str, list[float]] = {"direct": [], "proxied": []}
            for _ in range(6):
                for name, url in (("direct", direct), ("proxied", proxied)):
                    chunks_per_s, spent = await _chunk_rate(session, url, long, cpu_of)
                    rate[name].append(chunks_per_s)
                    for process, seconds in spent.items():
                        key = f"cpu_{process}_{name}_{where}"
                        figures[key] = figures.get(key, 0.0) + seconds / 6
            # Best of 6 alternated streams each: a long stream at full speed is the
            # figure most disturbed by whatever else runs on the machine.
            figures[f"chunks_direct_{where}"] = max(rate["direct"])
            figures[f"chunks_proxied_{where}"] = max(rate["proxied"])
        _pin(UPSTREAM_CPU)
    return figures


# -- LiteLLM -------------------------------------------------------------------------


def litellm_venv(root: Path) -> tuple[Path | None, str]:
    """A venv with litellm[proxy]==LITELLM_VERSION (reused across runs), or why not."""
    return throwaway_venv(
        root,
        f"lc-bench-litellm-{LITELLM_VERSION}",
        [f"litellm[proxy]=={LITELLM_VERSION}"],
        "litellm",
    )


def litellm_config(directory: Path, upstream: str) -> Path:
    config = directory / "litellm.yaml"
    config.write_text(
        "model_list:\n"
        f"  - model_name: {MODEL}\n"
        "    litellm_params:\n"
        f"      model: openai/{MODEL}\n"
        f"      api_base: {upstream}/v1\n"
        "      api_key: sk-bench\n"
        "litellm_settings:\n"
        "  telemetry: false\n"
        "  drop_params: true\n"
    )
    return config


# -- the run -------------------------------------------------------------------------


async def publish_route(nats_url: str, upstream: str) -> None:
    import nats

    from lc_contracts.specs import Endpoint
    from lc_contracts.status import Replica, ServicePhase, ServiceStatus
    from lc_contracts.subjects import service_status_subject
    from lc_eventstore import provision_streams, publish_status

    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    await provision_streams(js)
    status = ServiceStatus(
        project_slug="bench",
        service_name="sim",
        phase=ServicePhase.READY,
        model_name=MODEL,
        endpoints=list(Endpoint),
        replicas=[Replica(name="sim-0", url=upstream)],
        ready_replicas=1,
        observed_at=datetime.now(UTC),
    )
    await publish_status(js, service_status_subject("bench", "sim"), status)
    await nc.drain()


async def wait_routable(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            with contextlib.suppress(aiohttp.ClientError, OSError):
                async with session.get(f"{url}/v1/models/{MODEL}") as response:
                    if response.status == 200:
                        return
            await asyncio.sleep(0.05)
    raise RuntimeError(f"{url} never routed {MODEL}")


@contextlib.contextmanager
def embedded_nats(root: Path) -> Iterator[str]:
    from lc_embedded import EmbeddedNats

    server = EmbeddedNats(root / "nats", sync_always=False).start()
    try:
        yield server.url
    finally:
        server.stop()


async def run(args: argparse.Namespace) -> None:
    _pin(UPSTREAM_CPU)
    scratch = Path(tempfile.mkdtemp(prefix="lc-bench-proxy-"))
    children = Children(scratch)
    seconds = 2.0 if args.quick else 4.0
    lat_count = 500 if args.quick else 2000
    try:
        with embedded_nats(scratch) as nats_url:
            up_port = free_port()
            upstream_pid = children.start(
                "upstream", self_cmd("upstream", up_port, UPSTREAM_CPU), UPSTREAM_CPU
            )
            upstream = f"http://127.0.0.1:{up_port}"
            await wait_http(f"{upstream}/health")
            await publish_route(nats_url, upstream)

            ports: dict[str, int] = {}
            pids: dict[str, int] = {}
            for kind in ("aiohttp", "httpx"):
                port = ports[f"lc-proxy/{kind}"] = free_port()
                pids[f"lc-proxy/{kind}"] = children.start(
                    f"lc-proxy-{kind}",
                    [sys.executable, "-m", "lc_proxy.main"],
                    PROXY_CPU,
                    env={
                        "LC_NATS_URL": nats_url,
                        "LC_PROXY_PORT": str(port),
                        "LC_PROXY_UPSTREAM_CLIENT": kind,
                        "LC_PROXY_REPLICA_NAME": f"bench-{kind}",
                        "LC_PROXY_PROVISION_STREAMS": "false",
                    },
                )
                port = ports[f"bare/{kind}"] = free_port()
                pids[f"bare/{kind}"] = children.start(
                    f"bare-{kind}", self_cmd(f"bare-{kind}", port, PROXY_CPU, upstream), PROXY_CPU
                )
            litellm_note = "skipped (--no-litellm)"
            if not args.no_litellm:
                exe, why = await asyncio.to_thread(litellm_venv, Path(tempfile.gettempdir()))
                if exe is None:
                    litellm_note = f"not run: {why}"
                else:
                    port = ports["litellm"] = free_port()
                    pids["litellm"] = children.start(
                        "litellm",
                        [
                            str(exe),
                            "--config",
                            str(litellm_config(scratch, upstream)),
                            "--host",
                            "127.0.0.1",
                            "--port",
                            str(port),
                            "--num_workers",
                            "1",
                        ],
                        PROXY_CPU,
                        env={
                            "LITELLM_MASTER_KEY": MASTER_KEY,
                            "LITELLM_LOG": "ERROR",
                            "LITELLM_TELEMETRY": "False",
                            "DISABLE_SCHEMA_UPDATE": "True",
                        },
                    )
                    litellm_note = ""
            for name, port in ports.items():
                base = f"http://127.0.0.1:{port}"
                if name.startswith("lc-proxy"):
                    await wait_routable(base)
                elif name == "litellm":
                    try:
                        await wait_http(f"{base}/health/liveliness", timeout=180.0)
                    except RuntimeError as exc:
                        tail = (scratch / "litellm.log").read_text(errors="replace")[-400:]
                        litellm_note = f"not run: {exc}; its log ends with: {tail}"
                        children.stop(pids.pop("litellm"))
                        del ports["litellm"]
                        break
                else:
                    await wait_http(base, timeout=30.0)

            path = "/v1/chat/completions"
            targets = {"direct": f"{upstream}{path}"} | {
                name: f"http://127.0.0.1:{port}{path}" for name, port in ports.items()
            }

            print(
                f"# lc-proxy benchmark — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, "
                f"{os.cpu_count()} CPUs, load generator: {'wrk' if shutil.which('wrk') else 'python'}"
            )
            lat = await latencies(targets, lat_count)
            direct50, direct99 = pct(lat["direct"], 0.5), pct(lat["direct"], 0.99)
            print(
                f"\nlatency at concurrency 1, {lat_count} requests each "
                f"(direct p50 {direct50:.3f} ms, p99 {direct99:.3f} ms)"
            )
            print(f"{'target':<18}{'p50 ms':>9}{'p99 ms':>9}{'+p50 ms':>9}{'+p99 ms':>9}")
            for name in targets:
                p50, p99 = pct(lat[name], 0.5), pct(lat[name], 0.99)
                print(
                    f"{name:<18}{p50:>9.3f}{p99:>9.3f}{p50 - direct50:>+9.3f}{p99 - direct99:>+9.3f}"
                )

            print(
                f"\nthroughput at concurrency 64: best of {args.rounds} interleaved rounds "
                f"of {seconds:g} s per target (the machine is shared: the best round is the "
                "one least disturbed)"
            )
            rates: dict[str, float] = {}
            cpu_us: dict[str, float] = {}
            for url in targets.values():
                await throughput(url, 1.0, scratch)  # warm-up
            for _ in range(args.rounds):
                for name, url in targets.items():
                    pid = pids.get(name)
                    cpu_before = cpu_seconds(pid) if pid else 0.0
                    rate, total, failures = await throughput(url, seconds, scratch)
                    if failures:
                        print(f"  {name}: {failures} of {total} requests failed")
                    rates[name] = max(rates.get(name, 0.0), rate)
                    if pid:
                        used = (cpu_seconds(pid) - cpu_before) / max(total, 1) * 1e6
                        cpu_us[name] = min(cpu_us.get(name, float("inf")), used)
            for name in targets:
                cpu = f"{cpu_us[name]:>8.0f} us CPU/request" if name in cpu_us else ""
                print(f"{name:<18}{rates[name]:>10.0f} req/s{cpu}")
            for kind in ("aiohttp", "httpx"):
                ratio = rates[f"lc-proxy/{kind}"] / rates[f"bare/{kind}"]
                cpu_ratio = cpu_us[f"bare/{kind}"] / cpu_us[f"lc-proxy/{kind}"]
                print(
                    f"lc-proxy/{kind} vs bare/{kind}: {ratio:.2f} by throughput, "
                    f"{cpu_ratio:.2f} by CPU per request (target >= 0.6)"
                )
            winner = max(("aiohttp", "httpx"), key=lambda k: rates[f"lc-proxy/{k}"])
            print(
                f"faster upstream client in lc-proxy: {winner} "
                f"({rates['lc-proxy/aiohttp'] / rates['lc-proxy/httpx']:.1f}x aiohttp/httpx)"
            )
            if "litellm" in rates:
                print(
                    f"lc-proxy/aiohttp vs litellm: {rates['lc-proxy/aiohttp'] / rates['litellm']:.1f}x "
                    f"by throughput, {cpu_us['litellm'] / cpu_us['lc-proxy/aiohttp']:.1f}x by CPU "
                    "per request (target >= 30x)"
                )
            else:
                print(f"litellm: {litellm_note}")
            for name in [n for n in list(pids) if n != "lc-proxy/aiohttp"]:
                children.stop(pids.pop(name))

            proxied = targets["lc-proxy/aiohttp"]
            stream = await stream_figures(
                targets["direct"],
                proxied,
                300 if args.quick else 1000,
                {"upstream": upstream_pid, "proxy": pids["lc-proxy/aiohttp"]},
            )
            print("\nstreaming (lc-proxy/aiohttp vs direct)")
            print(
                f"TTFT p50 direct {stream['ttft_direct_p50']:.3f} ms, proxied "
                f"{stream['ttft_proxied_p50']:.3f} ms: overhead "
                f"{stream['ttft_proxied_p50'] - stream['ttft_direct_p50']:+.3f} ms (target <= 1 ms); "
                f"p99 overhead {stream['ttft_proxied_p99'] - stream['ttft_direct_p99']:+.3f} ms"
            )
            for where, label in (
                ("beside_proxy", "client beside the proxy (headline)"),
                ("beside_upstream", "client beside the upstream"),
            ):
                direct_rate = stream[f"chunks_direct_{where}"]
                proxied_rate = stream[f"chunks_proxied_{where}"]
                print(
                    f"chunk throughput, {label}: direct {direct_rate:.0f}/s, proxied "
                    f"{proxied_rate:.0f}/s: {proxied_rate / direct_rate:.2f} of direct"
                    + (" (target >= 0.85)" if where == "beside_proxy" else "")
                )
                print(
                    "  CPU s per stream: upstream "
                    f"{stream[f'cpu_upstream_direct_{where}']:.3f} direct, "
                    f"{stream[f'cpu_upstream_proxied_{where}']:.3f} proxied; lc-proxy "
                    f"{stream[f'cpu_proxy_proxied_{where}']:.3f}"
                )

            pid = pids["lc-proxy/aiohttp"]
            await throughput(proxied, 2.0, scratch)
            before = rss_mb(pid)
            limit = args.rss_requests
            started = time.monotonic()
            total = failures = 0
            # Slices of at most 10 s until `limit` requests were answered; bounded to 60 slices.
            for _ in range(60):
                if total >= limit:
                    break
                left = (limit - total) / max(rates["lc-proxy/aiohttp"], 100.0)
                _, done, failed = await throughput(proxied, min(10.0, left + 1.0), scratch)
                total += done
                failures += failed
            rate = total / (time.monotonic() - started)
            after = rss_mb(pid)
            print(
                f"\nRSS over {total} requests ({rate:.0f} req/s, {failures} failed): "
                f"{before:.1f} -> {after:.1f} MiB, growth {after - before:+.1f} MiB (target < 50)"
            )
    finally:
        children.stop_all()
        shutil.rmtree(scratch, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer samples, shorter phases")
    parser.add_argument("--no-litellm", action="store_true", help="skip the LiteLLM rows")
    parser.add_argument("--rss-requests", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3, help="throughput rounds per target")
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--cpu", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--upstream", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        child_main(args)
        return
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
