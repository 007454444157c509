"""/api/v1/events: the audit log (paginated) and its live tail as Server-Sent Events."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Annotated, Literal

from fastapi import APIRouter, Header, Query
from fastapi.responses import StreamingResponse

from lc_api.api.deps import RuntimeDep
from lc_api.api.problems import ApiProblem
from lc_api.runtime.live_events import tail_events
from lc_api.views import EventView, Page
from lc_contracts.errors import ContractError

router = APIRouter(prefix="/events", tags=["events"])

Types = Annotated[
    list[str] | None,
    Query(alias="type", description="Event types to keep (repeat, or separate with commas)"),
]
Project = Annotated[str | None, Query(description="Only events about this project")]
Actor = Annotated[
    str | None,
    Query(description="Only events caused by this actor (an admin, an API key, a component)"),
]


Order = Annotated[
    Literal["asc", "desc"],
    Query(
        description="`asc`: oldest first, from `after`; `desc`: newest first, "
        "`after` (when not 0) then continues below that sequence"
    ),
]


def _types(values: list[str] | None) -> list[str]:
    return [t.strip() for v in values or [] for t in v.split(",") if t.strip()]


@router.get("", response_model=Page[EventView])
async def list_events(
    runtime: RuntimeDep,
    after: Annotated[int, Query(ge=0, description="Stream sequence to start after")] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    type: Types = None,
    project: Project = None,
    actor: Actor = None,
    order: Order = "asc",
) -> Page[EventView]:
    return await runtime.read_models.events(after, limit, _types(type), project, actor, order)


@router.get(
    "/stream",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "Server-Sent Events"}},
)
async def stream_events(
    runtime: RuntimeDep,
    after: Annotated[int | None, Query(ge=0, description="Start after this sequence")] = None,
    type: Types = None,
    project: Project = None,
    actor: Actor = None,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
) -> StreamingResponse:
    start = after
    if last_event_id is not None:
        if not last_event_id.strip().isdigit():
            raise ApiProblem(400, "bad-request", "Last-Event-ID must be a stream sequence")
        start = int(last_event_id)
    if start is None:
        start = await runtime.store.last_seq()  # a fresh tail begins now
    wanted = set(_types(type))

    async def frames() -> AsyncIterator[bytes]:
        yield b": lcd audit log\nretry: 2000\n\n"
        async for message in tail_events(runtime.js, start):
            if message is None:
                yield b": keep-alive\n\n"
                continue
            try:
                envelope = message.envelope()
            except ContractError:
                continue
            if wanted and envelope.type not in wanted:
                continue
            if actor is not None and envelope.actor != actor:
                continue
            data = envelope.data
            if project and project not in (data.get("projectSlug"), data.get("slug")):
                continue
            event = EventView(
                seq=message.seq, **envelope.model_dump(mode="json", exclude_none=True)
            )
            payload = json.dumps(event.model_dump(mode="json", by_alias=True, exclude_none=True))
            yield f"id: {message.seq}\nevent: {envelope.type}\ndata: {payload}\n\n".encode()

    return StreamingResponse(
        frames(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
