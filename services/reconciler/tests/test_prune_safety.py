"""What a prune may never take: a `/workspace` volume while its service lives, more than
the guard's share of the cluster in one resync, or the objects of a revision newer than
the one the reconciler has read (a lagging replica)."""

from __future__ import annotations

from nats.js import JetStreamContext

from lc_contracts.subjects import project_subject, service_subject
from lc_eventstore import EventStore
from lc_reconciler.domain.desired_state import DesiredState
from lc_reconciler.kube.client import KubeClient
from lc_reconciler.kube.resources import DEPLOYMENT, PVC
from lc_reconciler.orphan_commands import orphan_report
from lc_reconciler.reconcile import Reconciler
from lc_reconciler.settings import ReconcilerSettings
from lc_testing import wait_until
from lc_testing.product_docs import HELLO, LLAMA

from .conftest import Events, Reconcilers
from .helpers import (
    compiled_refs,
    managed_objects,
    project_created,
    service_applied,
    service_deleted,
    spec,
)


async def test_workspace_volume_outlives_every_revision_and_goes_with_its_service(
    events: Events, reconcilers: Reconcilers, kube: KubeClient
) -> None:
    running = await reconcilers.start()
    platform = running.runtime.platform
    await events.append(*project_created("acme"))
    await events.append(*service_applied("acme", spec(HELLO)))

    async def volume() -> dict[str, object] | None:
        return await kube.get(PVC, "acme", "hello-workspace")

    await wait_until(volume, timeout=10, what="workspace volume created")
    # The service becomes an inference Model: its Deployment and Service go, its data stays.
    as_model = spec(LLAMA, name="hello")
    await events.append(*service_applied("acme", as_model, revision=2))

    async def deployment_gone() -> bool:
        return await kube.get(DEPLOYMENT, "acme", "hello") is None

    await wait_until(deployment_gone, timeout=10, what="revision 2 pruned the Deployment")
    objects = await managed_objects(kube, platform)
    assert set(objects) == compiled_refs(platform, [("acme", as_model, 2)]) | {
        ref for ref in objects if ref.kind == "PersistentVolumeClaim"
    }
    assert await volume() is not None, "a new revision must not delete the user's volume"
    reconciler = running.runtime.reconciler
    resyncs = reconciler.resyncs
    reconciler.request_resync()
    await wait_until(lambda: reconciler.resyncs > resyncs, timeout=10, what="resync done")
    await reconciler.queue.wait_idle()
    assert await volume() is not None, "a resync must not delete the user's volume"

    await events.append(*service_deleted("acme", "hello"))

    async def volume_gone() -> bool:
        return await volume() is None

    await wait_until(volume_gone, timeout=10, what="volume deleted with its service")


async def test_resync_that_would_delete_most_of_the_cluster_holds_and_reports(
    events: Events,
    reconcilers: Reconcilers,
    settings: ReconcilerSettings,
    kube: KubeClient,
    jetstream: JetStreamContext,
) -> None:
    guarded = settings.model_copy(update={"prune_guard_floor": 0})
    first = await reconcilers.start(guarded)
    platform = first.runtime.platform
    await events.append(*project_created("acme"))
    names = [f"svc-{i}" for i in range(5)]
    for name in names:
        await events.append(*service_applied("acme", spec(HELLO, name=name)))
    everything = compiled_refs(platform, [("acme", spec(HELLO, name=n), 1) for n in names])

    async def holds(refs: set[object]) -> bool:
        return set(await managed_objects(kube, platform)) == refs

    await wait_until(lambda: holds(everything), timeout=15, what="five services applied")
    await first.stop()
    # While it is down, the stream comes to say that most services were deleted.
    for name in names[:4]:
        await events.append(*service_deleted("acme", name))

    second = await reconcilers.start(guarded)
    reconciler = second.runtime.reconciler
    await wait_until(lambda: reconciler.resyncs >= 1, timeout=10, what="first resync")
    await reconciler.queue.wait_idle()
    assert await holds(everything), "a guarded resync deletes nothing"

    async def held() -> bool:
        report = await orphan_report(jetstream)
        return report is not None and len(report.held_deletions) == 20

    await wait_until(held, timeout=10, what="20 deletions held and reported")
    report = await orphan_report(jetstream)
    assert report is not None
    assert "held" in report.message
    await second.stop()

    # Told otherwise, the same resync goes ahead.
    await reconcilers.start(guarded.model_copy(update={"prune_guard_share": 1.0}))
    rest = compiled_refs(platform, [("acme", spec(HELLO, name=names[4]), 1)])
    await wait_until(lambda: holds(rest), timeout=15, what="deletions made once allowed")

    async def released() -> bool:
        report = await orphan_report(jetstream)
        return report is not None and not report.held_deletions

    await wait_until(released, timeout=10, what="no deletion held any more")


async def test_a_lagging_replica_never_prunes_a_newer_revisions_objects(
    events: Events, reconcilers: Reconcilers, kube: KubeClient
) -> None:
    leader = await reconcilers.start()
    platform = leader.runtime.platform
    await events.append(*project_created("acme"))
    internal = spec(HELLO, expose=False)
    await events.append(*service_applied("acme", internal, revision=1))
    # A second replica that has read the stream up to revision 1 only.
    lagging_state = DesiredState()
    store = EventStore(leader.runtime.js)
    messages = [
        *(await store.load(project_subject("acme"))).messages,
        *(await store.load(service_subject("acme", "hello"))).messages,
    ]
    for message in sorted(messages, key=lambda m: m.seq):
        lagging_state.apply(message.seq, message.event().payload)
    assert lagging_state.services[("acme", "hello")].revision == 1

    await events.append(*service_applied("acme", spec(HELLO), revision=2))
    newer = compiled_refs(platform, [("acme", spec(HELLO), 2)])

    async def holds_newer() -> bool:
        return set(await managed_objects(kube, platform)) == newer

    await wait_until(holds_newer, timeout=10, what="revision 2 applied with its Ingress")
    await leader.stop()

    lagging = Reconciler(kube, platform, lagging_state)
    await lagging.resync()
    while len(lagging.queue):
        key = await lagging.queue.get()
        try:
            await lagging.process(key)
        finally:
            lagging.queue.done(key)
    kinds = {ref.kind for ref in await managed_objects(kube, platform)}
    assert {"Ingress", "Certificate"} <= kinds, "revision 2's objects survive the lagging replica"
