"""/api/v1/events: the audit log (paginated), its live tail as Server-Sent Events, and the
events the read models passed over (`/quarantine`)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Annotated, Literal

from fastapi import APIRouter, Header, Query
from fastapi.responses import StreamingResponse
from pydantic import StringConstraints

from lc_api.api.deps import MAX_SEQ, PageLimit, ProjectFilter, RuntimeDep
from lc_api.api.problems import ApiProblem, problem_responses
from lc_api.runtime.live_events import tail_events
from lc_api.views import EventView, Page, QuarantinedEventView
from lc_contracts.errors import ContractError
from lc_contracts.events import shown

router = APIRouter(prefix="/events", tags=["events"])

EventTypes = Annotated[str, StringConstraints(pattern=r"^[a-z0-9_., ]*$", max_length=1000)]
Types = Annotated[
    list[EventTypes] | None,
    Query(alias="type", description="Event types to keep (repeat, or separate with commas)"),
]
Sequence = Annotated[int, Query(ge=0, le=MAX_SEQ, description="Stream sequence to start after")]
LastEventId = Annotated[
    str | None,
    Header(
        alias="Last-Event-ID",
        description="The `id` of the last event received: resume after it",
        json_schema_extra={"pattern": "^[0-9]+$"},
    ),
]
Actor = Annotated[
    str | None,
    Query(
        max_length=200,
        description="Only events caused by this actor (an admin, an API key, a component)",
    ),
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


@router.get("", response_model=Page[EventView], responses=problem_responses(422))
async def list_events(
    runtime: RuntimeDep,
    after: Sequence = 0,
    limit: PageLimit = 100,
    type: Types = None,
    project: ProjectFilter = None,
    actor: Actor = None,
    order: Order = "asc",
) -> Page[EventView]:
    return await runtime.read_models.events(after, limit, _types(type), project, actor, order)


@router.get(
    "/quarantine", response_model=Page[QuarantinedEventView], responses=problem_responses(422)
)
async def list_quarantined_events(
    runtime: RuntimeDep,
    after: Annotated[int, Query(ge=0, description="Stream sequence to start after")] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> Page[QuarantinedEventView]:
    """Events the read models could not apply (bad data, unreadable): set aside, with why."""
    return await runtime.read_models.quarantined(after, limit)


@router.get(
    "/stream",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"text/event-stream": {}}, "description": "Server-Sent Events"},
        **problem_responses(400, 422, 503),
    },
)
async def stream_events(
    runtime: RuntimeDep,
    after: Sequence | None = None,
    type: Types = None,
    project: ProjectFilter = None,
    actor: Actor = None,
    last_event_id: LastEventId = None,
) -> StreamingResponse:
    start = after
    if last_event_id is not None:
        value = last_event_id.strip()
        if not (value.isascii() and value.isdigit()):
            raise ApiProblem(400, "bad-request", "Last-Event-ID must be a stream sequence")
        start = min(int(value), MAX_SEQ)
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
                envelope = shown(message.envelope())
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
