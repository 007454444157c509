"""Entry points: `run(settings)` (the worker until cancelled) and the console script.

`lc up` starts `run` as an asyncio task and cancels it on shutdown; the console script
`lc-domain-verifier` reads `VerifierSettings` from the environment and runs it until
interrupted. `run` restores the worker from its latest trustworthy snapshot, writes new
ones while it runs and on the way out, and serves the probes when LC_PROBE_PORT is set.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from collections.abc import Callable
from typing import Final

from nats.js import JetStreamContext

from lc_domain_verifier.dns_lookup import DnsChallengeResolver, ResolverConfigError
from lc_domain_verifier.domain.snapshot import FORMAT
from lc_domain_verifier.settings import VerifierSettings
from lc_domain_verifier.worker import VerificationWorker
from lc_eventstore import EventStore, connect, provision_streams
from lc_eventstore.snapshots import Snapshot, SnapshotStore, SnapshotWriter, stream_identity
from lc_runtime.kube_lease import run_elected
from lc_runtime.leadership import LeaderElector
from lc_runtime.logs import configure_logging
from lc_runtime.probes import Probes
from lc_runtime.settings_loading import load_settings

log = logging.getLogger("lc_domain_verifier")

SNAPSHOT_KEY = "domain-verifier"
SHUTDOWN_SNAPSHOT_TIMEOUT_S = 10.0

LEASE_NAME: Final = "lc-domain-verifier"


async def run(
    settings: VerifierSettings,
    probes: Probes | None = None,
    *,
    on_elector: Callable[[LeaderElector], object] | None = None,
) -> None:
    """Verify domains until cancelled: connect to NATS, make sure the streams exist,
    restore the state from a snapshot and LC_EVENTS, and follow it; with
    LC_LEADER_ELECTION, only while holding the `lc-domain-verifier` Lease (each term
    restores afresh). `on_elector` receives the elector; the probes report its state."""
    probes = probes or Probes("domain-verifier")
    policy = settings.policy()
    resolver = DnsChallengeResolver(settings.dns_nameservers, settings.dns_timeout_s)
    client = await connect(settings.nats_url, name="lc-domain-verifier")
    try:
        js = client.jetstream()
        await provision_streams(js, replicas=settings.stream_replicas)

        async def term() -> None:
            worker = VerificationWorker(
                EventStore(js),
                resolver,
                policy,
                ingress_target=settings.ingress_cname_target,
                max_concurrent_checks=settings.domain_max_concurrent_checks,
                progress=probes.track_fold(),
            )
            await run_with_snapshots(worker, await restore(js, worker, settings))

        def elected_as(elector: LeaderElector) -> None:
            probes.lead(elector.state)
            if on_elector is not None:
                on_elector(elector)

        log.info(
            "domain verifier started",
            extra={
                "nameservers": [str(ns) for ns in settings.dns_nameservers] or "system",
                "ingress_target": settings.ingress_cname_target,
            },
        )
        async with contextlib.AsyncExitStack() as stack:
            if settings.probe_port is not None:
                await stack.enter_async_context(
                    probes.serve(settings.probe_host, settings.probe_port)
                )
            await run_elected(
                settings,
                term,
                lease=LEASE_NAME,
                kubeconfig=settings.kubeconfig,
                on_elector=elected_as,
            )
    finally:
        with contextlib.suppress(Exception):
            await client.drain()


async def restore(
    js: JetStreamContext, worker: VerificationWorker, settings: VerifierSettings
) -> SnapshotWriter | None:
    """Restore `worker` from the latest snapshot it can trust (else it folds from sequence
    1) and return the writer of its next ones (None with LC_SNAPSHOTS off)."""
    stream, last_seq = await stream_identity(js)
    progress = worker.progress
    progress.target = last_seq
    if not settings.snapshots:
        return None
    store = SnapshotStore(js, replicas=settings.stream_replicas)
    snapshot = await store.load(SNAPSHOT_KEY, format=FORMAT, stream=stream, last_seq=last_seq)
    if snapshot is not None:
        try:
            if worker.restore_state(snapshot.state) != snapshot.seq:
                raise ValueError("the state's position is not the snapshot's")
        except ValueError as exc:
            log.warning("snapshot ignored; folding from sequence 1", extra={"error": str(exc)})
        else:
            progress.snapshot_seq = snapshot.seq
            progress.snapshot_at = snapshot.written_at.timestamp()
            log.info(
                "domain state restored from a snapshot",
                extra={"snapshot_seq": snapshot.seq, "stream_seq": last_seq},
            )

    def saved(snapshot: Snapshot) -> None:
        progress.snapshot_seq = snapshot.seq
        progress.snapshot_at = snapshot.written_at.timestamp()
        progress.snapshots_written += 1

    return SnapshotWriter(
        store,
        SNAPSHOT_KEY,
        format=FORMAT,
        stream=stream,
        position=lambda: worker.position,
        encode=worker.encode_state,
        policy=settings.snapshot_policy(),
        saved_seq=worker.position,
        on_saved=saved,
    )


async def run_with_snapshots(worker: VerificationWorker, writer: SnapshotWriter | None) -> None:
    """Run the worker (and the snapshot writer); write a last snapshot on the way out."""
    try:
        async with asyncio.TaskGroup() as tasks:
            tasks.create_task(worker.run(), name="domain-verifier")
            if writer is not None:
                tasks.create_task(writer.run(), name="domain-snapshots")
    finally:
        if writer is not None:
            try:
                async with asyncio.timeout(SHUTDOWN_SNAPSHOT_TIMEOUT_S):
                    await writer.save()
            except Exception as exc:  # the next start folds a longer tail; nothing is lost
                log.warning("no snapshot written on shutdown", extra={"error": repr(exc)})


def main() -> None:
    """Console script `lc-domain-verifier`."""
    configure_logging()
    settings = load_settings(VerifierSettings, "lc-domain-verifier")
    try:
        asyncio.run(run(settings))
    except ResolverConfigError as exc:
        print(f"lc-domain-verifier: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    except KeyboardInterrupt:
        pass
