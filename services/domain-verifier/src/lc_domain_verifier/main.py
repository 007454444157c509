"""Entry points: `run(settings)` (the worker until cancelled) and the console script.

`lc up` starts `run` as an asyncio task and cancels it on shutdown; the console script
`lc-domain-verifier` reads `VerifierSettings` from the environment and runs it until
interrupted.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from collections.abc import Callable
from typing import Final

from pydantic import ValidationError

from lc_domain_verifier.dns_lookup import DnsChallengeResolver, ResolverConfigError
from lc_domain_verifier.settings import VerifierSettings
from lc_domain_verifier.worker import VerificationWorker
from lc_eventstore import EventStore, connect, provision_streams
from lc_runtime.kube_lease import run_elected
from lc_runtime.leadership import LeaderElector
from lc_runtime.logs import configure_logging

log = logging.getLogger("lc_domain_verifier")


LEASE_NAME: Final = "lc-domain-verifier"


async def run(
    settings: VerifierSettings, *, on_elector: Callable[[LeaderElector], object] | None = None
) -> None:
    """Verify domains until cancelled: connect to NATS, make sure the streams exist,
    rebuild state from LC_EVENTS and follow it; with LC_LEADER_ELECTION, only while
    holding the `lc-domain-verifier` Lease. `on_elector` receives the elector."""
    policy = settings.policy()
    resolver = DnsChallengeResolver(settings.dns_nameservers, settings.dns_timeout_s)
    client = await connect(settings.nats_url, name="lc-domain-verifier")
    try:
        js = client.jetstream()
        await provision_streams(js, replicas=settings.stream_replicas)

        def worker() -> VerificationWorker:
            return VerificationWorker(
                EventStore(js),
                resolver,
                policy,
                ingress_target=settings.ingress_cname_target,
                max_concurrent_checks=settings.domain_max_concurrent_checks,
            )

        log.info(
            "domain verifier started",
            extra={
                "nameservers": [str(ns) for ns in settings.dns_nameservers] or "system",
                "ingress_target": settings.ingress_cname_target,
            },
        )
        await run_elected(
            settings,
            lambda: worker().run(),
            lease=LEASE_NAME,
            kubeconfig=settings.kubeconfig,
            on_elector=on_elector,
        )
    finally:
        with contextlib.suppress(Exception):
            await client.drain()


def main() -> None:
    """Console script `lc-domain-verifier`."""
    configure_logging()
    try:
        settings = VerifierSettings()
        settings.policy()
    except (ValidationError, ValueError) as exc:
        print(f"lc-domain-verifier: invalid configuration: {_one_line(exc)}", file=sys.stderr)
        raise SystemExit(2) from None
    try:
        asyncio.run(run(settings))
    except ResolverConfigError as exc:
        print(f"lc-domain-verifier: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    except KeyboardInterrupt:
        pass


def _one_line(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(
            f"LC_{'_'.join(str(p) for p in err['loc']).upper()}: {err['msg']}"
            for err in exc.errors()
        )
    return str(exc)
