"""The pure prune decision: only the stream's own word deletes."""

from __future__ import annotations

from lc_contracts.events import (
    OrphanAdoptionRequested,
    OrphanDeletionRequested,
    ProjectCreated,
    ProjectDeleted,
    ServiceApplied,
    ServiceDeleted,
)
from lc_contracts.status import ManagedObject
from lc_reconciler.domain.desired_state import DesiredState
from lc_reconciler.domain.objects import ObjectRef
from lc_reconciler.domain.prune import LiveObject, PruneGuard, plan_prune
from lc_testing.product_docs import HELLO

from .helpers import spec

KEY = ("acme", "hello")
DEPLOYMENT = ObjectRef("apps/v1", "Deployment", "acme", "hello")
INGRESS = ObjectRef("networking.k8s.io/v1", "Ingress", "acme", "hello")
VOLUME = ObjectRef("v1", "PersistentVolumeClaim", "acme", "hello-workspace")


def live(revision: str) -> list[LiveObject]:
    return [LiveObject(ref, revision, f"uid-{ref.kind}") for ref in (DEPLOYMENT, INGRESS, VOLUME)]


def state_at(revision: int) -> DesiredState:
    state = DesiredState()
    state.apply(1, ProjectCreated(slug="acme", name="Acme"))
    for seq in range(revision):
        state.apply(
            seq + 2, ServiceApplied(project_slug="acme", revision=seq + 1, spec=spec(HELLO))
        )
    return state


def test_a_service_with_no_history_loses_nothing_and_its_objects_are_orphans() -> None:
    plan = plan_prune(DesiredState(), KEY, set(), live("1"))
    assert plan.delete == ()
    assert {o.ref for o in plan.orphans} == {DEPLOYMENT, INGRESS, VOLUME}
    # Its project being known changes nothing: the service itself has no history.
    plan = plan_prune(state_at(0), KEY, set(), live("1"))
    assert plan.delete == ()
    assert len(plan.orphans) == 3


def test_a_deleted_service_loses_everything_its_volume_included() -> None:
    state = state_at(1)
    state.apply(10, ServiceDeleted(project_slug="acme", name="hello"))
    assert set(plan_prune(state, KEY, set(), live("1")).delete) == {DEPLOYMENT, INGRESS, VOLUME}
    project_gone = state_at(1)
    project_gone.apply(10, ProjectDeleted(slug="acme"))
    assert len(plan_prune(project_gone, KEY, set(), live("1")).delete) == 3
    # A service applied again has a history again.
    state.apply(11, ServiceApplied(project_slug="acme", revision=2, spec=spec(HELLO)))
    assert plan_prune(state, KEY, {DEPLOYMENT, VOLUME}, live("1")).delete == (INGRESS,)


def test_a_live_service_prunes_only_known_revisions_and_never_its_volume() -> None:
    state = state_at(2)
    assert plan_prune(state, KEY, {DEPLOYMENT}, live("1")).delete == (INGRESS,)
    assert plan_prune(state, KEY, {DEPLOYMENT}, live("2")).delete == (INGRESS,)
    assert plan_prune(state, KEY, {DEPLOYMENT}, live("3")).delete == (), "newer: a lagging replica"
    assert plan_prune(state, KEY, {DEPLOYMENT}, live("")).delete == (), "no readable revision"


def test_operators_adopt_or_delete_orphans_by_request() -> None:
    state = DesiredState()
    target = ManagedObject(
        api_version="apps/v1",
        kind="Deployment",
        namespace="acme",
        name="hello",
        project_slug="acme",
        service_name="hello",
    )
    touched = state.apply(1, OrphanDeletionRequested(target=target))
    assert touched.services == {KEY}
    ingress = ManagedObject(
        **{**target.model_dump(), "kind": "Ingress", "api_version": INGRESS.api_version}
    )
    state.apply(2, OrphanAdoptionRequested(target=ingress))
    plan = plan_prune(state, KEY, set(), live("1"))
    assert plan.delete == (DEPLOYMENT,)
    assert {o.ref for o in plan.orphans} == {VOLUME}


def test_guard_allows_a_floor_and_a_share() -> None:
    guard = PruneGuard(share=0.5, floor=20)
    assert guard.allows(20, 21)
    assert guard.allows(50, 100)
    assert not guard.allows(51, 100)
    assert PruneGuard(share=1.0, floor=0).allows(100, 100)
