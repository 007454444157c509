"""Pure decide/evolve of the aggregates, without I/O, and the service layer's boundaries."""

from __future__ import annotations

import ast
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from lc_api.domain import custom_domain, project, service
from lc_api.domain.errors import (
    AlreadyExists,
    Conflict,
    InvalidCommand,
    NotFound,
    PreconditionFailed,
)
from lc_contracts.events import FqdnClaimed, ProjectCreated, ProjectDeleted, ServiceApplied
from lc_contracts.specs import DomainRegistration, ProjectSpec, ServiceSpec

HELLO = ServiceSpec.model_validate(
    {
        "name": "hello",
        "tier": "cpu",
        "kind": {"container": {"image": "nginx", "ports": [{"port": 80}]}},
    }
)


def test_project_lifecycle() -> None:
    state = project.ProjectState("p")
    [created] = project.create(state, ProjectSpec(name="P", slug="p"))
    state = project.evolve(created, state, 3)
    assert state.exists
    assert state.version == 3
    with pytest.raises(AlreadyExists):
        project.create(state, ProjectSpec(name="P", slug="p"))
    assert project.rename(state, "P", None) == []
    with pytest.raises(PreconditionFailed):
        project.rename(state, "Q", 2)
    [deleted] = project.delete(state, 3)
    state = project.evolve(deleted, state, 9)
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
        state = service.evolve(applied, state, seq)
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
    held = custom_domain.claim_evolve(free, claimed, 5, now)
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


SRC = Path(__file__).parents[1] / "src" / "lc_api"
FORBIDDEN_IN_DOMAIN = (
    "lc_api.app",
    "lc_api.api",
    "lc_api.db",
    "lc_api.runtime",
    "fastapi",
    "sqlalchemy",
    "nats",
    "httpx",
    "lc_eventstore",
)


def imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_domain_layer_is_pure_and_app_layer_knows_no_http_or_sql() -> None:
    for path in (SRC / "domain").glob("*.py"):
        bad = {n for n in imports(path) if n.startswith(FORBIDDEN_IN_DOMAIN)}
        assert not bad, (path.name, bad)
    for path in (SRC / "app").glob("*.py"):
        bad = {
            n
            for n in imports(path)
            if n.startswith(("lc_api.api", "lc_api.db", "fastapi", "sqlalchemy"))
        }
        assert not bad, (path.name, bad)
