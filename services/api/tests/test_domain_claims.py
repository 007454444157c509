"""Which FQDNs a project may claim: never the platform's own domain, and an FQDN whose
claim lapsed (registered longer ago than the verification window, never verified) may be
taken by another registration, after which the lapsed domain cannot be verified."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import httpx
import pytest
from nats.js import JetStreamContext

from lc_api.settings import ApiSettings
from lc_contracts.events import DomainVerified, build
from lc_contracts.subjects import domain_subject
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

WINDOW_S = 1.5
OTHER = {"projectSlug": "other", "serviceName": "hello"}


@pytest.fixture
def short_window(nats_url: str, database_url: str) -> ApiSettings:
    # platform_domain is example.com (conftest.make_settings).
    return make_settings(nats_url, database_url, domain_expiry_h=WINDOW_S / 3600)


@pytest.fixture
async def setup(short_window: ApiSettings) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(short_window) as client:
        await client.post("/api/v1/projects", json=DOCS_PROJECT)
        await client.post("/api/v1/projects/default/services", json=DOCS_LLAMA)
        await client.post("/api/v1/projects", json={"name": "Other", "slug": "other"})
        await client.post("/api/v1/projects/other/services", json=DOCS_HELLO)
        yield client


@pytest.mark.parametrize("fqdn", ["example.com", "chat.example.com", "Deep.Chat.EXAMPLE.com."])
async def test_the_platform_domain_and_names_under_it_are_refused(
    setup: httpx.AsyncClient, fqdn: str
) -> None:
    response = await setup.post("/api/v1/domains", json={**DOCS_DOMAIN, "fqdn": fqdn})
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["errors"][0]["pointer"] == "/fqdn"
    assert "platform domain" in response.json()["detail"]
    assert (await setup.get("/api/v1/domains")).json()["items"] == []


async def test_a_name_that_merely_ends_like_the_platform_domain_is_accepted(
    setup: httpx.AsyncClient,
) -> None:
    response = await setup.post("/api/v1/domains", json={**DOCS_DOMAIN, "fqdn": "myexample.com"})
    assert response.status_code == 201, response.text


async def test_an_unverified_claim_lapses_after_the_window_and_its_domain_is_gone(
    setup: httpx.AsyncClient,
) -> None:
    first = await setup.post("/api/v1/domains", json=DOCS_DOMAIN)
    assert first.status_code == 201, first.text
    old = first.json()["id"]
    started = time.monotonic()
    refused = await setup.post("/api/v1/domains", json={**DOCS_DOMAIN, **OTHER})
    assert refused.status_code == 409  # within the window the claim holds

    async def taken() -> httpx.Response | None:
        response = await setup.post("/api/v1/domains", json={**DOCS_DOMAIN, **OTHER})
        return response if response.status_code == 201 else None

    second = await wait_until(taken, timeout=WINDOW_S + 10, interval=0.1)
    assert time.monotonic() - started >= WINDOW_S
    assert second.json()["projectSlug"] == "other"
    # The lapsed domain is deleted: it can be neither found nor verified any more.
    assert (await setup.get(f"/api/v1/domains/{old}")).status_code == 404
    assert (await setup.post(f"/api/v1/domains/{old}/verify")).status_code == 404
    listed = (await setup.get("/api/v1/domains")).json()["items"]
    assert [(d["fqdn"], d["projectSlug"]) for d in listed] == [("chat.acme.com", "other")]


async def test_a_verified_claim_never_lapses(
    setup: httpx.AsyncClient, jetstream: JetStreamContext
) -> None:
    verified = (await setup.post("/api/v1/domains", json=DOCS_DOMAIN)).json()
    pending = (
        await setup.post("/api/v1/domains", json={**DOCS_DOMAIN, "fqdn": "api.acme.com"})
    ).json()
    # What the domain verifier appends once the TXT record matches.
    subject = domain_subject(verified["id"])
    event = DomainVerified(
        id=verified["id"], fqdn="chat.acme.com", project_slug="default", service_name="llama-3-8b"
    )
    await EventStore(jetstream).append(
        subject, [build(event, subject=subject, source="domain-verifier")], None
    )

    async def pending_taken() -> bool:
        response = await setup.post(
            "/api/v1/domains", json={**DOCS_DOMAIN, **OTHER, "fqdn": "api.acme.com"}
        )
        return response.status_code == 201

    # Once the later, unverified registration has lapsed, the verified one is older still.
    await wait_until(pending_taken, timeout=WINDOW_S + 10, interval=0.1)
    kept = await setup.post("/api/v1/domains", json={**DOCS_DOMAIN, **OTHER})
    assert kept.status_code == 409, kept.text
    assert (await setup.get(f"/api/v1/domains/{verified['id']}")).status_code == 200
    assert (await setup.get(f"/api/v1/domains/{pending['id']}")).status_code == 404
