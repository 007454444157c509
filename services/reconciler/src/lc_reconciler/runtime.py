"""The running reconciler: wires the event feed, the reconcile workers, the periodic
resync, the status watches and the status reporter, and `run(settings)`.

Who calls it: `lc-reconciler` (cli), `lc up` (as an asyncio task, cancelled to stop),
tests and the benchmark (which build a `ReconcilerRuntime` on their own connections).

`findings` publishes what the reconciler would not act on alone: orphans, deletions held
by the guard, projects whose namespace is not ours, and the namespaces of the cluster
that are not ours (a watch over every namespace keeps `namespace_mirror` current).

Start-up order matters: the desired state is restored from the latest snapshot, if one
can be trusted, and folded from LC_EVENTS up to the present first; then a full resync
makes the cluster match it (and prunes what a crash left behind), and status is reported
only once both watches have listed, so a restart never announces a transition it merely
failed to see. Readiness (`probes`) follows the same
steps: ready once the fold caught up and both watches have listed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Final

import nats
from nats.js import JetStreamContext

from lc_contracts.engine import LABEL_MANAGED_BY, MANAGED_BY_VALUE
from lc_eventstore import EventStore, provision_streams
from lc_eventstore.connection import server_urls
from lc_eventstore.snapshots import Snapshot, SnapshotStore, SnapshotWriter, stream_identity
from lc_reconciler.cancellation import until_cancelled
from lc_reconciler.domain.desired_state import DesiredState, Touched
from lc_reconciler.domain.snapshot import FORMAT, decode_desired_state, encode_desired_state
from lc_reconciler.event_feed import EventFeed
from lc_reconciler.findings import FindingsPublisher
from lc_reconciler.kube.client import KubeClient
from lc_reconciler.kube.resources import DEPLOYMENT, NAMESPACE, model_kind
from lc_reconciler.kube.watch import ObjectWatch
from lc_reconciler.namespace_mirror import NamespaceMirror
from lc_reconciler.reconcile import Reconciler
from lc_reconciler.settings import ReconcilerSettings
from lc_reconciler.status_reporter import StatusReporter
from lc_runtime.kube_lease import run_elected
from lc_runtime.leadership import LeaderElector
from lc_runtime.probes import Probes

log = logging.getLogger(__name__)

MANAGED = f"{LABEL_MANAGED_BY}={MANAGED_BY_VALUE}"
SNAPSHOT_KEY = "reconciler"
SHUTDOWN_SNAPSHOT_TIMEOUT_S = 10.0
LEASE_NAME: Final = "lc-reconciler"


class ReconcilerRuntime:
    def __init__(
        self,
        settings: ReconcilerSettings,
        js: JetStreamContext,
        kube: KubeClient,
        probes: Probes | None = None,
    ) -> None:
        self.settings = settings
        self.js = js
        self.kube = kube
        self.platform = settings.platform()
        self.state = DesiredState()
        self.reporter = StatusReporter(js, self.state, backoff=settings.backoff())
        self.reconciler = Reconciler(
            kube,
            self.platform,
            self.state,
            backoff=settings.backoff(),
            guard=settings.prune_guard(),
            on_service_reconciled=self.reporter.mark,
            on_findings=self._mark_findings,
            secret_key=settings.sealing_key(),
        )
        self.namespaces = NamespaceMirror(self._mark_findings)
        self.findings = FindingsPublisher(
            js, self.state, self.reconciler, namespaces=self.namespaces, backoff=settings.backoff()
        )
        self.reporter.rejection = self.reconciler.rejections.get
        self.probes = probes or Probes("reconciler")
        self.progress = self.probes.track_fold()
        self.feed = EventFeed(
            EventStore(js),
            self.state,
            on_touched=self._touched,
            on_status=self.reporter.mark,
            progress=self.progress,
        )
        self.watches = [
            ObjectWatch(
                kube,
                model_kind(self.platform),
                MANAGED,
                self.reporter.models,
                timeout_s=settings.watch_timeout_s,
            ),
            ObjectWatch(
                kube,
                DEPLOYMENT,
                MANAGED,
                self.reporter.deployments,
                timeout_s=settings.watch_timeout_s,
            ),
            ObjectWatch(kube, NAMESPACE, "", self.namespaces, timeout_s=settings.watch_timeout_s),
        ]
        self.ready = asyncio.Event()
        """Set once the desired state is rebuilt and the first resync has been queued."""
        self.probes.require(
            "cluster",
            lambda: None if self.ready.is_set() else "listing the cluster for the first resync",
        )
        self.snapshots = SnapshotStore(js, replicas=settings.stream_replicas)
        self.snapshot_writer: SnapshotWriter | None = None

    def _touched(self, touched: Touched) -> None:
        self.reconciler.touched(touched)
        if touched.projects:
            self.findings.mark()

    def _mark_findings(self) -> None:
        self.findings.mark()

    async def run(self) -> None:
        await provision_streams(self.js, replicas=self.settings.stream_replicas)
        await self._restore()
        try:
            await self._run()
        finally:
            await self._save_on_shutdown()

    async def _run(self) -> None:
        await self.reporter.load_published()
        await self.findings.load_published()
        async with asyncio.TaskGroup() as group:
            group.create_task(until_cancelled(self.feed.run()))
            if self.snapshot_writer is not None:
                group.create_task(until_cancelled(self.snapshot_writer.run()))
            await self.feed.caught_up.wait()
            self.reconciler.request_resync()
            group.create_task(until_cancelled(self.reconciler.run_workers(self.settings.workers)))
            group.create_task(until_cancelled(self._resync_every(self.settings.resync_interval_s)))
            for watch in self.watches:
                group.create_task(until_cancelled(watch.run()))
            await asyncio.gather(*(w.synced.wait() for w in self.watches))
            self.reporter.mark_all()
            group.create_task(until_cancelled(self.reporter.run()))
            self.findings.mark()
            group.create_task(until_cancelled(self.findings.run()))
            self.ready.set()
            log.info(
                "reconciler running: %d projects, %d services",
                len(self.state.projects),
                len(self.state.services),
            )

    async def _restore(self) -> None:
        """Start from the latest trustworthy snapshot (else from sequence 1), and note how
        far the fold has to go before the reconciler is ready."""
        stream, last_seq = await stream_identity(self.js)
        self.progress.target = last_seq
        if not self.settings.snapshots:
            return
        snapshot = await self.snapshots.load(
            SNAPSHOT_KEY, format=FORMAT, stream=stream, last_seq=last_seq
        )
        if snapshot is not None:
            try:
                restored = decode_desired_state(snapshot.state)
                if restored.position != snapshot.seq:
                    raise ValueError(f"state at {restored.position}, header says {snapshot.seq}")
            except ValueError as exc:
                log.warning("snapshot ignored (%s); folding from sequence 1", exc)
            else:
                self.state.restore(restored)
                self.progress.position = snapshot.seq
                self.progress.snapshot_seq = snapshot.seq
                self.progress.snapshot_at = snapshot.written_at.timestamp()
                log.info(
                    "desired state restored from the snapshot at %d (stream at %d)",
                    snapshot.seq,
                    last_seq,
                )
        self.snapshot_writer = SnapshotWriter(
            self.snapshots,
            SNAPSHOT_KEY,
            format=FORMAT,
            stream=stream,
            position=lambda: self.state.position,
            encode=lambda: encode_desired_state(self.state),
            policy=self.settings.snapshot_policy(),
            saved_seq=self.state.position,
            on_saved=self._snapshot_saved,
        )

    def _snapshot_saved(self, snapshot: Snapshot) -> None:
        self.progress.snapshot_seq = snapshot.seq
        self.progress.snapshot_at = snapshot.written_at.timestamp()
        self.progress.snapshots_written += 1

    async def _save_on_shutdown(self) -> None:
        if self.snapshot_writer is None:
            return
        try:
            async with asyncio.timeout(SHUTDOWN_SNAPSHOT_TIMEOUT_S):
                await self.snapshot_writer.save()
        except Exception as exc:  # the next start folds a longer tail; nothing is lost
            log.warning("no snapshot written on shutdown: %r", exc)

    async def _resync_every(self, interval_s: float) -> None:
        while True:
            await asyncio.sleep(interval_s)
            self.reconciler.request_resync()


async def run(
    settings: ReconcilerSettings,
    probes: Probes | None = None,
    *,
    on_elector: Callable[[LeaderElector], object] | None = None,
) -> None:
    """Run the reconciler until cancelled; serve its probes when LC_PROBE_PORT is set.
    With LC_LEADER_ELECTION, it acts only while holding the `lc-reconciler` Lease (each
    term restores its state from the latest snapshot and the log: a standby applies and
    prunes nothing). `on_elector` receives the elector; the probes report its state."""
    probes = probes or Probes("reconciler")
    nc = await nats.connect(
        server_urls(settings.nats_url), max_reconnect_attempts=-1, name="lc-reconciler"
    )
    kube = await KubeClient.connect(settings.kubeconfig)

    def elected_as(elector: LeaderElector) -> None:
        # The API server's audit (and the simulator's write log) names the replica.
        kube.identify(f"{LEASE_NAME}/{elector.state.identity}")
        probes.lead(elector.state)
        if on_elector is not None:
            on_elector(elector)

    try:
        async with contextlib.AsyncExitStack() as stack:
            if settings.probe_port is not None:
                await stack.enter_async_context(
                    probes.serve(settings.probe_host, settings.probe_port)
                )
            await run_elected(
                settings,
                lambda: ReconcilerRuntime(settings, nc.jetstream(), kube, probes).run(),
                lease=LEASE_NAME,
                kubeconfig=settings.kubeconfig,
                on_elector=elected_as,
            )
    finally:
        await kube.close()
        try:
            await nc.drain()
        except Exception:  # closing on the way out; nothing left to save
            await nc.close()
