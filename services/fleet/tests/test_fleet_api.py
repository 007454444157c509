"""The fleet routes lcd serves (lc_api.fleet_routes), end to end: simulator -> aggregator ->
LC_STATUS -> the router in an app on a loopback socket -> HTTP and SSE clients.

The app here wires the router the way lcd's `create_app` does (include the router, start
the feed task), without lcd's database and auth, which the fleet does not use.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import APIRouter, FastAPI
from nats.js import JetStreamContext

from lc_api import fleet_routes
from lc_api.api.problems import install_problem_handlers
from lc_clustersim.sim import ClusterSim
from lc_contracts.engine import GpuHealth
from lc_contracts.fleet import GpuSnapshot, gpu_status_subject
from lc_eventstore import StoredMessage
from lc_testing import free_port, wait_until

from .conftest import RunningFleet
from .gpu_factory import snapshot


@contextlib.asynccontextmanager
async def serve_fleet(js: JetStreamContext, *, follow: bool = True) -> AsyncIterator[str]:
    app = FastAPI()
    install_problem_handlers(app)
    v1 = APIRouter(prefix="/api/v1")
    v1.include_router(fleet_routes.router)
    app.include_router(v1)
    feed_task = fleet_routes.start_fleet_feed(app, js) if follow else None
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    serving = asyncio.create_task(server.serve())
    try:
        await wait_until(lambda: server.started, what="uvicorn started")
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await serving
        if feed_task is not None:
            feed_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await feed_task


class SseReader:
    """Reads `event:` / `data:` frames from a text/event-stream response."""

    def __init__(self, response: httpx.Response) -> None:
        self._lines = response.aiter_lines()

    async def next(self, within: float = 2.0) -> tuple[str, Any]:
        return await asyncio.wait_for(self._next(), within)

    async def _next(self) -> tuple[str, Any]:
        event, data = "message", []
        async for line in self._lines:
            if line == "":
                if data:
                    return event, json.loads("\n".join(data))
                event = "message"
                continue
            if line.startswith(":"):
                continue
            field, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if field == "event":
                event = value
            elif field == "data":
                data.append(value)
        raise AssertionError("stream ended")


def _name_of(cluster: ClusterSim, uuid: str) -> str:
    return next(
        n for n in cluster.engine.gpu_names
        if cluster.store.get(cluster.engine._gpu_type, None, n)["spec"]["uuid"] == uuid
    )


async def test_get_fleet_serves_every_gpu_with_summary_and_filters(
    cluster: ClusterSim, fleet: RunningFleet, jetstream: JetStreamContext
) -> None:
    await cluster.set_gpu_health(cluster.engine.gpu_names[5], GpuHealth.DEGRADED)
    async with serve_fleet(jetstream) as base, httpx.AsyncClient(base_url=base) as http:

        async def degraded_visible() -> bool:
            body = (await http.get("/api/v1/fleet")).json()
            return bool(body["summary"]["degraded"] == 1)

        await wait_until(degraded_visible, timeout=1.0, what="degraded GPU in the API")
        response = await http.get("/api/v1/fleet")
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/json"
        body = response.json()
        assert [(g["node"], g["index"]) for g in body["gpus"]] == [
            (f"sim-node-{n}", i) for n in range(2) for i in range(4)
        ]
        assert body["summary"] == {
            "total": 8, "healthy": 7, "degraded": 1, "unhealthy": 0,
            "memoryTotalMiB": 8 * 81920, "memoryAvailableMiB": 8 * 81920,
            "byProduct": {"H100-80GB": 8}, "byNode": {"sim-node-0": 4, "sim-node-1": 4},
        }
        gpu = body["gpus"][0]
        assert set(gpu) >= {
            "node", "index", "uuid", "product", "mode", "health", "memoryTotalMiB",
            "memoryAvailableMiB", "utilization", "allocations", "removed", "observedAt",
        }

        by_node = (await http.get("/api/v1/fleet", params={"node": "sim-node-1"})).json()
        assert {g["node"] for g in by_node["gpus"]} == {"sim-node-1"}
        assert by_node["summary"]["total"] == 4
        by_health = (await http.get("/api/v1/fleet", params={"health": "Degraded"})).json()
        assert [(g["node"], g["index"]) for g in by_health["gpus"]] == [("sim-node-1", 1)]
        none = (await http.get("/api/v1/fleet", params={"product": "B200"})).json()
        assert none == {"gpus": [], "summary": {**none["summary"], "total": 0}}

        bad = await http.get("/api/v1/fleet", params={"health": "Fine"})
        assert bad.status_code == 422
        assert bad.headers["content-type"].startswith("application/problem+json")

        # Added and removed GPUs show through the API within a second.
        started = time.monotonic()
        added = await cluster.add_gpus("1x1:A100-40GB")
        await cluster.remove_gpu(cluster.engine.gpu_names[0])

        async def changed() -> bool:
            body = (await http.get("/api/v1/fleet")).json()
            return bool(body["summary"]["byProduct"] == {"A100-40GB": 1, "H100-80GB": 7})

        await wait_until(changed, timeout=1.0, what="added and removed GPUs in the API")
        assert time.monotonic() - started < 1.0
        assert added


async def test_stream_sends_the_view_then_each_change(
    cluster: ClusterSim, fleet: RunningFleet, jetstream: JetStreamContext
) -> None:
    async with (
        serve_fleet(jetstream) as base,
        httpx.AsyncClient(base_url=base, timeout=10) as http,
        http.stream("GET", "/api/v1/fleet/stream") as response,
    ):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        sse = SseReader(response)
        event, view = await sse.next()
        assert event == "fleet"
        assert len(view["gpus"]) == 8
        assert view["summary"]["total"] == 8

        target = view["gpus"][2]
        started = time.monotonic()
        await cluster.set_gpu_health(_name_of(cluster, target["uuid"]), GpuHealth.UNHEALTHY)
        event, gpu = await sse.next()
        assert time.monotonic() - started < 1.0
        assert (event, gpu["uuid"], gpu["health"], gpu["removed"]) == (
            "gpu", target["uuid"], "Unhealthy", False,
        )

        await cluster.remove_gpu(_name_of(cluster, target["uuid"]))
        event, gpu = await sse.next()
        assert (event, gpu["uuid"], gpu["removed"]) == ("gpu", target["uuid"], True)


async def test_filtered_stream_drops_gpus_that_leave_the_filter(
    cluster: ClusterSim, fleet: RunningFleet, jetstream: JetStreamContext
) -> None:
    name = cluster.engine.gpu_names[6]
    async with (
        serve_fleet(jetstream) as base,
        httpx.AsyncClient(base_url=base, timeout=10) as http,
        http.stream("GET", "/api/v1/fleet/stream", params={"health": "Unhealthy"}) as response,
    ):
        sse = SseReader(response)
        event, view = await sse.next()
        assert (event, view["gpus"], view["summary"]["total"]) == ("fleet", [], 0)

        await cluster.set_gpu_health(cluster.engine.gpu_names[1], GpuHealth.DEGRADED)  # not shown
        await cluster.set_gpu_health(name, GpuHealth.UNHEALTHY)
        event, gpu = await sse.next()
        assert (event, gpu["health"], gpu["removed"]) == ("gpu", "Unhealthy", False)

        shown = gpu["uuid"]
        await cluster.set_gpu_health(name, GpuHealth.HEALTHY)
        event, gpu = await sse.next()
        # It left the filtered view: removed, carrying the state that made it leave.
        assert (event, gpu["uuid"], gpu["health"], gpu["removed"]) == ("gpu", shown, "Healthy", True)


async def test_fleet_answers_503_until_lc_status_was_read(
    jetstream: JetStreamContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fleet_routes, "BOOTSTRAP_WAIT_S", 0.05)
    async with serve_fleet(jetstream, follow=False) as base, httpx.AsyncClient(base_url=base) as http:
        response = await http.get("/api/v1/fleet")
        assert response.status_code == 503
        assert response.headers["retry-after"] == "1"
        assert "retry" in response.json()["detail"]


def _message(snapshot: GpuSnapshot, seq: int) -> StoredMessage:
    return StoredMessage(
        seq=seq,
        subject=gpu_status_subject(snapshot.node, snapshot.uuid),
        data=snapshot.model_dump_json(by_alias=True).encode(),
    )


def test_feed_tells_subscribers_only_what_changed_and_resyncs_laggards(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(fleet_routes, "MAX_BACKLOG", 3)
    feed = fleet_routes.FleetFeed()
    first = snapshot("n1", 0)
    with feed.subscription() as subscriber:
        assert feed.subscribers == 1
        feed.apply([_message(first, 1), _message(snapshot("n1", 0, at=5), 2)])  # 2nd: no change
        feed.apply([StoredMessage(seq=3, subject="lc.status.gpu.x.y", data=b"garbage")])
        assert [b.change.current for b in subscriber.backlog] == [first]
        assert subscriber.wake.is_set()
        feed.apply([_message(first.tombstone(first.observed_at), 4)])
        removal = json.loads(subscriber.backlog[-1].removal)
        assert (removal["uuid"], removal["removed"]) == (first.uuid, True)
        assert not subscriber.lagged
        feed.apply([_message(snapshot("n2", i), 10 + i) for i in range(3)])
        assert subscriber.lagged
        assert not subscriber.backlog
    assert feed.subscribers == 0
    assert [g.node for g in feed.view.gpus()] == ["n2", "n2", "n2"]
