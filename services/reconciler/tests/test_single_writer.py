"""Two reconcilers, one behind: only the Lease holder writes.

A replica that has read the stream only up to revision 1 of a Service, once revision 2
made it an inference Model, would apply revision 1 again: its Deployment and Service
come back next to the Model (the revision guard keeps it from pruning revision 2's
objects, but not from resurrecting revision 1's). With leader election the lagging
replica is a standby and writes nothing; the real reconciler that takes over from the
leader reads the stream to the present before it applies or prunes anything.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from lc_clustersim.sim import ClusterSim
from lc_contracts.engine import LABEL_REVISION
from lc_contracts.subjects import project_subject, service_subject
from lc_eventstore import EventStore
from lc_reconciler.domain.desired_state import DesiredState
from lc_reconciler.domain.objects import ObjectRef
from lc_reconciler.kube.client import KubeClient
from lc_reconciler.reconcile import Reconciler
from lc_reconciler.runtime import LEASE_NAME, run
from lc_reconciler.settings import ReconcilerSettings
from lc_runtime.kube_lease import KubeLeaseStore, open_api_client
from lc_runtime.leadership import LeaderElector, LeaseTiming
from lc_testing import wait_until
from lc_testing.product_docs import HELLO, LLAMA

from .conftest import Events
from .helpers import compiled_refs, managed_objects, project_created, service_applied, spec

FAST = {"lease_duration_s": 1.5, "renew_deadline_s": 1.0, "retry_period_s": 0.1}


async def _stop(task: asyncio.Task[Any]) -> None:
    task.cancel()
    done, _ = await asyncio.wait({task}, timeout=30)
    assert task in done, "a reconciler did not stop within 30 s of being cancelled"
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def test_a_lagging_replica_on_standby_writes_nothing_and_a_takeover_catches_up_first(
    events: Events, settings: ReconcilerSettings, kube: KubeClient, cluster: ClusterSim
) -> None:
    elected = settings.model_copy(update={"leader_election": True, **FAST})
    electors: dict[str, LeaderElector] = {}
    leader = asyncio.create_task(
        run(
            elected.model_copy(update={"lease_identity": "leader"}),
            on_elector=lambda e: electors.setdefault("leader", e),
        )
    )
    await wait_until(lambda: "leader" in electors and electors["leader"].state.leader, timeout=10)
    platform = elected.platform()
    await events.append(*project_created("acme"))
    await events.append(*service_applied("acme", spec(HELLO), revision=1))
    lagging_state = DesiredState()  # a second replica that has read up to revision 1
    store = EventStore(events.store._js)
    messages = [
        *(await store.load(project_subject("acme"))).messages,
        *(await store.load(service_subject("acme", "hello"))).messages,
    ]
    for message in sorted(messages, key=lambda m: m.seq):
        lagging_state.apply(message.seq, message.event().payload)

    as_model = spec(LLAMA, name="hello")
    await events.append(*service_applied("acme", as_model, revision=2))
    newer = compiled_refs(platform, [("acme", as_model, 2)])

    async def revision_2_only() -> dict[ObjectRef, dict[str, Any]] | None:
        objects = await managed_objects(kube, platform)
        workloads = {ref for ref in objects if ref.kind != "PersistentVolumeClaim"}
        return (
            objects
            if workloads == {r for r in newer if r.kind != "PersistentVolumeClaim"}
            else None
        )

    before = await wait_until(revision_2_only, timeout=15, what="revision 2 applied alone")
    uids = {ref: obj["metadata"]["uid"] for ref, obj in before.items()}

    lagging = Reconciler(kube, platform, lagging_state)

    async def lagging_writes() -> None:
        await lagging.resync()
        while len(lagging.queue):
            key = await lagging.queue.get()
            try:
                await lagging.process(key)
            finally:
                lagging.queue.done(key)

    api = await open_api_client(str(cluster.kubeconfig_path))
    try:
        standby = LeaderElector(
            KubeLeaseStore(api, elected.lease_namespace, LEASE_NAME),
            identity="lagging",
            lease=LEASE_NAME,
            timing=LeaseTiming(**FAST),
        )
        standing_by = asyncio.create_task(standby.run(lagging_writes))
        # Several of its retry periods, each a decision to stand by behind the leader.
        looks = 0

        async def stood_by_a_while() -> bool:
            nonlocal looks
            looks += standby.state.holder == electors["leader"].state.identity
            return looks >= 5

        await wait_until(stood_by_a_while, timeout=10, interval=0.1, what="standing by")
        assert not standby.state.leader
        assert lagging.resyncs == 0
        await _stop(standing_by)
    finally:
        await api.close()
    after = await revision_2_only()
    assert after is not None, "revision 1's objects came back next to revision 2's"
    assert {ref: obj["metadata"]["uid"] for ref, obj in after.items()} == uids

    # The leader goes; a real replica takes over, reads to revision 2 first, and leaves
    # every object as it was (nothing deleted and created again).
    await _stop(leader)
    successor = asyncio.create_task(
        run(
            elected.model_copy(update={"lease_identity": "successor"}),
            on_elector=lambda e: electors.setdefault("successor", e),
        )
    )
    try:
        await wait_until(
            lambda: "successor" in electors and electors["successor"].state.leader, timeout=10
        )
        assert electors["successor"].state.term == 1
        await events.append(*service_applied("acme", as_model.model_copy(), revision=3))

        async def revision_3() -> bool:
            objects = await managed_objects(kube, platform)
            return bool(objects) and all(
                o["metadata"]["labels"].get(LABEL_REVISION) == "3"
                for r, o in objects.items()
                if r.kind != "PersistentVolumeClaim"
            )

        await wait_until(revision_3, timeout=15, what="the successor applying revision 3")
        final = await revision_2_only()
        assert final is not None
        assert {ref: obj["metadata"]["uid"] for ref, obj in final.items()} == uids
    finally:
        await _stop(successor)
