"""Pure decide/evolve of the aggregates, without I/O (the layers are import-linter's to check)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from lc_api.domain import custom_domain, project, service
from lc_api.domain.errors import (
    AlreadyExists,
    Conflict,
    InvalidCommand,
    NotFound,
    PreconditionFailed,
)
from lc_contracts.events import (
    DomainVerificationLost,
    DomainVerified,
    FqdnClaimed,
    Payload,
    ProjectCreated,
    ProjectDeleted,
    ServiceApplied,
    build,
)
from lc_contracts.specs import DomainRegistration, ProjectSpec, ServiceSpec
from lc_eventstore import StoredEvent

HELLO = ServiceSpec.model_validate(
    {
        "name": "hello",
        "tier": "cpu",
        "kind": {"container": {"image": "nginx", "ports": [{"port": 80}]}},
    }
)


def recorded(payload: Payload, seq: int, at: datetime | None = None) -> StoredEvent:
    """`payload` as read back from the stream at `seq` (written at `at`)."""
    envelope = build(payload, subject="lc.events.test", source="tests")
    if at is not None:
        envelope = envelope.model_copy(update={"time": at})
    return StoredEvent(seq=seq, envelope=envelope, payload=payload)


def test_project_lifecycle() -> None:
    state = project.ProjectState("p")
    [created] = project.create(state, ProjectSpec(name="P", slug="p"))
    state = project.evolve(state, recorded(created, 3))
    assert state.exists
    assert state.version == 3
    with pytest.raises(AlreadyExists):
        project.create(state, ProjectSpec(name="P", slug="p"))
    assert project.rename(state, "P", None) == []
    with pytest.raises(PreconditionFailed):
        project.rename(state, "Q", 2)
    [deleted] = project.delete(state, 3)
    state = project.evolve(state, recorded(deleted, 9))
    assert not state.exists
    assert state.version == 9
    assert isinstance(project.create(state, ProjectSpec(name="P", slug="p"))[0], ProjectCreated)
    with pytest.raises(NotFound):
        project.delete(state, None)
    assert isinstance(deleted, ProjectDeleted)


def test_service_revisions_and_rollback() -> None:
    state = service.ServiceState("p", "hello")
    for seq in (1, 2):
        [applied] = service.apply(state, HELLO, None)
        assert isinstance(applied, ServiceApplied)
        state = service.evolve(state, recorded(applied, seq))
    assert state.revision == 2
    [back] = service.rollback(state, 1, 2)
    assert isinstance(back, ServiceApplied)
    assert back.revision == 3
    assert back.rollback_of == 1
    with pytest.raises(InvalidCommand):
        service.rollback(state, 7, None)
    with pytest.raises(InvalidCommand):
        service.patch(state, {"name": "other"}, None)


def test_fqdn_claims() -> None:
    now = datetime.now(UTC)
    free = custom_domain.FqdnClaim("chat.acme.com")
    [claimed] = custom_domain.claim(free, "d1", "default", None, now)
    assert isinstance(claimed, FqdnClaimed)
    held = custom_domain.claim_evolve(free, recorded(claimed, 5, now))
    live = custom_domain.DomainState("d1", exists=True)
    with pytest.raises(Conflict, match="another project"):
        custom_domain.claim(held, "d2", "other", live, now)
    with pytest.raises(Conflict, match="already registered"):
        custom_domain.claim(held, "d2", "default", live, now)
    assert custom_domain.claim(held, "d1", "default", None, now) == []
    never_registered = custom_domain.DomainState("d1")
    with pytest.raises(Conflict):
        custom_domain.claim(held, "d2", "other", never_registered, now)
    later = now + custom_domain.STALE_CLAIM + timedelta(seconds=1)
    assert custom_domain.claim(held, "d2", "other", never_registered, later)
    deleted = custom_domain.DomainState("d1", deleted=True)
    assert custom_domain.claim(held, "d2", "other", deleted, now)
    registration = DomainRegistration(
        fqdn="chat.acme.com", project_slug="default", service_name="x"
    )
    [registered] = custom_domain.register(custom_domain.DomainState("d1"), registration, "t" * 43)
    assert registered.TYPE == "domain.registered"


def test_platform_domain_names_are_not_custom_domains() -> None:
    for fqdn in ("lc.example.com", "a.lc.example.com"):
        with pytest.raises(InvalidCommand) as refused:
            custom_domain.check_fqdn(fqdn, "lc.example.com")
        assert refused.value.errors[0].pointer == "/fqdn"
    for fqdn in ("example.com", "xlc.example.com", "lc.example.com.evil.org"):
        custom_domain.check_fqdn(fqdn, "lc.example.com")
    custom_domain.check_fqdn("anything.com", None)


def test_a_claim_lapses_only_unverified_and_past_the_window() -> None:
    window = timedelta(hours=72)
    registered_at = datetime(2030, 1, 1, tzinfo=UTC)
    registration = DomainRegistration(fqdn="chat.acme.com", project_slug="p", service_name="s")
    state = custom_domain.DomainState("d1")
    [registered] = custom_domain.register(state, registration, "t" * 43)
    state = custom_domain.evolve(state, recorded(registered, 1, registered_at))
    assert state.registered_at == registered_at
    within, past = registered_at + window, registered_at + window + timedelta(seconds=1)
    assert not custom_domain.lapsed(state, within, window)
    assert custom_domain.lapse(state, within, window) == []
    assert custom_domain.lapsed(state, past, window)
    [deleted] = custom_domain.lapse(state, past, window)
    assert deleted.TYPE == "domain.deleted"
    gone = custom_domain.evolve(state, recorded(deleted, 2, past))
    assert not custom_domain.lapsed(gone, past, window)
    verified = DomainVerified(id="d1", fqdn="chat.acme.com", project_slug="p", service_name="s")
    kept = custom_domain.evolve(state, recorded(verified, 2, within))
    assert not custom_domain.lapsed(kept, past + window, window)
    # A verification lost later does not reopen the claim: the domain was proven once.
    lost = DomainVerificationLost(
        id="d1", fqdn="chat.acme.com", project_slug="p", service_name="s", reason="nxdomain"
    )
    assert not custom_domain.lapsed(
        custom_domain.evolve(kept, recorded(lost, 3, past)), past + window, window
    )
