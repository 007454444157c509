"""/api/v1/fleet: the GPU fleet, and /api/v1/fleet/stream: the same, live over SSE.

Both answer from the runtime's in-memory fleet view (`lc_api.runtime.fleet_feed`).

Stream protocol: `event: fleet` carries the whole (filtered) view, `{"gpus", "summary"}`,
first and again whenever a client fell too far behind; then `event: gpu` carries one GPU
snapshot per change, with `"removed": true` when the GPU left the cluster or no longer
matches the stream's filters. Comments keep idle connections open.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Annotated, Final

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response, StreamingResponse

from lc_api.api.deps import RuntimeDep
from lc_api.api.problems import ApiProblem, problem_responses
from lc_api.runtime.fleet_feed import Broadcast, FleetFeed
from lc_contracts.base import Contract
from lc_contracts.engine import GpuHealth
from lc_contracts.fleet import FleetSummary, GpuSnapshot

BOOTSTRAP_WAIT_S: Final = 5.0
"""How long a request waits for the first full read of LC_STATUS before answering 503."""
KEEPALIVE_S: Final = 15.0


class FleetDocument(Contract):
    """What GET /api/v1/fleet answers (and the stream's `fleet` event carries)."""

    gpus: list[GpuSnapshot]
    summary: FleetSummary


def fleet_feed(runtime: RuntimeDep) -> FleetFeed:
    return runtime.fleet


async def ready_fleet(feed: Annotated[FleetFeed, Depends(fleet_feed)]) -> FleetFeed:
    """The fleet feed once it has read LC_STATUS through; 503 while it is still loading."""
    try:
        await asyncio.wait_for(feed.bootstrapped.wait(), BOOTSTRAP_WAIT_S)
    except TimeoutError:
        raise ApiProblem(
            503,
            "unavailable",
            "the fleet view is still loading from NATS JetStream (LC_STATUS); retry shortly",
            headers={"Retry-After": "1"},
        ) from None
    return feed


FleetDep = Annotated[FleetFeed, Depends(ready_fleet)]

router = APIRouter(prefix="/fleet", tags=["fleet"])

Node = Annotated[str | None, Query(description="Only GPUs on this node")]
Health = Annotated[GpuHealth | None, Query(description="Only GPUs in this health")]
Product = Annotated[str | None, Query(description="Only GPUs of this product")]


@router.get(
    "",
    response_class=Response,
    responses={
        200: {"model": FleetDocument, "description": "GPUs by node and index, and totals"},
        **problem_responses(422, 503),
    },
)
async def get_fleet(
    feed: FleetDep, node: Node = None, health: Health = None, product: Product = None
) -> Response:
    """Every GPU matching the filters, ordered by node then index, with a summary of them."""
    return Response(
        feed.view.view_json(node=node, health=health, product=product),
        media_type="application/json",
    )


@router.get(
    "/stream",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"text/event-stream": {}}, "description": "Server-Sent Events"},
        **problem_responses(422, 503),
    },
)
async def stream_fleet(
    feed: FleetDep, node: Node = None, health: Health = None, product: Product = None
) -> StreamingResponse:
    """The filtered view as an `event: fleet`, then `event: gpu` per change."""
    view = feed.view

    def whole() -> bytes:
        return (
            b"event: fleet\ndata: "
            + view.view_json(node=node, health=health, product=product)
            + b"\n\n"
        )

    def shown(snapshot: GpuSnapshot | None) -> bool:
        return snapshot is not None and view.matches(
            snapshot, node=node, health=health, product=product
        )

    def frame(item: Broadcast) -> bytes | None:
        if item.current is not None and shown(item.change.current):
            return b"event: gpu\ndata: " + item.current + b"\n\n"
        if shown(item.change.previous):
            return b"event: gpu\ndata: " + item.removal + b"\n\n"
        return None

    async def frames() -> AsyncIterator[bytes]:
        with feed.subscription() as subscriber:
            yield b": lcd fleet\nretry: 2000\n\n" + whole()
            while True:
                try:
                    await asyncio.wait_for(subscriber.wake.wait(), KEEPALIVE_S)
                except TimeoutError:
                    yield b": keep-alive\n\n"
                    continue
                subscriber.wake.clear()
                if subscriber.lagged:
                    subscriber.lagged = False
                    subscriber.backlog.clear()
                    yield whole()
                    continue
                chunk = []
                while subscriber.backlog:
                    data = frame(subscriber.backlog.popleft())
                    if data is not None:
                        chunk.append(data)
                if chunk:
                    yield b"".join(chunk)

    return StreamingResponse(
        frames(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
