"""`lc up --ha`: the platform as a cluster runs it, on one machine, to watch failover.

A three-node NATS JetStream cluster (streams with three replicas), PostgreSQL, the
cluster simulator, and every program as its own processes: two lcd, two lc-proxy, two
reconcilers, two fleet aggregators and two domain verifiers (the workers elect one
active replica each with a Lease in the simulator). The gateway on 127.0.0.1:8080
balances `/api` over the lcd replicas and `/v1` over the lc-proxy replicas (a replica
that refuses connections is skipped), and serves the console at `/`.

Every child and NATS node is supervised: one that dies (`kill -9` its pid from
`stack.json`) is started again on the same port with the same data, and `/healthz`
names it meanwhile. An external NATS cluster or PostgreSQL (`LC_NATS_URL`,
`LC_DATABASE_URL`) replaces the embedded one.

Callers: `lc up --ha` (`lc_local.cli`), tests/ha.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any, Final

import uvicorn

from lc_embedded import EmbeddedNatsCluster, EmbeddedPostgres, free_port
from lc_local.balancer import BalancedUpstreams
from lc_local.child_processes import ChildProcess, console_script
from lc_local.gateway import Gateway, Health
from lc_local.settings import LocalSettings
from lc_local.stack import (
    DATABASE_NAME,
    Endpoints,
    _bind,
    _cluster,
    _provision,
    _serving,
    secret_key,
)
from lc_local.supervision import ServerSupervisor, Supervised

log = logging.getLogger("lc.up")

REPLICAS: Final = 2
NATS_NODES: Final = 3
WORKERS: Final = {
    "reconciler": "lc-reconciler",
    "fleet": "lc-fleet",
    "domain-verifier": "lc-domain-verifier",
}


@contextlib.contextmanager
def _servers(settings: LocalSettings) -> Iterator[tuple[str, int, str, dict[str, Supervised]]]:
    """(NATS URL, stream replicas, database URL, embedded servers by name)."""
    root = settings.data_dir.resolve()
    started: list[EmbeddedNatsCluster | EmbeddedPostgres] = []
    servers: dict[str, Supervised] = {}
    try:
        nats_url, replicas = settings.nats_url, settings.stream_replicas
        if nats_url is None:
            cluster = EmbeddedNatsCluster(root / "nats-cluster", size=NATS_NODES, sync_always=False)
            started.append(cluster.start())
            servers.update({f"nats-{name}": node for name, node in cluster.nodes.items()})
            nats_url, replicas = cluster.url, NATS_NODES
        database_url = settings.database_url
        if database_url is None:
            pg = EmbeddedPostgres(root / "postgres").start()
            started.append(pg)
            servers["postgres"] = pg
            pg.create_database(DATABASE_NAME)
            database_url = pg.url(DATABASE_NAME)
        yield nats_url, replicas, database_url, servers
    finally:
        for server in reversed(started):
            server.stop()


def _children(
    settings: LocalSettings,
    common: dict[str, str],
    logs: Path,
) -> dict[str, ChildProcess]:
    children: dict[str, ChildProcess] = {}
    for i in range(1, REPLICAS + 1):
        port = free_port()
        children[f"lcd-{i}"] = ChildProcess(
            f"lcd-{i}",
            [console_script("lcd"), "--log-level", "warning"],
            {**common, "LC_BIND_HOST": "127.0.0.1", "LC_BIND_PORT": str(port)},
            logs / f"lcd-{i}.log",
            url=f"http://127.0.0.1:{port}",
            ready_path="/api/readyz",
        )
    for i in range(1, REPLICAS + 1):
        port = free_port()
        children[f"lc-proxy-{i}"] = ChildProcess(
            f"lc-proxy-{i}",
            [console_script("lc-proxy")],
            {
                **common,
                "LC_PROXY_HOST": "127.0.0.1",
                "LC_PROXY_PORT": str(port),
                "LC_PROXY_REPLICA_NAME": f"lc-proxy-{i}",
            },
            logs / f"lc-proxy-{i}.log",
            url=f"http://127.0.0.1:{port}",
        )
    for worker, script in WORKERS.items():
        for i in range(1, REPLICAS + 1):
            name = f"{worker}-{i}"
            children[name] = ChildProcess(
                name,
                [console_script(script)],
                {**common, "LC_LEADER_ELECTION": "true", "LC_LEASE_IDENTITY": name},
                logs / f"{name}.log",
            )
    return children


def _health(supervisor: ServerSupervisor) -> Health:
    async def check() -> dict[str, Any]:
        report = supervisor.report()
        return {"status": "ok" if supervisor.healthy else "degraded", "servers": report}

    return check


@contextlib.asynccontextmanager
async def running_ha_stack(
    settings: LocalSettings,
) -> AsyncIterator[tuple[Endpoints, uvicorn.Server]]:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    listener = _bind(settings.host, settings.port)
    with listener, _servers(settings) as (nats_url, replicas, database_url, servers):
        await _provision(nats_url, replicas)
        async with _cluster(settings) as (kubeconfig, sim_admin_url, nameservers):
            common = {
                "LC_NATS_URL": nats_url,
                "LC_STREAM_REPLICAS": str(replicas),
                "LC_DATABASE_URL": database_url,
                "LC_KUBECONFIG": kubeconfig,
                "LC_DNS_NAMESERVERS": nameservers,
                "LC_PLATFORM_DOMAIN": settings.platform_domain,
                "LC_SECRET_KEY": secret_key(settings),
                # The gateway forwards every request to lcd from loopback.
                "LC_AUTH_TRUST_LOOPBACK": "false",
                **({"LC_ALLOWED_HOSTS": settings.host} if settings.host != "127.0.0.1" else {}),
                **(
                    {
                        "LC_AUTH_USERNAME": settings.auth_username,
                        "LC_AUTH_PASSWORD": settings.auth_password,
                    }
                    if settings.auth_username and settings.auth_password
                    else {}
                ),
            }
            children = _children(settings, common, settings.data_dir.resolve() / "logs")
            try:
                # The first lcd migrates the database alone; then everything else at once.
                first, *rest = children.values()
                first.launch()
                await asyncio.to_thread(first.wait_started)
                for child in rest:
                    child.launch()
                for child in rest:
                    await asyncio.to_thread(child.wait_started)
                async with _serving_ha(
                    settings,
                    listener,
                    servers,
                    children,
                    nats_url,
                    database_url,
                    kubeconfig,
                    sim_admin_url,
                    nameservers,
                ) as running:
                    yield running
            finally:
                for child in children.values():
                    await asyncio.to_thread(child.stop)


@contextlib.asynccontextmanager
async def _serving_ha(
    settings: LocalSettings,
    listener: Any,
    servers: dict[str, Supervised],
    children: dict[str, ChildProcess],
    nats_url: str,
    database_url: str,
    kubeconfig: str,
    sim_admin_url: str | None,
    nameservers: str,
) -> AsyncIterator[tuple[Endpoints, uvicorn.Server]]:
    stack_json = settings.data_dir / "stack.json"
    host, port = listener.getsockname()[:2]
    endpoints = Endpoints(
        nats_url=nats_url,
        database_url=database_url,
        http_url=f"http://{host}:{port}",
        kubeconfig=kubeconfig,
        sim_admin_url=sim_admin_url,
        dns_nameservers=nameservers,
        pids={name: s.pid or 0 for name, s in {**servers, **children}.items()},
        replicas={name: c.url for name, c in children.items() if c.url},
    )

    def restarted(name: str, pid: int) -> None:
        endpoints.pids[name] = pid
        endpoints.save(stack_json)

    supervisor = ServerSupervisor({**servers, **children}, on_restarted=restarted)
    lcd = BalancedUpstreams([endpoints.replicas[n] for n in children if n.startswith("lcd-")])
    proxy = BalancedUpstreams(
        [endpoints.replicas[n] for n in children if n.startswith("lc-proxy-")], openai_errors=True
    )
    gateway = Gateway(
        mounts={"/api": lcd, "/v1": proxy},
        frontend_dist=settings.frontend_dist,
        health=_health(supervisor),
    )
    endpoints.save(stack_json)
    try:
        async with supervisor.running(), _serving(gateway, listener) as server:
            yield endpoints, server
    finally:
        stack_json.unlink(missing_ok=True)
