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

from lc_api.settings import ApiSettings
from lc_local.settings import LocalSettings
from lc_runtime.logs import configure_logging


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
            print(f"lc up: {error['msg'].removeprefix('Value error, ')}", file=sys.stderr)
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


def _api_settings() -> ApiSettings:
    """lcd's settings pointed at the running stack (or at LC_NATS_URL / LC_DATABASE_URL)."""
    from lc_api.settings import ApiSettings
    from lc_local.stack import Endpoints

    overrides: dict[str, str] = {}
    try:
        endpoints = Endpoints.load(LocalSettings().data_dir)
        overrides = {"nats_url": endpoints.nats_url, "database_url": endpoints.database_url}
    except FileNotFoundError:
        if "LC_NATS_URL" not in os.environ:
            raise SystemExit("lc: no running stack found; start `lc up` or set LC_NATS_URL") from None
    explicit = {k: v for k, v in overrides.items() if f"LC_{k.upper()}" not in os.environ}
    return ApiSettings().model_copy(update=explicit)


def _replay(args: argparse.Namespace) -> int:
    from lc_api.cli_commands import ReplayBlocked, replay

    try:
        asyncio.run(replay(_api_settings()))
    except ReplayBlocked as exc:
        print(f"lc replay: {exc}", file=sys.stderr)
        return 1
    print("lc replay: every projection rebuilt from the event stream")
    return 0


def _events(args: argparse.Namespace) -> int:
    from lc_api.cli_commands import print_events

    asyncio.run(
        print_events(
            _api_settings(),
            after=args.after,
            limit=args.limit,
            types=args.type or (),
            project=args.project,
            follow=args.follow,
            as_json=args.json,
        )
    )
    return 0


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
    replay = commands.add_parser("replay", help="drop and rebuild every projection from the event stream")
    replay.set_defaults(run=_replay)

    events = commands.add_parser("events", help="print the audit log")
    events.add_argument("--after", type=int, default=0, help="start after this stream sequence")
    events.add_argument("--limit", type=int, help="stop after this many events")
    events.add_argument("--type", action="append", help="only this event type (repeatable)")
    events.add_argument("--project", help="only events of this project")
    events.add_argument("--follow", "-f", action="store_true", help="keep printing new events")
    events.add_argument("--json", action="store_true", help="one JSON envelope per line")
    events.set_defaults(run=_events)

    # `lc sim ...` is handed whole to the simulator's own parser (see main).
    commands.add_parser("sim", help="drive the cluster simulator (`lc sim --help`)")
    return root


def main(argv: list[str] | None = None) -> int:
    configure_logging()
    logging.getLogger("alembic").setLevel(logging.WARNING)
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["sim"]:
        return _sim(argv[1:])
    args = parser().parse_args(argv)
    return int(args.run(args))


if __name__ == "__main__":
    raise SystemExit(main())
