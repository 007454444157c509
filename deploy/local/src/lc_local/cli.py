"""The `lc` command: `lc up` runs the local stack; `lc sim ...` drives the cluster simulator;
`lc replay` rebuilds the API's projections; `lc events` prints the audit log."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from pathlib import Path

from pydantic import ValidationError

from lc_local.settings import LocalSettings


def _up(args: argparse.Namespace) -> int:
    from lc_local.stack import up

    overrides = {
        key: value
        for key, value in {
            "port": args.port,
            "host": args.host,
            "data_dir": args.data_dir,
            "nats_url": args.nats_url,
            "database_url": args.database_url,
            "kubeconfig": args.kubeconfig,
            "dns_nameservers": args.dns_nameservers,
        }.items()
        if value is not None
    }
    try:
        settings = LocalSettings(**overrides)
    except ValidationError as exc:
        for error in exc.errors():
            print(f"lc up: {error['msg']}", file=sys.stderr)
        return 2
    from lc_local.stack import PortInUse

    try:
        asyncio.run(up(settings))
    except PortInUse as exc:
        print(f"lc up: {exc}", file=sys.stderr)
        return 1
    return 0


def _sim(argv: list[str]) -> int:
    """Delegates to the simulator's CLI, pointed at the running stack's simulator."""
    from lc_clustersim import cli as sim_cli
    from lc_local.stack import Endpoints

    if "LC_SIM_ADMIN_URL" not in os.environ:
        try:
            admin_url = Endpoints.load(LocalSettings().data_dir).sim_admin_url
        except FileNotFoundError:
            admin_url = None
        if admin_url:
            os.environ["LC_SIM_ADMIN_URL"] = admin_url
    return sim_cli.main(argv)


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="lc", description="LiquidCompute local tools.")
    commands = root.add_subparsers(dest="command", required=True)
    up = commands.add_parser("up", help="run the whole platform locally on embedded defaults")
    up.add_argument("--port", type=int, help="HTTP port (LC_PORT, default 8080)")
    up.add_argument("--host", help="bind address (LC_HOST, default 127.0.0.1)")
    up.add_argument("--data-dir", type=Path, help="data directory (LC_DATA_DIR, default .lc)")
    up.add_argument("--nats-url", help="use this NATS instead of the embedded one (LC_NATS_URL)")
    up.add_argument("--database-url", help="use this PostgreSQL instead of the embedded one (LC_DATABASE_URL)")
    up.add_argument("--kubeconfig", type=Path, help="use this cluster instead of the simulator (LC_KUBECONFIG)")
    up.add_argument("--dns-nameservers", help="host:port list for domain checks (LC_DNS_NAMESERVERS)")
    up.set_defaults(run=_up)
    # `lc sim ...` is handed whole to the simulator's own parser (see main).
    commands.add_parser("sim", help="drive the cluster simulator (`lc sim --help`)")
    return root


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["sim"]:
        return _sim(argv[1:])
    args = parser().parse_args(argv)
    return int(args.run(args))


if __name__ == "__main__":
    raise SystemExit(main())
