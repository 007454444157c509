"""The `lc` command: `lc up` runs the local stack; `lc sim ...` drives the cluster simulator;
`lc replay` rebuilds the API's projections; `lc events` prints the audit log; `lc state`
and `lc diff` answer audit questions (a project at a moment, changes between two); `lc
audit verify` checks the read models against the log; `lc orphans` lists the objects the
reconciler found without history and asks it to adopt or delete one."""

from __future__ import annotations

import argparse
import asyncio
import json
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
            "ha": args.ha or None,
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
            raise SystemExit(
                "lc: no running stack found; start `lc up` or set LC_NATS_URL"
            ) from None
    explicit = {k: v for k, v in overrides.items() if f"LC_{k.upper()}" not in os.environ}
    return ApiSettings().model_copy(update=explicit)


def _replay(args: argparse.Namespace) -> int:
    from lc_api.cli_commands import ReplayError, replay

    try:
        asyncio.run(replay(_api_settings(), progress_to=sys.stderr))
    except ReplayError as exc:
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


def _audit_verify(args: argparse.Namespace) -> int:
    from lc_api.log_audit import render, verify

    verdict = asyncio.run(verify(_api_settings()))
    print(render(verdict))
    return 0 if verdict.ok else 1


def _state(args: argparse.Namespace) -> int:
    from lc_local.audit_cli import api_base, fetch, render_state

    params = {"at": args.at} if args.at else {}
    state = fetch(api_base(args.api), f"/v1/projects/{args.project}/state", params)
    print(json.dumps(state, indent=2) if args.json else render_state(state))
    return 0


def _diff(args: argparse.Namespace) -> int:
    from lc_local.audit_cli import api_base, fetch, render_diff

    params = {"from": args.from_}
    if args.to:
        params["to"] = args.to
    if args.project:
        params["project"] = args.project
    diff = fetch(api_base(args.api), "/v1/audit/diff", params)
    print(json.dumps(diff, indent=2) if args.json else render_diff(diff))
    return 0


def _orphans(args: argparse.Namespace) -> int:
    from lc_reconciler.orphan_commands import OrphanNotFound, run_orphans

    try:
        lines = asyncio.run(run_orphans(_api_settings().nats_url, args.action, args.name))
    except OrphanNotFound as exc:
        print(f"lc orphans: {exc}", file=sys.stderr)
        return 1
    print("\n".join(lines))
    return 0


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="lc", description="LiquidCompute local tools.")
    commands = root.add_subparsers(dest="command", required=True)
    up = commands.add_parser("up", help="run the whole platform locally on embedded defaults")
    up.add_argument("--port", type=int, help="HTTP port (LC_PORT, default 8080)")
    up.add_argument("--host", help="bind address (LC_HOST, default 127.0.0.1)")
    up.add_argument("--data-dir", type=Path, help="data directory (LC_DATA_DIR, default .lc)")
    up.add_argument(
        "--ha",
        action="store_true",
        default=None,
        help="three NATS nodes, two of every process behind the gateway, to watch failover (LC_HA)",
    )
    up.add_argument("--nats-url", help="use this NATS instead of the embedded one (LC_NATS_URL)")
    up.add_argument(
        "--database-url", help="use this PostgreSQL instead of the embedded one (LC_DATABASE_URL)"
    )
    up.add_argument(
        "--kubeconfig", type=Path, help="use this cluster instead of the simulator (LC_KUBECONFIG)"
    )
    up.add_argument(
        "--dns-nameservers", help="host:port list for domain checks (LC_DNS_NAMESERVERS)"
    )
    up.set_defaults(run=_up)
    replay = commands.add_parser(
        "replay", help="drop and rebuild every projection from the event stream"
    )
    replay.set_defaults(run=_replay)

    events = commands.add_parser("events", help="print the audit log")
    events.add_argument("--after", type=int, default=0, help="start after this stream sequence")
    events.add_argument("--limit", type=int, help="stop after this many events")
    events.add_argument("--type", action="append", help="only this event type (repeatable)")
    events.add_argument("--project", help="only events of this project")
    events.add_argument("--follow", "-f", action="store_true", help="keep printing new events")
    events.add_argument("--json", action="store_true", help="one JSON envelope per line")
    events.set_defaults(run=_events)

    audit = commands.add_parser("audit", help="check the log and the read models against it")
    audit_commands = audit.add_subparsers(dest="audit_command", required=True)
    audit_verify = audit_commands.add_parser(
        "verify",
        help="no gaps in the log, every event reads, the read models equal a fresh fold of it",
    )
    audit_verify.set_defaults(run=_audit_verify)

    moment = "a stream sequence, or an RFC 3339 time with a zone"
    state = commands.add_parser("state", help="a project as it was at a moment, from the log")
    state.add_argument("project", help="the project's slug")
    state.add_argument("--at", help=f"{moment} (default: now)")
    state.add_argument("--api", help="lcd's URL (LC_API_URL, default: the running stack)")
    state.add_argument("--json", action="store_true", help="lcd's answer as JSON")
    state.set_defaults(run=_state)
    diff = commands.add_parser("diff", help="what changed between two moments, and who did it")
    diff.add_argument("--from", dest="from_", required=True, help=moment)
    diff.add_argument("--to", help=f"{moment} (default: now)")
    diff.add_argument("--project", help="only this project's objects")
    diff.add_argument("--api", help="lcd's URL (LC_API_URL, default: the running stack)")
    diff.add_argument("--json", action="store_true", help="lcd's answer as JSON")
    diff.set_defaults(run=_diff)

    orphans = commands.add_parser(
        "orphans", help="objects with our labels and no history; adopt or delete one"
    )
    orphans.set_defaults(run=_orphans, action=None, name=None)
    actions = orphans.add_subparsers(dest="action")
    for action, what in (("adopt", "keep it and stop reporting it"), ("delete", "delete it")):
        sub = actions.add_parser(action, help=f"{what} (an event on LC_EVENTS)")
        sub.add_argument("name", help="Kind/namespace/name, as `lc orphans` lists it")

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
