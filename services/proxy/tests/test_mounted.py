"""The proxy mounted at `/v1` inside another ASGI app, as `lc up` serves it beside the API."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Mount, Route

from lc_contracts.specs import Endpoint
from lc_contracts.status import Replica, ServicePhase, ServiceStatus
from lc_proxy import ProxySettings, create_app


async def test_mounted_at_v1_the_proxy_sees_its_own_paths() -> None:
    proxy = create_app(ProxySettings(nats_url="nats://127.0.0.1:1"))
    proxy.table.apply(
        ServiceStatus(
            project_slug="p",
            service_name="s",
            phase=ServicePhase.READY,
            model_name="org/model-1",
            endpoints=list(Endpoint),
            replicas=[Replica(name="r", url="http://127.0.0.1:9")],
            ready_replicas=1,
            observed_at=datetime.now(UTC),
        )
    )

    async def api(request: object) -> PlainTextResponse:
        return PlainTextResponse("api")

    host = Starlette(routes=[Route("/api/v1/health", api), Mount("/v1", app=proxy)])
    transport = httpx.ASGITransport(app=host)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        assert (await client.get("/api/v1/health")).text == "api"
        listed = (await client.get("/v1/models")).json()
        assert [m["id"] for m in listed["data"]] == ["org/model-1"]
        one = await client.get("/v1/models/org/model-1")
        assert one.json()["owned_by"] == "p"
        assert one.headers["x-request-id"]
        missing = await client.get("/v1/models/nope")
        assert missing.json()["error"]["code"] == "model_not_found"
