"""The fold of LC_EVENTS into the desired state (pure)."""

from __future__ import annotations

from lc_contracts.events import (
    DomainDeleted,
    DomainVerificationLost,
    DomainVerified,
    ProjectCreated,
    ProjectDeleted,
    ServiceApplied,
    ServiceDeleted,
    ServiceStatusChanged,
)
from lc_contracts.status import ServicePhase
from lc_reconciler.domain.desired_state import DesiredState, Touched
from lc_testing.product_docs import HELLO, LLAMA

from .helpers import spec


def test_projects_services_and_domains_fold_in_order() -> None:
    state = DesiredState()
    assert state.apply(1, ProjectCreated(slug="acme", name="Acme")) == Touched(
        projects=frozenset({"acme"})
    )
    touched = state.apply(2, ServiceApplied(project_slug="acme", revision=1, spec=spec(HELLO)))
    assert touched.services == {("acme", "hello")}
    state.apply(3, ServiceApplied(project_slug="acme", revision=2, spec=spec(HELLO, expose=False)))
    assert state.services[("acme", "hello")].revision == 2
    assert state.subject_seqs[("acme", "hello")] == 3
    state.apply(
        4, DomainVerified(id="d1", fqdn="b.acme.com", project_slug="acme", service_name="hello")
    )
    state.apply(
        5, DomainVerified(id="d2", fqdn="a.acme.com", project_slug="acme", service_name="hello")
    )
    assert state.verified_domains(("acme", "hello")) == ["a.acme.com", "b.acme.com"]
    state.apply(
        6,
        DomainVerificationLost(
            id="d1", fqdn="b.acme.com", project_slug="acme", service_name="hello", reason="mismatch"
        ),
    )
    state.apply(
        7, DomainDeleted(id="d2", fqdn="a.acme.com", project_slug="acme", service_name="hello")
    )
    assert state.verified_domains(("acme", "hello")) == []
    assert state.is_live(("acme", "hello"))


def test_replayed_sequences_are_ignored() -> None:
    state = DesiredState()
    state.apply(5, ProjectCreated(slug="acme", name="Acme"))
    assert not state.apply(5, ProjectDeleted(slug="acme"))
    assert state.projects == {"acme"}


def test_project_deletion_takes_its_services_along() -> None:
    state = DesiredState()
    state.apply(1, ProjectCreated(slug="acme", name="Acme"))
    state.apply(2, ServiceApplied(project_slug="acme", revision=1, spec=spec(HELLO)))
    state.apply(3, ServiceApplied(project_slug="acme", revision=1, spec=spec(LLAMA)))
    touched = state.apply(4, ProjectDeleted(slug="acme"))
    assert touched.projects == {"acme"}
    assert touched.services == {("acme", "hello"), ("acme", "llama-3-8b")}
    assert state.services == {}


def test_announced_phase_is_folded_and_reset_by_deletion() -> None:
    state = DesiredState()
    state.apply(1, ProjectCreated(slug="acme", name="Acme"))
    state.apply(2, ServiceApplied(project_slug="acme", revision=1, spec=spec(HELLO)))
    assert not state.apply(
        3, ServiceStatusChanged(project_slug="acme", name="hello", phase=ServicePhase.READY)
    )
    assert state.announced_phases[("acme", "hello")] is ServicePhase.READY
    assert state.subject_seqs[("acme", "hello")] == 3
    state.apply(4, ServiceDeleted(project_slug="acme", name="hello"))
    assert ("acme", "hello") not in state.announced_phases
    assert not state.is_live(("acme", "hello"))
