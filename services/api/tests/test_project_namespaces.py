"""lcd refuses a project whose namespace exists in the cluster and is not the platform's,
as the reconciler reports them on LC_STATUS (422, naming the namespace); knowing nothing
(no report yet), it accepts, and the reconciler still refuses to adopt the namespace."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
from nats.js import JetStreamContext

from lc_api.runtime.lcd import Runtime
from lc_api.server import create_app
from lc_api.settings import ApiSettings
from lc_contracts.status import ForeignNamespaces
from lc_contracts.subjects import FOREIGN_NAMESPACES_STATUS
from lc_eventstore import provision_streams, publish_status
from lc_testing import wait_until

from .conftest import running

PROBLEM = "application/problem+json"


async def report(js: JetStreamContext, *namespaces: str, prefix: str = "") -> None:
    """What the reconciler publishes about the cluster's namespaces."""
    inventory = ForeignNamespaces(
        namespace_prefix=prefix,
        namespaces=sorted(namespaces),
        total=len(namespaces),
        observed_at=datetime.now(UTC),
    )
    await publish_status(js, FOREIGN_NAMESPACES_STATUS, inventory)


async def test_a_slug_whose_namespace_is_not_ours_is_refused_with_422(
    settings: ApiSettings, jetstream: JetStreamContext
) -> None:
    await provision_streams(jetstream)
    app = create_app(settings)
    async with running(app):
        runtime: Runtime = app.state.runtime
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            # No report yet: lcd cannot know, and accepts.
            unknown = await client.post(
                "/api/v1/projects", json={"name": "Monitoring", "slug": "monitoring"}
            )
            assert unknown.status_code in (201, 202), unknown.text

            await report(jetstream, "ingress-nginx", "monitoring")
            await wait_until(
                lambda: runtime.foreign_namespaces.inventory is not None,
                timeout=10,
                what="lcd to hear the report",
            )
            refused = await client.post(
                "/api/v1/projects", json={"name": "Ingress", "slug": "ingress-nginx"}
            )
            assert refused.status_code == 422, refused.text
            assert refused.headers["content-type"].startswith(PROBLEM)
            problem = refused.json()
            assert problem["type"] == "https://liquidcompute.io/problems/validation-error"
            assert "'ingress-nginx'" in problem["detail"]
            assert "not created by LiquidCompute" in problem["detail"]
            assert [e["pointer"] for e in problem["errors"]] == ["/slug"]
            assert (await client.get("/api/v1/projects/ingress-nginx")).status_code == 404

            # An existing project is still answered as one (409), not as a foreign namespace.
            again = await client.post(
                "/api/v1/projects", json={"name": "Monitoring", "slug": "monitoring"}
            )
            assert again.status_code == 409, again.text
            fine = await client.post("/api/v1/projects", json={"name": "Shop", "slug": "shop"})
            assert fine.status_code in (201, 202), fine.text

            # The namespace is gone from the cluster: the slug is free again.
            await report(jetstream, "monitoring")
            await wait_until(
                lambda: runtime.foreign_namespaces.foreign_namespace_of("ingress-nginx") is None,
                timeout=10,
                what="lcd to hear the namespace went",
            )
            later = await client.post(
                "/api/v1/projects", json={"name": "Ingress", "slug": "ingress-nginx"}
            )
            assert later.status_code in (201, 202), later.text


async def test_the_namespace_is_found_with_the_reconcilers_prefix(
    settings: ApiSettings, jetstream: JetStreamContext
) -> None:
    await provision_streams(jetstream)
    await report(jetstream, "lc-billing", prefix="lc-")
    app = create_app(settings)
    async with running(app):
        runtime: Runtime = app.state.runtime
        await wait_until(
            lambda: runtime.foreign_namespaces.inventory is not None,
            timeout=10,
            what="lcd to read the report at start",
        )
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            refused = await client.post(
                "/api/v1/projects", json={"name": "Billing", "slug": "billing"}
            )
            assert refused.status_code == 422, refused.text
            assert "'lc-billing'" in refused.json()["detail"]
            # Slug `lc-billing` would live in `lc-lc-billing`, which is free.
            other = await client.post(
                "/api/v1/projects", json={"name": "Billing", "slug": "lc-billing"}
            )
            assert other.status_code in (201, 202), other.text
            shop = await client.post("/api/v1/projects", json={"name": "Shop", "slug": "shop"})
            assert shop.status_code in (201, 202), shop.text
