"""Knowing nothing is not a reason to delete: a reconciler started on an empty (or
replaced) LC_EVENTS finds objects with our labels and no history, leaves them in place,
reports them (an `orphan.detected` event each, and the orphan report `lc orphans`
prints), and deletes or keeps one only when an operator's request says so."""

from __future__ import annotations

from nats.js import JetStreamContext

from lc_contracts.events import OrphanDetected, build
from lc_contracts.status import OrphanReport
from lc_contracts.streams import EVENTS_STREAM
from lc_contracts.subjects import orphan_subject
from lc_eventstore import EventStore, provision_streams
from lc_reconciler.domain.objects import ObjectRef
from lc_reconciler.kube.client import KubeClient
from lc_reconciler.kube.resources import NAMESPACE
from lc_reconciler.orphan_commands import find_orphan, orphan_report, request, run_orphans
from lc_reconciler.reconcile import Reconciler
from lc_testing import wait_until
from lc_testing.product_docs import HELLO, LLAMA

from .conftest import Events, Reconcilers
from .helpers import compiled_refs, managed_objects, project_created, service_applied, spec


async def _resynced(reconciler: Reconciler) -> None:
    """Until the first resync ran and every key it queued was processed."""
    await wait_until(lambda: reconciler.resyncs >= 1, timeout=10, what="first resync")
    await reconciler.queue.wait_idle()


async def _report(js: JetStreamContext, count: int) -> OrphanReport:
    found: list[OrphanReport] = []

    async def reported() -> bool:
        report = await orphan_report(js)
        found[:] = [report] if report is not None else []
        return report is not None and len(report.orphans) == count

    await wait_until(reported, timeout=10, what=f"{count} orphans reported")
    return found[0]


async def test_an_emptied_stream_deletes_nothing_and_reports_orphans(
    events: Events,
    reconcilers: Reconcilers,
    kube: KubeClient,
    jetstream: JetStreamContext,
    nats_url: str,
) -> None:
    first = await reconcilers.start()
    platform = first.runtime.platform
    await events.append(*project_created("acme"))
    await events.append(*service_applied("acme", spec(HELLO)))
    await events.append(*service_applied("acme", spec(LLAMA)))
    want = compiled_refs(platform, [("acme", spec(HELLO), 1), ("acme", spec(LLAMA), 1)])

    async def holds_all() -> bool:
        return set(await managed_objects(kube, platform)) == want

    await wait_until(holds_all, timeout=10, what="both services applied")
    await first.stop()
    # LC_EVENTS is lost; provisioning at the next start creates an empty one.
    await jetstream.delete_stream(EVENTS_STREAM.name)

    second = await reconcilers.start()
    await _resynced(second.runtime.reconciler)
    assert set(await managed_objects(kube, platform)) == want, "nothing may be deleted"
    report = await _report(jetstream, len(want))
    assert await kube.get(NAMESPACE, None, "acme") is not None
    assert {ObjectRef(o.api_version, o.kind, o.namespace, o.name) for o in report.orphans} == want
    assert "PersistentVolumeClaim/acme/hello-workspace" in {str(o) for o in report.orphans}
    hellos = len([r for r in want if r.name.startswith("hello")])
    payloads: list[object] = []

    async def each_detected() -> bool:
        detected = await EventStore(jetstream).load(orphan_subject("acme", "hello"))
        payloads[:] = [m.event().payload for m in detected.messages]
        return len(payloads) >= hellos

    await wait_until(each_detected, timeout=10, what="an orphan.detected event per object")
    assert all(isinstance(p, OrphanDetected) for p in payloads)
    assert len(payloads) == hellos

    listed = await run_orphans(nats_url)  # what `lc orphans` prints
    assert "orphan\tDeployment/acme/hello\tacme/hello\trevision 1" in listed
    assert len(listed) == len(want)

    # An operator deletes one orphan and adopts another; nothing else changes.
    deployment = find_orphan(report, "Deployment/acme/hello")
    model = find_orphan(report, "model/acme/llama-3-8b")
    [receipt] = await run_orphans(nats_url, "delete", "Deployment/acme/hello")
    assert receipt.startswith("deletion of Deployment/acme/hello requested")
    await request(jetstream, model, "adopt")
    after = await _report(jetstream, len(want) - 2)
    assert {str(o) for o in after.orphans} == {
        str(o) for o in report.orphans if o not in (deployment, model)
    }
    assert set(await managed_objects(kube, platform)) == want - {
        ObjectRef(deployment.api_version, deployment.kind, deployment.namespace, deployment.name)
    }

    # A restart neither reports the same orphans twice nor forgets the requests.
    await second.stop()
    third = await reconcilers.start()
    await wait_until(lambda: third.runtime.reconciler.resyncs >= 1, timeout=10, what="resync")
    await _report(jetstream, len(want) - 2)
    again = await EventStore(jetstream).load(orphan_subject("acme", "hello"))
    redetected = [m for m in again.messages if isinstance(m.event().payload, OrphanDetected)]
    assert len(redetected) == len(payloads)


async def test_a_service_whose_events_it_cannot_read_keeps_its_objects(
    events: Events,
    reconcilers: Reconcilers,
    kube: KubeClient,
    jetstream: JetStreamContext,
) -> None:
    first = await reconcilers.start()
    platform = first.runtime.platform
    await events.append(*project_created("acme"))
    await events.append(*service_applied("acme", spec(HELLO)))
    want = compiled_refs(platform, [("acme", spec(HELLO), 1)])

    async def holds_all() -> bool:
        return set(await managed_objects(kube, platform)) == want

    await wait_until(holds_all, timeout=10, what="service applied")
    await first.stop()
    # The stream is restored from elsewhere; its service.applied comes from a newer version.
    await jetstream.delete_stream(EVENTS_STREAM.name)
    await provision_streams(jetstream)
    await events.append(*project_created("acme"))
    subject, payload = service_applied("acme", spec(HELLO))
    newer = build(payload, subject=subject, source="tests").model_copy(update={"dataversion": 99})
    await events.store.append(subject, [newer], None)

    second = await reconcilers.start()
    await _resynced(second.runtime.reconciler)
    assert second.runtime.feed.skipped == 1
    assert set(await managed_objects(kube, platform)) == want, "nothing may be deleted"
    await _report(jetstream, len(want))
