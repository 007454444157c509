"""A write that died between its append and its project check is finished by lcd's
background sweep, without the command being retried.

Each test plays the dying writer by appending its event straight to the stream after
ProjectDeleted, then waits (a few sweep intervals at most) for lcd to delete it.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from nats.js import JetStreamContext

from lc_api.settings import ApiSettings
from lc_contracts.events import (
    DomainDeleted,
    DomainRegistered,
    FqdnClaimed,
    FqdnReleased,
    Payload,
    ServiceApplied,
    ServiceDeleted,
    build,
)
from lc_contracts.specs import ServiceSpec
from lc_contracts.subjects import domain_subject, fqdn_claim_subject, service_subject
from lc_eventstore import EventStore

from .conftest import (
    DOCS_DOMAIN,
    DOCS_HELLO,
    DOCS_LLAMA,
    DOCS_PROJECT,
    client_for,
    make_settings,
    wait_until,
)

SLUG = DOCS_PROJECT["slug"]
PROJECT = f"/api/v1/projects/{SLUG}"
SWEEP_INTERVAL_S = 0.2
# Generous for a loaded machine, and still far below the default interval.
WITHIN_S = 10.0


@pytest.fixture
def sweeping(nats_url: str, database_url: str) -> ApiSettings:
    return make_settings(nats_url, database_url, orphan_sweep_interval_s=SWEEP_INTERVAL_S)


@pytest.fixture
async def client(sweeping: ApiSettings) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(sweeping) as c:
        yield c


async def append_as_a_dying_writer(store: EventStore, subject: str, payload: Payload) -> None:
    """Append `payload` as a command's first write would, and never check the project."""
    aggregate = await store.load(subject)
    envelope = build(payload, subject=subject, source="lcd", actor="admin")
    await store.append(subject, [envelope], aggregate.version)


async def last_event(store: EventStore, subject: str) -> Payload | None:
    aggregate = await store.load(subject)
    return aggregate.messages[-1].event().payload if aggregate.messages else None


async def test_a_service_written_after_project_deleted_is_withdrawn_without_a_retry(
    client: httpx.AsyncClient, jetstream: JetStreamContext
) -> None:
    store = EventStore(jetstream)
    assert (await client.post("/api/v1/projects", json=DOCS_PROJECT)).status_code == 201
    assert (await client.delete(PROJECT)).status_code == 204
    subject = service_subject(SLUG, DOCS_HELLO["name"])
    spec = ServiceSpec.model_validate(DOCS_HELLO, by_name=False, by_alias=True)
    await append_as_a_dying_writer(
        store, subject, ServiceApplied(project_slug=SLUG, revision=1, spec=spec)
    )

    async def withdrawn() -> bool:
        return isinstance(await last_event(store, subject), ServiceDeleted)

    await wait_until(withdrawn, timeout=WITHIN_S)
    # A project of the same slug created later inherits nothing.
    assert (await client.post("/api/v1/projects", json=DOCS_PROJECT)).status_code == 201
    assert (await client.get(f"{PROJECT}/services")).json()["items"] == []
    assert (await client.get(PROJECT)).json()["serviceCount"] == 0


async def test_a_domain_registered_after_project_deleted_is_withdrawn_and_its_fqdn_freed(
    client: httpx.AsyncClient, jetstream: JetStreamContext
) -> None:
    store = EventStore(jetstream)
    assert (await client.post("/api/v1/projects", json=DOCS_PROJECT)).status_code == 201
    assert (await client.post(f"{PROJECT}/services", json=DOCS_LLAMA)).status_code == 201
    assert (await client.delete(PROJECT, params={"cascade": "true"})).status_code == 204
    domain_id = str(uuid.uuid4())
    fqdn = DOCS_DOMAIN["fqdn"]
    await append_as_a_dying_writer(
        store,
        fqdn_claim_subject(fqdn),
        FqdnClaimed(fqdn=fqdn, domain_id=domain_id, project_slug=SLUG),
    )
    await append_as_a_dying_writer(
        store,
        domain_subject(domain_id),
        DomainRegistered(
            id=domain_id,
            fqdn=fqdn,
            project_slug=SLUG,
            service_name=DOCS_LLAMA["name"],
            challenge_token="t" * 43,
        ),
    )

    async def withdrawn() -> bool:
        return isinstance(await last_event(store, domain_subject(domain_id)), DomainDeleted)

    await wait_until(withdrawn, timeout=WITHIN_S)
    assert isinstance(await last_event(store, fqdn_claim_subject(fqdn)), FqdnReleased)

    async def gone_from_the_read_models() -> bool:  # which follow the stream a moment later
        return (await client.get(f"/api/v1/domains/{domain_id}")).status_code == 404

    await wait_until(gone_from_the_read_models, timeout=WITHIN_S)
    # The FQDN is free for a project of the same slug created later.
    assert (await client.post("/api/v1/projects", json=DOCS_PROJECT)).status_code == 201
    assert (await client.post(f"{PROJECT}/services", json=DOCS_LLAMA)).status_code == 201
    assert (await client.get("/api/v1/domains")).json()["items"] == []
    again = await client.post("/api/v1/domains", json=DOCS_DOMAIN)
    assert again.status_code == 201, again.text


async def test_services_of_live_projects_are_left_alone(
    client: httpx.AsyncClient, jetstream: JetStreamContext
) -> None:
    """A sweep that ran meanwhile deletes nothing of a project that exists."""
    store = EventStore(jetstream)
    assert (await client.post("/api/v1/projects", json=DOCS_PROJECT)).status_code == 201
    assert (await client.post(f"{PROJECT}/services", json=DOCS_HELLO)).status_code == 201
    # An orphan in another project, so that the test knows a sweep has run.
    assert (
        await client.post("/api/v1/projects", json={"name": "Gone", "slug": "gone"})
    ).status_code == 201
    assert (await client.delete("/api/v1/projects/gone")).status_code == 204
    spec = ServiceSpec.model_validate(DOCS_HELLO, by_name=False, by_alias=True)
    orphan = service_subject("gone", DOCS_HELLO["name"])
    await append_as_a_dying_writer(
        store, orphan, ServiceApplied(project_slug="gone", revision=1, spec=spec)
    )

    async def swept() -> bool:
        return isinstance(await last_event(store, orphan), ServiceDeleted)

    await wait_until(swept, timeout=WITHIN_S)
    assert isinstance(
        await last_event(store, service_subject(SLUG, DOCS_HELLO["name"])), ServiceApplied
    )
    assert (await client.get(f"{PROJECT}/services/{DOCS_HELLO['name']}")).status_code == 200
