"""The platform's parts as `lc up` runs them: one process, each worker an asyncio task,
each HTTP service mounted on the gateway at the path the Helm chart's Ingress gives it.

Every part is configured from its own settings class (so `LC_*` variables still apply);
only what the local stack itself decides (where NATS, PostgreSQL, the cluster and the
DNS zone are) is passed explicitly.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.types import ASGIApp

from lc_contracts.network import is_loopback
from lc_runtime.probes import Probes
from lc_runtime.supervision import run_restarting

log = logging.getLogger("lc.up")


@dataclass(frozen=True)
class Wiring:
    """Where the shared infrastructure of this stack is."""

    nats_url: str
    database_url: str
    kubeconfig: str
    dns_nameservers: str
    platform_domain: str
    bind_host: str
    auth_username: str | None = field(default=None, repr=False)
    auth_password: str | None = field(default=None, repr=False)
    secret_key: str | None = field(default=None, repr=False)


# On a loopback-bound stack, webhook receivers on this machine (the examples, a test
# server) are allowed; elsewhere LC_WEBHOOK_ALLOW_NETWORKS decides.
LOCAL_RECEIVERS = "127.0.0.0/8,::1/128"


def _webhook_networks(wiring: Wiring) -> dict[str, Any]:
    return {"webhook_allow_networks": LOCAL_RECEIVERS} if is_loopback(wiring.bind_host) else {}


def http_apps(wiring: Wiring) -> dict[str, ASGIApp]:
    """Path prefix → ASGI app."""
    from lc_api.server import create_app as create_api
    from lc_api.settings import ApiSettings
    from lc_proxy.app import create_app as create_proxy
    from lc_proxy.settings import ProxySettings

    api = ApiSettings(
        nats_url=wiring.nats_url,
        database_url=wiring.database_url,
        platform_domain=wiring.platform_domain,
        bind_host=wiring.bind_host,
        auth_username=wiring.auth_username,
        auth_password=wiring.auth_password,
        # Never from the environment: behind the gateway every request would be admin.
        auth_trust_loopback=False,
        secret_key=wiring.secret_key,
        **_webhook_networks(wiring),
    )
    return {
        "/api": create_api(api),
        "/v1": create_proxy(ProxySettings(nats_url=wiring.nats_url, proxy_host=wiring.bind_host)),
    }


WORKER_NAMES = ("reconciler", "fleet", "domain-verifier")


def worker_probes() -> dict[str, Probes]:
    """Each worker's probes, read in-process by `/healthz` (no probe port under `lc up`)."""
    return {name: Probes(name) for name in WORKER_NAMES}


def workers(
    wiring: Wiring, probes: dict[str, Probes] | None = None
) -> dict[str, Callable[[], Awaitable[None]]]:
    """Name → coroutine function that runs the worker until cancelled."""
    from lc_domain_verifier.main import run as run_verifier
    from lc_domain_verifier.settings import VerifierSettings
    from lc_fleet.main import run as run_fleet
    from lc_fleet.settings import FleetSettings
    from lc_reconciler import run as run_reconciler
    from lc_reconciler.settings import ReconcilerSettings

    reconciler = ReconcilerSettings(
        nats_url=wiring.nats_url,
        kubeconfig=wiring.kubeconfig,
        platform_domain=wiring.platform_domain,
        secret_key=wiring.secret_key,
    )
    fleet = FleetSettings(nats_url=wiring.nats_url, kubeconfig=wiring.kubeconfig)
    # kubeconfig: where the verifier's Lease lives, should LC_LEADER_ELECTION be set.
    verifier = VerifierSettings(
        nats_url=wiring.nats_url,
        dns_nameservers=wiring.dns_nameservers,
        kubeconfig=wiring.kubeconfig,
    )
    probes = probes or worker_probes()
    running: dict[str, Callable[[], Awaitable[None]]] = {
        "reconciler": lambda: run_reconciler(reconciler, probes["reconciler"]),
        "fleet": lambda: run_fleet(fleet, probes["fleet"]),
        "domain-verifier": lambda: run_verifier(verifier, probes["domain-verifier"]),
    }
    if wiring.secret_key is not None:
        from lc_webhooks.main import run as run_webhooks
        from lc_webhooks.settings import WebhookSettings

        hooks = WebhookSettings(
            nats_url=wiring.nats_url,
            database_url=wiring.database_url,
            secret_key=wiring.secret_key,
            # Delivery as a task of this process, like the other workers: a local stack
            # delivers far fewer events than one process can.
            webhook_processes=1,
            **_webhook_networks(wiring),
        )
        # Its probes join the others' (the dict `/healthz` reads) only when it runs.
        hook_probes = probes.setdefault("webhooks", Probes("webhooks"))
        running["webhooks"] = lambda: run_webhooks(hooks, hook_probes)
    return running


def readiness(probes: dict[str, Probes]) -> tuple[dict[str, str], dict[str, dict[str, int]]]:
    """(each worker: "ready" or why not, the workers still folding the log: how far behind)."""
    ready: dict[str, str] = {}
    catching_up: dict[str, dict[str, int]] = {}
    for name, probe in probes.items():
        unmet = probe.unmet()
        ready[name] = "ready" if not unmet else "; ".join(unmet.values())
        fold = probe.fold
        if fold is not None and not fold.caught_up:
            catching_up[name] = {
                "behind": fold.behind,
                "position": fold.position,
                "target": fold.target,
            }
    return ready, catching_up


@dataclass
class WorkerPool:
    """Runs workers as tasks; a worker that crashes is logged, reported and restarted."""

    restart_delay_s: float = 2.0
    failures: dict[str, str] = field(default_factory=dict)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    async def _supervise(self, name: str, run: Callable[[], Awaitable[None]]) -> None:
        # A failure is reported (healthz says degraded) until the worker is started again.
        def failed(exc: Exception) -> None:
            self.failures[name] = repr(exc)

        await run_restarting(
            name,
            run,
            delay_s=self.restart_delay_s,
            on_failure=failed,
            on_restart=lambda: self.failures.pop(name, None),
            logger=log,
        )

    @contextlib.asynccontextmanager
    async def running(
        self, workers: dict[str, Callable[[], Awaitable[None]]]
    ) -> AsyncIterator[None]:
        self._tasks = [
            asyncio.create_task(self._supervise(n, r), name=n) for n, r in workers.items()
        ]
        try:
            yield
        finally:
            for task in self._tasks:
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)

    def report(self) -> dict[str, Any]:
        return {
            task.get_name(): "failed: " + self.failures[task.get_name()]
            if task.get_name() in self.failures
            else ("running" if not task.done() else "stopped")
            for task in self._tasks
        }
