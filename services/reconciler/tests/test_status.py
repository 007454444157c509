"""Status: snapshots on LC_STATUS and phase transitions on LC_EVENTS, from the Models and
Deployments the reconciler watches."""

from __future__ import annotations

from nats.js import JetStreamContext

from lc_clustersim.sim import ClusterSim
from lc_contracts.specs import Endpoint
from lc_contracts.status import ServicePhase
from lc_contracts.streams import STATUS_STREAM, UNREFRESHED_STATUS_TTL_S
from lc_contracts.subjects import service_status_subject
from lc_eventstore import provision_streams
from lc_reconciler.domain.desired_state import DesiredState
from lc_reconciler.status_reporter import StatusReporter
from lc_testing import wait_until
from lc_testing.product_docs import HELLO, LLAMA

from .conftest import Events, Reconcilers
from .helpers import (
    project_created,
    service_applied,
    service_deleted,
    snapshot,
    spec,
    status_changes,
)

P = ServicePhase


async def _phase_is(js: JetStreamContext, slug: str, name: str, phase: ServicePhase) -> bool:
    current = await snapshot(js, slug, name)
    return current is not None and current.phase is phase


async def test_inference_service_goes_pending_deploying_ready_with_replica_urls(
    events: Events, reconcilers: Reconcilers, jetstream: JetStreamContext
) -> None:
    await reconcilers.start()
    await events.append(*project_created("default"))
    await events.append(*service_applied("default", spec(LLAMA)))

    async def announced_ready() -> bool:
        changes = await status_changes(jetstream, "default", "llama-3-8b")
        return bool(changes) and changes[-1].phase is P.READY

    await wait_until(announced_ready, timeout=10, what="Ready announced")
    changes = await status_changes(jetstream, "default", "llama-3-8b")
    phases = [c.phase for c in changes]
    assert phases[0] is P.PENDING
    assert phases[-1] is P.READY
    assert phases == sorted(set(phases), key=[P.PENDING, P.DEPLOYING, P.READY].index), phases
    assert [c.previous_phase for c in changes] == [None, *phases[:-1]]
    current = await snapshot(jetstream, "default", "llama-3-8b")
    assert current is not None
    assert current.phase is P.READY
    assert current.model_name == "meta-llama/Llama-3.1-8B-Instruct"
    assert current.endpoints == [Endpoint.CHAT_COMPLETIONS, Endpoint.COMPLETIONS]
    assert current.revision == 1
    assert current.ready_replicas == 1
    assert len(current.replicas) == 1
    assert current.replicas[0].url.startswith("http://127.0.0.1:")


async def test_model_the_engine_cannot_place_is_failed(
    events: Events, reconcilers: Reconcilers, jetstream: JetStreamContext
) -> None:
    await reconcilers.start()
    await events.append(*project_created("default"))
    giant = spec(LLAMA, name="giant", kind={"model": {"modelName": "acme/giant-9000b"}})
    await events.append(*service_applied("default", giant))

    await wait_until(
        lambda: _phase_is(jetstream, "default", "giant", P.FAILED), timeout=10, what="Failed"
    )
    current = await snapshot(jetstream, "default", "giant")
    assert current is not None
    assert current.message
    assert current.replicas == []
    changes = await status_changes(jetstream, "default", "giant")
    assert changes[-1].phase is P.FAILED
    assert changes[-1].message == current.message


async def test_load_failure_after_ready_is_announced(
    events: Events, reconcilers: Reconcilers, jetstream: JetStreamContext, cluster: ClusterSim
) -> None:
    await reconcilers.start()
    await events.append(*project_created("default"))
    await events.append(*service_applied("default", spec(LLAMA)))
    await wait_until(
        lambda: _phase_is(jetstream, "default", "llama-3-8b", P.READY), timeout=10, what="Ready"
    )
    await cluster.fail_model("default", "llama-3-8b", "out of memory while loading")
    await wait_until(
        lambda: _phase_is(jetstream, "default", "llama-3-8b", P.FAILED), timeout=10, what="Failed"
    )
    current = await snapshot(jetstream, "default", "llama-3-8b")
    assert current is not None
    assert "out of memory" in current.message


