"""The running reconciler: wires the event feed, the reconcile workers, the periodic
resync, the status watches and the status reporter, and `run(settings)`.

Who calls it: `lc-reconciler` (cli), `lc up` (as an asyncio task, cancelled to stop),
tests and the benchmark (which build a `ReconcilerRuntime` on their own connections).

`findings` publishes what the reconciler would not act on alone: orphans, deletions held
by the guard, projects whose namespace is not ours.

Start-up order matters: the desired state is folded from LC_EVENTS up to the present
first, then a full resync makes the cluster match it (and prunes what a crash left
behind), and status is reported only once both watches have listed, so a restart never
announces a transition it merely failed to see.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Final

import nats
from nats.js import JetStreamContext

from lc_contracts.engine import LABEL_MANAGED_BY, MANAGED_BY_VALUE
from lc_eventstore import EventStore, provision_streams
from lc_eventstore.connection import server_urls
from lc_reconciler.cancellation import until_cancelled
from lc_reconciler.domain.desired_state import DesiredState, Touched
from lc_reconciler.event_feed import EventFeed
from lc_reconciler.findings import FindingsPublisher
from lc_reconciler.kube.client import KubeClient
from lc_reconciler.kube.resources import DEPLOYMENT, model_kind
from lc_reconciler.kube.watch import ObjectWatch
from lc_reconciler.reconcile import Reconciler
from lc_reconciler.settings import ReconcilerSettings
from lc_reconciler.status_reporter import StatusReporter
from lc_runtime.kube_lease import run_elected
from lc_runtime.leadership import LeaderElector

log = logging.getLogger(__name__)

MANAGED = f"{LABEL_MANAGED_BY}={MANAGED_BY_VALUE}"
LEASE_NAME: Final = "lc-reconciler"


class ReconcilerRuntime:
    def __init__(
        self, settings: ReconcilerSettings, js: JetStreamContext, kube: KubeClient
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
        self.findings = FindingsPublisher(
            js, self.state, self.reconciler, backoff=settings.backoff()
        )
        self.reporter.rejection = self.reconciler.rejections.get
        self.feed = EventFeed(
            EventStore(js),
            self.state,
            on_touched=self._touched,
            on_status=self.reporter.mark,
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
        ]
        self.ready = asyncio.Event()
        """Set once the desired state is rebuilt and the first resync has been queued."""

    def _touched(self, touched: Touched) -> None:
        self.reconciler.touched(touched)
        if touched.projects:
            self.findings.mark()

    def _mark_findings(self) -> None:
        self.findings.mark()

    async def run(self) -> None:
        await provision_streams(self.js, replicas=self.settings.stream_replicas)
        await self.reporter.load_published()
        await self.findings.load_published()
        async with asyncio.TaskGroup() as group:
            group.create_task(until_cancelled(self.feed.run()))
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

    async def _resync_every(self, interval_s: float) -> None:
        while True:
            await asyncio.sleep(interval_s)
            self.reconciler.request_resync()


async def run(
    settings: ReconcilerSettings, *, on_elector: Callable[[LeaderElector], object] | None = None
) -> None:
    """Run the reconciler until cancelled; with LC_LEADER_ELECTION, only while holding the
    `lc-reconciler` Lease (each term rebuilds its state from the log: a standby applies and
    prunes nothing). `on_elector` receives the elector, whose `.state` probes report."""
    nc = await nats.connect(
        server_urls(settings.nats_url), max_reconnect_attempts=-1, name="lc-reconciler"
    )
    kube = await KubeClient.connect(settings.kubeconfig)

    def elected_as(elector: LeaderElector) -> None:
        # The API server's audit (and the simulator's write log) names the replica.
        kube.identify(f"{LEASE_NAME}/{elector.state.identity}")
        if on_elector is not None:
            on_elector(elector)

    try:
        await run_elected(
            settings,
            lambda: ReconcilerRuntime(settings, nc.jetstream(), kube).run(),
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
