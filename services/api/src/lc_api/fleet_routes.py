"""/api/v1/fleet: the GPU fleet, and /api/v1/fleet/stream: the same, live over SSE.

The fleet is observed state: the fleet aggregator publishes one snapshot per GPU on
LC_STATUS (`lc.status.gpu.<node>.<uuid>`, a tombstone when a GPU leaves). lcd follows
them into one in-memory `FleetView` (`FleetFeed`), kept per app on `app.state`, and
answers both routes from it; nothing touches Postgres.

Wiring into `create_app` (lc_api.server), besides `from lc_api import fleet_routes`:

    v1.include_router(fleet_routes.router, dependencies=guarded)          # with the routers
    runtime.tasks.append(fleet_routes.start_fleet_feed(app, runtime.js))  # in the lifespan

`Runtime.stop` cancels the feed with its other tasks.

Stream protocol: `event: fleet` carries the whole (filtered) view, `{"gpus", "summary"}`,
first and again whenever a client fell too far behind; then `event: gpu` carries one GPU
snapshot per change, with `"removed": true` when the GPU left the cluster or no longer
matches the stream's filters. Comments keep idle connections open.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass
from typing import Annotated, Final

from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.responses import Response, StreamingResponse
from nats.js import JetStreamContext
from pydantic import ValidationError

from lc_api.api.problems import ApiProblem
from lc_contracts.base import Contract
from lc_contracts.engine import GpuHealth
from lc_contracts.fleet import GPU_STATUS, FleetSummary, FleetView, GpuChange, GpuSnapshot
from lc_eventstore import StoredMessage, follow_status

log = logging.getLogger(__name__)

BOOTSTRAP_WAIT_S: Final = 5.0
"""How long a request waits for the first full read of LC_STATUS before answering 503."""
KEEPALIVE_S: Final = 15.0
RESTART_DELAY_S: Final = 1.0
MAX_BACKLOG: Final = 10_000
"""Changes queued for one stream client before it is sent the whole view again instead."""


class FleetDocument(Contract):
    """What GET /api/v1/fleet answers (and the stream's `fleet` event carries)."""

    gpus: list[GpuSnapshot]
    summary: FleetSummary


@dataclass(frozen=True)
class _Broadcast:
    change: GpuChange
    current: bytes | None  # the new snapshot's JSON, if any
    removal: bytes  # the JSON of a tombstone of the GPU, for clients that must drop it


class _Subscriber:
    def __init__(self) -> None:
        self.backlog: deque[_Broadcast] = deque()
        self.lagged = False
        self.wake = asyncio.Event()

    def push(self, item: _Broadcast) -> None:
        # A client this far behind gets the whole view again; until then, queue nothing.
        if not self.lagged and len(self.backlog) >= MAX_BACKLOG:
            self.backlog.clear()
            self.lagged = True
        if not self.lagged:
            self.backlog.append(item)
        self.wake.set()


class FleetFeed:
    """The fleet view lcd serves, folded from LC_STATUS, and the stream clients to notify."""

    def __init__(self) -> None:
        self.view = FleetView()
        self.bootstrapped = asyncio.Event()
        self._subscribers: set[_Subscriber] = set()

    def apply(self, messages: Iterable[StoredMessage]) -> None:
        for message in messages:
            if not message.data:
                continue
            try:
                change = self.view.apply_json(message.data)
            except ValidationError as exc:
                log.warning("ignoring unreadable GPU snapshot on %s: %s", message.subject, exc)
                continue
            if change is not None and self._subscribers:
                self._broadcast(change)

    def _broadcast(self, change: GpuChange) -> None:
        current = change.current
        last = current or change.previous
        assert last is not None
        item = _Broadcast(
            change,
            current=_json(current) if current is not None else None,
            removal=_json(last.tombstone(last.observed_at)),
        )
        for subscriber in self._subscribers:
            subscriber.push(item)

    async def follow(self, js: JetStreamContext) -> None:
        """Fold LC_STATUS's GPU snapshots in until cancelled; restarts after failures.

        A restart reads the latest snapshot of every GPU again (tombstones included), so the
        view converges on what changed meanwhile without being rebuilt.
        """
        while True:
            try:
                async for batch in follow_status(js, GPU_STATUS):
                    if not batch:
                        self.bootstrapped.set()
                    self.apply(batch)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("following the fleet failed; again in %.0fs", RESTART_DELAY_S)
                await asyncio.sleep(RESTART_DELAY_S)

    @contextlib.contextmanager
    def subscription(self) -> Iterator[_Subscriber]:
        subscriber = _Subscriber()
        self._subscribers.add(subscriber)
        try:
            yield subscriber
        finally:
            self._subscribers.discard(subscriber)

    @property
    def subscribers(self) -> int:
        return len(self._subscribers)


def _json(snapshot: GpuSnapshot) -> bytes:
    return snapshot.model_dump_json(by_alias=True, exclude_none=True).encode()


def fleet_feed(app: FastAPI) -> FleetFeed:
    """The app's feed, made on first use (the router and the background task share it)."""
    feed: FleetFeed | None = getattr(app.state, "fleet_feed", None)
    if feed is None:
        feed = app.state.fleet_feed = FleetFeed()
    return feed


def start_fleet_feed(app: FastAPI, js: JetStreamContext) -> asyncio.Task[None]:
    """Start following LC_STATUS for the app's fleet view; the caller cancels the task."""
    return asyncio.create_task(fleet_feed(app).follow(js), name="lcd-fleet")


async def _ready_feed(request: Request) -> FleetFeed:
    feed = fleet_feed(request.app)
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


router = APIRouter(prefix="/fleet", tags=["fleet"])

Node = Annotated[str | None, Query(description="Only GPUs on this node")]
Health = Annotated[GpuHealth | None, Query(description="Only GPUs in this health")]
Product = Annotated[str | None, Query(description="Only GPUs of this product")]


@router.get(
    "",
    response_class=Response,
    responses={200: {"model": FleetDocument, "description": "GPUs by node and index, and totals"}},
)
async def get_fleet(
    request: Request, node: Node = None, health: Health = None, product: Product = None
) -> Response:
    """Every GPU matching the filters, ordered by node then index, with a summary of them."""
    feed = await _ready_feed(request)
    return Response(
        feed.view.view_json(node=node, health=health, product=product),
        media_type="application/json",
    )


@router.get(
    "/stream",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "Server-Sent Events"}},
)
async def stream_fleet(
    request: Request, node: Node = None, health: Health = None, product: Product = None
) -> StreamingResponse:
    """The filtered view as an `event: fleet`, then `event: gpu` per change."""
    feed = await _ready_feed(request)
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

    def frame(item: _Broadcast) -> bytes | None:
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