async def test_container_service_ready_then_deleted(
    events: Events, reconcilers: Reconcilers, jetstream: JetStreamContext
) -> None:
    await reconcilers.start()
    await events.append(*project_created("default"))
    await events.append(*service_applied("default", spec(HELLO)))
    await wait_until(
        lambda: _phase_is(jetstream, "default", "hello", P.READY), timeout=10, what="Ready"
    )
    current = await snapshot(jetstream, "default", "hello")
    assert current is not None
    assert current.ready_replicas == 1
    assert current.model_name is None
    await events.append(*service_deleted("default", "hello"))
    await wait_until(
        lambda: _phase_is(jetstream, "default", "hello", P.DELETED), timeout=10, what="Deleted"
    )


async def test_restart_announces_no_transition_twice(
    events: Events, reconcilers: Reconcilers, jetstream: JetStreamContext
) -> None:
    first = await reconcilers.start()
    await events.append(*project_created("default"))
    await events.append(*service_applied("default", spec(LLAMA)))
    await events.append(*service_applied("default", spec(HELLO)))
    for name in ("llama-3-8b", "hello"):
        await wait_until(
            lambda n=name: _phase_is(jetstream, "default", n, P.READY),
            timeout=10,
            what=f"{name} Ready",
        )

    async def announced(name: str) -> bool:
        changes = await status_changes(jetstream, "default", name)
        return bool(changes) and changes[-1].phase is P.READY

    await wait_until(lambda: announced("llama-3-8b"), timeout=10, what="llama Ready announced")
    await wait_until(lambda: announced("hello"), timeout=10, what="hello Ready announced")
    before = {n: await status_changes(jetstream, "default", n) for n in ("llama-3-8b", "hello")}
    await first.stop()

    second = await reconcilers.start()
    reporter = second.runtime.reporter
    await wait_until(
        lambda: len(reporter.queue) == 0, timeout=10, what="status evaluated after restart"
    )
    after = {n: await status_changes(jetstream, "default", n) for n in ("llama-3-8b", "hello")}
    assert after == before
    assert reporter.announced == 0


async def test_status_follows_changes_after_watches_are_dropped(
    events: Events, reconcilers: Reconcilers, jetstream: JetStreamContext, cluster: ClusterSim
) -> None:
    running = await reconcilers.start()
    await events.append(*project_created("default"))
    await events.append(*service_applied("default", spec(HELLO)))
    await wait_until(
        lambda: _phase_is(jetstream, "default", "hello", P.READY), timeout=10, what="Ready"
    )
    assert cluster.close_watches() >= 2
    three = spec(HELLO, kind={"container": {**HELLO["kind"]["container"], "replicas": 3}})
    await events.append(*service_applied("default", three, revision=2))

    async def three_ready() -> bool:
        current = await snapshot(jetstream, "default", "hello")
        return current is not None and current.ready_replicas == 3 and current.revision == 2

    await wait_until(three_ready, timeout=10, what="3 replicas ready at revision 2")
    assert sum(w.resumes for w in running.runtime.watches) >= 2


async def test_a_deleted_services_snapshot_has_a_lifespan_and_stays_gone_after_restart(
    events: Events, reconcilers: Reconcilers, jetstream: JetStreamContext
) -> None:
    first = await reconcilers.start()
    await events.append(*project_created("default"))
    await events.append(*service_applied("default", spec(HELLO)))
    await wait_until(
        lambda: _phase_is(jetstream, "default", "hello", P.READY), timeout=10, what="Ready"
    )
    await events.append(*service_deleted("default", "hello"))
    await wait_until(
        lambda: _phase_is(jetstream, "default", "hello", P.DELETED), timeout=10, what="Deleted"
    )
    subject = service_status_subject("default", "hello")
    tombstone = await jetstream.get_last_msg(STATUS_STREAM.name, subject)
    assert tombstone.headers is not None
    assert tombstone.headers.get("Nats-TTL") == str(int(UNREFRESHED_STATUS_TTL_S))
    await first.stop()
    await jetstream.purge_stream(STATUS_STREAM.name, subject=subject)  # what expiry does

    second = await reconcilers.start()
    reporter = second.runtime.reporter
    await wait_until(
        lambda: len(reporter.queue) == 0, timeout=10, what="status evaluated after restart"
    )
    assert await snapshot(jetstream, "default", "hello") is None


async def test_a_service_gone_without_a_snapshot_gets_no_tombstone(
    jetstream: JetStreamContext,
) -> None:
    await provision_streams(jetstream)
    reporter = StatusReporter(jetstream, DesiredState())
    await reporter.report(("default", "never-reported"))
    assert await snapshot(jetstream, "default", "never-reported") is None
