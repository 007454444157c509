"""lcd's fleet routes (`lc_api.api.routes.fleet`), end to end: simulator -> fleet aggregator
-> LC_STATUS -> lcd on a loopback socket -> HTTP and SSE clients.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import nats
import pytest
from kubernetes_asyncio.client import CustomObjectsApi

from lc_api.api.routes import fleet as fleet_routes
from lc_api.runtime import fleet_feed
from lc_api.runtime.fleet_feed import FleetFeed
from lc_api.server import create_app
from lc_api.settings import ApiSettings
from lc_clustersim.sim import ClusterSim
from lc_contracts.engine import GpuHealth
from lc_contracts.fleet import GpuSnapshot, gpu_status_subject
from lc_eventstore import StoredMessage, provision_streams
from lc_fleet.aggregator import FleetAggregator
from lc_fleet.kube_client import open_api_client
from lc_fleet.settings import FleetSettings
from lc_testing import wait_until
from lc_testing.gpus import snapshot

from .conftest import running, serve


@pytest.fixture
async def fleet(nats_url: str, cluster: ClusterSim) -> AsyncIterator[FleetAggregator]:
    """The fleet aggregator (as `lc-fleet` runs it), publishing the simulator's GPUs."""
    settings = FleetSettings(
        nats_url=nats_url,
        kubeconfig=cluster.kubeconfig_path,
        backoff_initial_s=0.02,
        backoff_max_s=0.2,
        watch_timeout_s=30,
    )
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        await provision_streams(js)
        async with await open_api_client(settings) as api_client:
            aggregator = FleetAggregator(js, CustomObjectsApi(api_client), settings)
            task = asyncio.create_task(aggregator.run())
            try:
                await asyncio.wait_for(aggregator.converged.wait(), 10)
                yield aggregator
            finally:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
    finally:
        await nc.close()


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
        n
        for n in cluster.engine.gpu_names
        if cluster.store.get(cluster.engine._gpu_type, None, n)["spec"]["uuid"] == uuid
    )


async def test_get_fleet_serves_every_gpu_with_summary_and_filters(
    cluster: ClusterSim, fleet: FleetAggregator, settings: ApiSettings
) -> None:
    await cluster.set_gpu_health(cluster.engine.gpu_names[5], GpuHealth.DEGRADED)
    async with serve(settings) as base, httpx.AsyncClient(base_url=base) as http:

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
            "total": 8,
            "healthy": 7,
            "degraded": 1,
            "unhealthy": 0,
            "memoryTotalMiB": 8 * 81920,
            "memoryAvailableMiB": 8 * 81920,
            "byProduct": {"H100-80GB": 8},
            "byNode": {"sim-node-0": 4, "sim-node-1": 4},
        }
        gpu = body["gpus"][0]
        assert set(gpu) >= {
            "node",
            "index",
            "uuid",
            "product",
            "mode",
            "health",
            "memoryTotalMiB",
            "memoryAvailableMiB",
            "utilization",
            "allocations",
            "removed",
            "observedAt",
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
    cluster: ClusterSim, fleet: FleetAggregator, settings: ApiSettings
) -> None:
    async with (
        serve(settings) as base,
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
            "gpu",
            target["uuid"],
            "Unhealthy",
            False,
        )

        await cluster.remove_gpu(_name_of(cluster, target["uuid"]))
        event, gpu = await sse.next()
        assert (event, gpu["uuid"], gpu["removed"]) == ("gpu", target["uuid"], True)


async def test_filtered_stream_drops_gpus_that_leave_the_filter(
    cluster: ClusterSim, fleet: FleetAggregator, settings: ApiSettings
) -> None:
    name = cluster.engine.gpu_names[6]
    async with (
        serve(settings) as base,
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
        assert (event, gpu["uuid"], gpu["health"], gpu["removed"]) == (
            "gpu",
            shown,
            "Healthy",
            True,
        )


async def test_fleet_answers_503_until_lc_status_was_read(
    settings: ApiSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fleet_routes, "BOOTSTRAP_WAIT_S", 0.05)
    app = create_app(settings)
    # A feed that has not read LC_STATUS yet, in place of the runtime's.
    app.dependency_overrides[fleet_routes.fleet_feed] = FleetFeed
    async with (
        running(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1"
        ) as http,
    ):
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
    monkeypatch.setattr(fleet_feed, "MAX_BACKLOG", 3)
    feed = FleetFeed()
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
