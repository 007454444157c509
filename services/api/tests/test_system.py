"""Config, health, readiness, Prometheus metrics, OpenAPI, per-model usage."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from nats.js import JetStreamContext
from sqlalchemy.ext.asyncio import create_async_engine

from lc_api.db.usage_history import UsageHistory
from lc_api.settings import ApiSettings
from lc_contracts.status import ModelUsage, UsageSnapshot
from lc_contracts.subjects import usage_status_subject
from lc_eventstore import publish_status
from lc_testing import wait_until

from .conftest import DOCS_PROJECT, client_for


async def test_config_health_readiness(client: httpx.AsyncClient) -> None:
    config = (await client.get("/api/v1/config")).json()
    assert config["platformDomain"] == "example.com"
    assert config["cnameTarget"] == "ingress.example.com"
    assert config["authMode"] == "none"
    assert config["ingressService"] == {
        "namespace": "ingress-nginx",
        "name": "ingress-nginx-controller",
    }
    assert config["version"]
    assert (await client.get("/api/healthz")).json() == {"status": "ok"}
    ready = await client.get("/api/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"]["postgres"] == "ok"


async def test_prometheus_metrics_count_requests_by_route(client: httpx.AsyncClient) -> None:
    await client.post("/api/v1/projects", json=DOCS_PROJECT)
    await client.get("/api/v1/projects/default")
    text = (await client.get("/api/metrics")).text
    assert (
        'lcd_http_requests_total{method="POST",route="/api/v1/projects",status="201"} 1.0' in text
    )
    assert 'route="/api/v1/projects/{slug}"' in text
    assert "lcd_projection_position" in text


async def test_openapi_documents_every_route_and_body(client: httpx.AsyncClient) -> None:
    document = (await client.get("/api/openapi.json")).json()
    paths = document["paths"]
    assert "/api/v1/projects/{slug}/services/{name}/rollback" in paths
    assert "/api/v1/events/stream" in paths
    body = paths["/api/v1/projects"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/ProjectSpec"}
    schemas = document["components"]["schemas"]
    assert "modelName" in schemas["ModelKind"]["properties"]
    assert "challengeRR" in schemas["DomainView"]["properties"]
    assert (await client.get("/api/docs")).status_code == 200


def usage(
    replica: str, started: datetime, at: datetime, requests: int, tokens: int
) -> UsageSnapshot:
    model = ModelUsage(
        model="meta-llama/Llama-3.1-8B-Instruct",
        requests=requests,
        errors=1,
        prompt_tokens=tokens,
        completion_tokens=2 * tokens,
        latency_buckets=[requests, 0, 0],
    )
    return UsageSnapshot(replica=replica, started_at=started, observed_at=at, models=[model])


async def test_usage_is_summed_over_proxy_replicas(
    client: httpx.AsyncClient, jetstream: JetStreamContext
) -> None:
    now = datetime.now(UTC)
    start = now - timedelta(hours=1)

    async def total(requests: int) -> dict[str, object] | None:
        body: dict[str, object] = (await client.get("/api/v1/metrics")).json()
        models = body["models"]
        assert isinstance(models, list)
        return body if models and models[0]["requests"] == requests else None

    # LC_STATUS keeps one snapshot per replica: lcd remembers the ones it has seen.
    await publish_status(
        jetstream,
        usage_status_subject("proxy-a"),
        usage("proxy-a", start, now - timedelta(minutes=30), 10, 100),
    )
    await wait_until(lambda: total(10))
    await publish_status(
        jetstream, usage_status_subject("proxy-a"), usage("proxy-a", start, now, 25, 250)
    )
    await publish_status(
        jetstream, usage_status_subject("proxy-b"), usage("proxy-b", start, now, 5, 50)
    )
    body = await wait_until(lambda: total(30))
    [model] = body["models"]
    assert model["promptTokens"] == 300
    assert model["completionTokens"] == 600
    assert model["errors"] == 2
    assert model["latencyP50Ms"] == 5.0
    assert body["replicas"] == 2
    windowed = (await client.get("/api/v1/metrics", params={"window": "10m"})).json()
    # proxy-a's snapshot 30 minutes ago is the baseline; proxy-b has no older one
    assert windowed["models"][0]["requests"] == 25 - 10 + 5
    assert windowed["windowS"] == 600
    assert (await client.get("/api/v1/metrics", params={"window": "soon"})).status_code == 422


async def test_an_lcd_started_later_answers_the_same_windows_from_the_shared_history(
    settings: ApiSettings, client: httpx.AsyncClient, jetstream: JetStreamContext
) -> None:
    now = datetime.now(UTC)
    start = now - timedelta(hours=2)
    subject = usage_status_subject("proxy-a")

    async def requests_in(lcd: httpx.AsyncClient, window: str, expected: int) -> bool:
        models = (await lcd.get("/api/v1/metrics", params={"window": window})).json()["models"]
        return bool(models) and models[0]["requests"] == expected

    await publish_status(
        jetstream, subject, usage("proxy-a", start, now - timedelta(minutes=50), 10, 1)
    )
    await wait_until(lambda: requests_in(client, "1d", 10))
    await publish_status(
        jetstream, subject, usage("proxy-a", start, now - timedelta(minutes=20), 40, 1)
    )
    # Snapshots come seconds apart from a real lc-proxy; let lcd take this one before the
    # next, as a follower that restarts in between starts again from the latest only.
    await wait_until(lambda: requests_in(client, "1d", 40))
    await publish_status(jetstream, subject, usage("proxy-a", start, now, 45, 1))
    # The first lcd saw all three: 30m counts from the 50-minute baseline, 10m from 20.
    await wait_until(lambda: requests_in(client, "10m", 5))
    assert await requests_in(client, "30m", 35)

    # LC_STATUS now holds only the latest snapshot; a new lcd learns the rest from PostgreSQL.
    engine = create_async_engine(settings.database_url)
    try:
        history = UsageHistory(engine)

        async def all_recorded() -> bool:
            return len(await history.since(start)) == 3

        await wait_until(all_recorded)
    finally:
        await engine.dispose()
    async with client_for(settings) as later:
        await wait_until(lambda: requests_in(later, "10m", 5))
        assert await requests_in(later, "30m", 35)
