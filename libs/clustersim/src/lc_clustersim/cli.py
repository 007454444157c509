"""The simulator's command line: `serve`, and clients of a running simulator's admin API.

Who calls it: `python -m lc_clustersim` and the `lc` CLI, which delegates `lc sim ...`
to `main(argv)`. Client subcommands find the admin API from `--admin-url`,
`$LC_SIM_ADMIN_URL`, or `<data dir>/clustersim.json` written by `serve`.

    serve [--gpus 2x4:H100-80GB] [--data-dir DIR] [--api-port N] [--admin-port N]
          [--dns-port N] [--pending-seconds S] [--loading-seconds S] [--ready-seconds S]
    state
    dns set TYPE NAME VALUE... [--ttl N]      dns delete TYPE NAME [VALUE]
    dns list                                  dns fault NAME servfail|timeout|none
    gpu health NAME Healthy|Degraded|Unhealthy
    gpu add SPEC                              gpu remove NAME
    model fail NAMESPACE NAME [--reason TEXT] model kill-streams NAMESPACE NAME
    upstream faults [--latency-ms N] [--error-rate R] [--token-delay-ms N] [--kill-after-chunks N]
    upstream kill-streams
    watches close
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from lc_clustersim.fleet import parse_fleet
from lc_clustersim.sim import STATE_FILE, ClusterSim, SimConfig


def _default_data_dir() -> Path:
    return Path(os.environ.get("LC_DATA_DIR", ".lc"))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lc sim",
        description="Cluster simulator (Kubernetes API, GreenThread engine, DNS zone). "
        "A development and test tool.",
    )
    parser.add_argument("--data-dir", type=Path, default=None, help="default: $LC_DATA_DIR or .lc")
    parser.add_argument("--admin-url", default=os.environ.get("LC_SIM_ADMIN_URL"))
    # --data-dir and --admin-url are accepted before or after the subcommand.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--data-dir", type=Path, default=argparse.SUPPRESS)
    common.add_argument("--admin-url", default=argparse.SUPPRESS)
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", parents=[common], help="run the simulator until interrupted")
    serve.add_argument("--gpus", default=os.environ.get("LC_SIM_GPUS", "2x4:H100-80GB"))
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--api-port", type=int, default=0)
    serve.add_argument("--admin-port", type=int, default=0)
    serve.add_argument("--dns-port", type=int, default=0)
    serve.add_argument("--pending-seconds", type=float, default=0.5)
    serve.add_argument("--loading-seconds", type=float, default=2.0)
    serve.add_argument("--ready-seconds", type=float, default=0.5)

    sub.add_parser(
        "state", parents=[common], help="print where the simulator listens and what runs"
    )

    dns = sub.add_parser(
        "dns", parents=[common], help="records and faults of the DNS zone"
    ).add_subparsers(dest="action", required=True)
    dns_set = dns.add_parser("set", parents=[common])
    dns_set.add_argument("type", choices=["A", "AAAA", "CNAME", "TXT"], type=str.upper)
    dns_set.add_argument("name")
    dns_set.add_argument("values", nargs="+")
    dns_set.add_argument("--ttl", type=int, default=60)
    dns_delete = dns.add_parser("delete", parents=[common])
    dns_delete.add_argument("type", type=str.upper)
    dns_delete.add_argument("name")
    dns_delete.add_argument("value", nargs="?")
    dns.add_parser("list", parents=[common])
    dns_fault = dns.add_parser("fault", parents=[common])
    dns_fault.add_argument("name")
    dns_fault.add_argument("mode", choices=["servfail", "timeout", "none"])

    gpu = sub.add_parser(
        "gpu", parents=[common], help="GPU health and fleet changes"
    ).add_subparsers(dest="action", required=True)
    gpu_health = gpu.add_parser("health", parents=[common])
    gpu_health.add_argument("name")
    gpu_health.add_argument("health", choices=["Healthy", "Degraded", "Unhealthy"])
    gpu_add = gpu.add_parser("add", parents=[common])
    gpu_add.add_argument("spec", help="e.g. 1x2:A100-40GB")
    gpu_remove = gpu.add_parser("remove", parents=[common])
    gpu_remove.add_argument("name")

    model = sub.add_parser("model", parents=[common], help="model faults").add_subparsers(
        dest="action", required=True
    )
    model_fail = model.add_parser("fail", parents=[common])
    model_fail.add_argument("namespace")
    model_fail.add_argument("name")
    model_fail.add_argument("--reason", default="simulated load failure")
    model_kill = model.add_parser("kill-streams", parents=[common])
    model_kill.add_argument("namespace")
    model_kill.add_argument("name")

    upstream = sub.add_parser(
        "upstream", parents=[common], help="simulated model server faults"
    ).add_subparsers(dest="action", required=True)
    faults = upstream.add_parser("faults", parents=[common])
    faults.add_argument("--latency-ms", type=float)
    faults.add_argument("--error-rate", type=float)
    faults.add_argument("--token-delay-ms", type=float)
    faults.add_argument("--kill-after-chunks", type=int)
    upstream.add_parser("kill-streams", parents=[common])

    watches = sub.add_parser(
        "watches", parents=[common], help="Kubernetes API watches"
    ).add_subparsers(dest="action", required=True)
    watches.add_parser("close", parents=[common])
    return parser


async def _serve(args: argparse.Namespace, data_dir: Path) -> int:
    config = SimConfig(
        gpus=args.gpus,
        data_dir=data_dir,
        host=args.host,
        api_port=args.api_port,
        admin_port=args.admin_port,
        dns_port=args.dns_port,
        pending_s=args.pending_seconds,
        loading_s=args.loading_seconds,
        ready_delay_s=args.ready_seconds,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    async with ClusterSim(config) as sim:
        print(json.dumps(sim.describe(), indent=2), flush=True)
        print(f"export KUBECONFIG={sim.kubeconfig_path}", flush=True)
        await stop.wait()
    return 0


def _admin_url(args: argparse.Namespace, data_dir: Path) -> str:
    if args.admin_url:
        return str(args.admin_url).rstrip("/")
    state = data_dir / STATE_FILE
    if not state.exists():
        raise SystemExit(
            f"no running simulator found: {state} is missing; start one with `lc sim serve` "
            "or pass --admin-url"
        )
    return str(json.loads(state.read_text())["adminUrl"]).rstrip("/")


def _call(base: str, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        base + path, data=data, method=method, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        try:
            message = json.loads(exc.read()).get("error", exc.reason)
        except ValueError:
            message = exc.reason
        raise SystemExit(f"error: {message}") from None
    except urllib.error.URLError as exc:
        raise SystemExit(f"error: cannot reach the simulator at {base}: {exc.reason}") from None


def _client(args: argparse.Namespace, base: str) -> Any:
    command, action = args.command, getattr(args, "action", None)
    q = urllib.parse.quote
    if command == "state":
        return _call(base, "GET", "/state")
    if command == "dns":
        if action == "set":
            return _call(
                base,
                "PUT",
                "/dns/records",
                {"type": args.type, "name": args.name, "values": args.values, "ttl": args.ttl},
            )
        if action == "delete":
            query = {"type": args.type, "name": args.name}
            if args.value is not None:
                query["value"] = args.value
            return _call(base, "DELETE", "/dns/records?" + urllib.parse.urlencode(query))
        if action == "list":
            return _call(base, "GET", "/dns/records")
        return _call(base, "PUT", "/dns/faults", {"name": args.name, "mode": args.mode})
    if command == "gpu":
        if action == "health":
            return _call(base, "PUT", f"/gpus/{q(args.name)}/health", {"health": args.health})
        if action == "add":
            return _call(base, "POST", "/gpus", {"spec": args.spec})
        return _call(base, "DELETE", f"/gpus/{q(args.name)}")
    if command == "model":
        path = f"/models/{q(args.namespace)}/{q(args.name)}"
        if action == "fail":
            return _call(base, "POST", path + "/fail", {"reason": args.reason})
        return _call(base, "POST", path + "/kill-streams", {})
    if command == "upstream":
        if action == "faults":
            return _call(
                base,
                "PUT",
                "/upstreams/faults",
                {
                    "latencyMs": args.latency_ms,
                    "errorRate": args.error_rate,
                    "tokenDelayMs": args.token_delay_ms,
                    "killAfterChunks": args.kill_after_chunks,
                },
            )
        return _call(base, "POST", "/upstreams/kill-streams", {})
    return _call(base, "POST", "/watches/close", {})


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(sys.argv[1:] if argv is None else argv)
    data_dir = args.data_dir or _default_data_dir()
    if args.command == "serve":
        try:
            parse_fleet(args.gpus)
        except ValueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        return asyncio.run(_serve(args, data_dir))
    try:
        result = _client(args, _admin_url(args, data_dir))
    except SystemExit as exc:
        print(exc.code, file=sys.stderr)
        return 1
    print(json.dumps(result, indent=2))
    return 0
