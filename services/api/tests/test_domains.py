"""Custom domains: registration, FQDN normalisation and uniqueness, verification, deletion."""

from __future__ import annotations

import httpx
import pytest
from nats.js import JetStreamContext

from lc_contracts.events import DomainVerified, build
from lc_contracts.subjects import domain_subject
from lc_eventstore import EventStore
from lc_testing import wait_until

from .conftest import DOCS_DOMAIN, DOCS_HELLO, DOCS_LLAMA, DOCS_PROJECT


@pytest.fixture
async def setup(client: httpx.AsyncClient) -> httpx.AsyncClient:
    await client.post("/api/v1/projects", json=DOCS_PROJECT)
    await client.post("/api/v1/projects/default/services", json=DOCS_LLAMA)
    await client.post("/api/v1/projects", json={"name": "Other", "slug": "other"})
    await client.post("/api/v1/projects/other/services", json=DOCS_HELLO)
    return client


async def test_fqdn_is_normalised_and_claimed_once_across_projects(
    setup: httpx.AsyncClient,
) -> None:
    first = await setup.post("/api/v1/domains", json={**DOCS_DOMAIN, "fqdn": "Chat.ACME.com."})
    assert first.status_code == 201, first.text
    assert first.json()["fqdn"] == "chat.acme.com"
    same_project = await setup.post("/api/v1/domains", json=DOCS_DOMAIN)
    assert same_project.status_code == 409
    other_project = await setup.post(
        "/api/v1/domains",
        json={"fqdn": "chat.acme.com", "projectSlug": "other", "serviceName": "hello"},
    )
    assert other_project.status_code == 409
    assert "another project" in other_project.json()["detail"]
    listed = (await setup.get("/api/v1/domains")).json()["items"]
    assert [d["fqdn"] for d in listed] == ["chat.acme.com"]


async def test_idn_is_stored_as_a_labels(setup: httpx.AsyncClient) -> None:
    response = await setup.post("/api/v1/domains", json={**DOCS_DOMAIN, "fqdn": "Bücher.example"})
    assert response.status_code == 201, response.text
    assert response.json()["fqdn"] == "xn--bcher-kva.example"
    assert response.json()["challengeRR"] == "_lc-challenge.xn--bcher-kva.example"


async def test_invalid_fqdns_are_422(setup: httpx.AsyncClient) -> None:
    for fqdn in [
        "",
        "localhost",
        "*.acme.com",
        "a..b.com",
        "-bad.com",
        "x" * 64 + ".com",
        "1.2.3.4",
        "sp ace.com",
        7,
    ]:
        response = await setup.post("/api/v1/domains", json={**DOCS_DOMAIN, "fqdn": fqdn})
        assert response.status_code == 422, (fqdn, response.text)
        assert response.json()["errors"][0]["pointer"] == "/fqdn"
    assert (await setup.get("/api/v1/domains")).json()["items"] == []


async def test_target_must_be_a_service_of_that_project(setup: httpx.AsyncClient) -> None:
    cross = await setup.post(
        "/api/v1/domains",
        json={"fqdn": "x.acme.com", "projectSlug": "default", "serviceName": "hello"},
    )
    assert cross.status_code == 422
    assert cross.json()["errors"][0]["pointer"] == "/serviceName"
    missing_project = await setup.post(
        "/api/v1/domains",
        json={"fqdn": "x.acme.com", "projectSlug": "ghost", "serviceName": "hello"},
    )
    assert missing_project.status_code == 422
    assert missing_project.json()["errors"][0]["pointer"] == "/projectSlug"
    owned = await setup.post("/api/v1/domains", json={**DOCS_DOMAIN, "status": "verified"})
    assert owned.status_code == 422
    assert "set by the server" in owned.json()["errors"][0]["detail"]
    # the failed attempts claimed nothing
    assert (
        await setup.post("/api/v1/domains", json={**DOCS_DOMAIN, "fqdn": "x.acme.com"})
    ).status_code == 201


async def test_delete_releases_the_fqdn(setup: httpx.AsyncClient) -> None:
    first = (await setup.post("/api/v1/domains", json=DOCS_DOMAIN)).json()
    assert (await setup.get(f"/api/v1/domains/{first['id']}")).json()["fqdn"] == "chat.acme.com"
    assert (await setup.delete(f"/api/v1/domains/{first['id']}")).status_code == 204
    assert (await setup.get(f"/api/v1/domains/{first['id']}")).status_code == 404
    assert (await setup.delete(f"/api/v1/domains/{first['id']}")).status_code == 404
    assert (await setup.post(f"/api/v1/domains/{first['id']}/verify")).status_code == 404
    taken = await setup.post(
        "/api/v1/domains",
        json={"fqdn": "chat.acme.com", "projectSlug": "other", "serviceName": "hello"},
    )
    assert taken.status_code == 201, taken.text
    assert taken.json()["id"] != first["id"]


async def test_verified_domains_show_on_their_service(
    setup: httpx.AsyncClient, jetstream: JetStreamContext
) -> None:
    domain = (await setup.post("/api/v1/domains", json=DOCS_DOMAIN)).json()
    # What the domain-verifier appends once the TXT record matches.
    verified = DomainVerified(
        id=domain["id"], fqdn="chat.acme.com", project_slug="default", service_name="llama-3-8b"
    )
    subject = domain_subject(domain["id"])
    store = EventStore(jetstream)
    await store.append(subject, [build(verified, subject=subject, source="domain-verifier")], None)

    async def listed() -> bool:
        body = (await setup.get("/api/v1/projects/default/services/llama-3-8b")).json()
        return bool(body["domains"] == ["chat.acme.com"])

    await wait_until(listed)
    after = (await setup.get(f"/api/v1/domains/{domain['id']}")).json()
    assert after["status"] == "verified"
    assert after["verifiedAt"] is not None


async def test_cascade_delete_of_a_project_deletes_its_domains(setup: httpx.AsyncClient) -> None:
    domain = (await setup.post("/api/v1/domains", json=DOCS_DOMAIN)).json()
    await setup.delete("/api/v1/projects/default/services/llama-3-8b")
    refused = await setup.delete("/api/v1/projects/default")
    assert refused.status_code == 409
    assert domain["id"] in refused.json()["detail"]
    assert (await setup.delete("/api/v1/projects/default?cascade=true")).status_code == 204
    assert (await setup.get(f"/api/v1/domains/{domain['id']}")).status_code == 404
    reuse = await setup.post(
        "/api/v1/domains",
        json={"fqdn": "chat.acme.com", "projectSlug": "other", "serviceName": "hello"},
    )
    assert reuse.status_code == 201
