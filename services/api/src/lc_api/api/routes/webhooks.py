"""/api/v1/webhooks: subscriptions to the platform's events, delivered by the webhooks
worker per Standard Webhooks; their delivery log.

The signing secret is answered once, by the create and by rotate-secret; every other
answer, the audit log and the logs show the subscription without it.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.responses import JSONResponse

from lc_api.api.answers import answer_delete, answer_write, view_response
from lc_api.api.deps import (
    ID_IN_PATH,
    CommandCtx,
    PageLimit,
    ProjectFilter,
    RuntimeDep,
    body_schema,
    parse,
    read_json,
)
from lc_api.api.problems import WRITE_PROBLEMS, ApiProblem, problem_responses
from lc_api.app.command_loop import Written
from lc_api.db.webhook_queries import WebhookReads
from lc_api.runtime.lcd import Runtime
from lc_api.views import (
    AcceptedView,
    Page,
    WebhookCreatedView,
    WebhookDeliveryView,
    WebhookSecretView,
    WebhookView,
    wire,
)
from lc_contracts.webhooks import WebhookCreate, WebhookReplay, WebhookUpdate

router = APIRouter(prefix="/webhooks", tags=["webhooks"])

WEBHOOK_ID_PARAM = Path(
    description="The subscription's id", json_schema_extra={"pattern": ID_IN_PATH.pattern}
)
# Answers holding a signing secret: kept by no cache, nor by the idempotency records.
NO_STORE = {"Cache-Control": "no-store"}
WRITE_ANSWERS = {202: {"model": AcceptedView}, **problem_responses(*WRITE_PROBLEMS, 404)}


def valid_webhook_id(webhook_id: Annotated[str, WEBHOOK_ID_PARAM]) -> str:
    if not ID_IN_PATH.match(webhook_id):
        raise ApiProblem(404, "not-found", f"webhook '{webhook_id[:80]}' does not exist")
    return webhook_id


WebhookIdPath = Annotated[str, Depends(valid_webhook_id)]
IdCursor = Annotated[
    str | None,
    Query(pattern=ID_IN_PATH.pattern, description="Cursor from the previous page's `next`"),
]
DeliveryCursor = Annotated[
    int | None, Query(ge=1, description="Cursor from the previous page's `next` (older ones)")
]


def location(webhook_id: str) -> str:
    return f"/api/v1/webhooks/{webhook_id}"


def reads(runtime: Runtime) -> WebhookReads:
    return WebhookReads(runtime.engine)


async def _answer(runtime: Runtime, webhook_id: str, written: Written) -> Response:
    return await answer_write(
        runtime,
        written,
        location=location(webhook_id),
        read=lambda: reads(runtime).webhook(webhook_id),
    )


@router.post(
    "",
    status_code=201,
    response_model=WebhookCreatedView,
    responses=WRITE_ANSWERS,
    openapi_extra=body_schema(WebhookCreate),
)
async def create_webhook(request: Request, runtime: RuntimeDep, ctx: CommandCtx) -> Response:
    spec = parse(WebhookCreate, await read_json(request))
    webhook_id, secret, written = await runtime.commands.webhooks.subscribe(spec, ctx)
    headers = {"Location": location(webhook_id), "X-LC-Seq": str(written.seq), **NO_STORE}
    view = None
    if await runtime.wait_projected(written.seq):
        view = await reads(runtime).webhook(webhook_id)
    if view is None:
        # Not projected yet: the subscription exists; the secret is still shown, this once.
        body = {"id": webhook_id, "secret": secret, "seq": written.seq}
        return JSONResponse(body, status_code=202, headers=headers)
    created = WebhookCreatedView(**view.model_dump(), secret=secret)
    return JSONResponse(wire(created), status_code=201, headers=headers)


@router.get("", response_model=Page[WebhookView], responses=problem_responses(422))
async def list_webhooks(
    runtime: RuntimeDep,
    project: ProjectFilter = None,
    limit: PageLimit = 100,
    after: IdCursor = None,
) -> Page[WebhookView]:
    return await reads(runtime).webhooks(project, after, limit)


@router.get("/{webhook_id}", response_model=WebhookView, responses=problem_responses(404))
async def get_webhook(webhook_id: WebhookIdPath, runtime: RuntimeDep) -> Response:
    view = await reads(runtime).webhook(webhook_id)
    if view is None:
        raise ApiProblem(404, "not-found", f"webhook '{webhook_id}' does not exist")
    return view_response(view)


@router.patch(
    "/{webhook_id}",
    response_model=WebhookView,
    responses=WRITE_ANSWERS,
    openapi_extra=body_schema(WebhookUpdate),
)
async def update_webhook(
    webhook_id: WebhookIdPath, request: Request, runtime: RuntimeDep, ctx: CommandCtx
) -> Response:
    change = parse(WebhookUpdate, await read_json(request))
    written = await runtime.commands.webhooks.update(webhook_id, change, ctx)
    return await _answer(runtime, webhook_id, written)


@router.delete("/{webhook_id}", status_code=204, responses=WRITE_ANSWERS)
async def delete_webhook(
    webhook_id: WebhookIdPath, runtime: RuntimeDep, ctx: CommandCtx
) -> Response:
    written = await runtime.commands.webhooks.delete(webhook_id, ctx)
    return await answer_delete(runtime, written, location(webhook_id))


@router.post("/{webhook_id}/pause", response_model=WebhookView, responses=WRITE_ANSWERS)
async def pause_webhook(
    webhook_id: WebhookIdPath, runtime: RuntimeDep, ctx: CommandCtx
) -> Response:
    written = await runtime.commands.webhooks.pause(webhook_id, ctx)
    return await _answer(runtime, webhook_id, written)


@router.post("/{webhook_id}/resume", response_model=WebhookView, responses=WRITE_ANSWERS)
async def resume_webhook(
    webhook_id: WebhookIdPath, runtime: RuntimeDep, ctx: CommandCtx
) -> Response:
    written = await runtime.commands.webhooks.resume(webhook_id, ctx)
    return await _answer(runtime, webhook_id, written)


@router.post(
    "/{webhook_id}/rotate-secret", response_model=WebhookSecretView, responses=WRITE_ANSWERS
)
async def rotate_webhook_secret(
    webhook_id: WebhookIdPath, runtime: RuntimeDep, ctx: CommandCtx
) -> Response:
    secret, written = await runtime.commands.webhooks.rotate_secret(webhook_id, ctx)
    view = None
    if await runtime.wait_projected(written.seq):
        view = await reads(runtime).webhook(webhook_id)
    body = WebhookSecretView(
        id=webhook_id,
        secret=secret,
        previous_secret_expires_at=view.previous_secret_expires_at if view else None,
    )
    return JSONResponse(
        wire(body),
        status_code=200 if view else 202,
        headers={"X-LC-Seq": str(written.seq), "Location": location(webhook_id), **NO_STORE},
    )


@router.post(
    "/{webhook_id}/replay",
    status_code=202,
    response_model=AcceptedView,
    responses=problem_responses(*WRITE_PROBLEMS, 404),
    openapi_extra=body_schema(WebhookReplay),
)
async def replay_webhook(
    webhook_id: WebhookIdPath, request: Request, runtime: RuntimeDep, ctx: CommandCtx
) -> Response:
    replay = parse(WebhookReplay, await read_json(request))
    written = await runtime.commands.webhooks.replay(webhook_id, replay, ctx)
    return _accepted(webhook_id, written.seq)


@router.post(
    "/{webhook_id}/test",
    status_code=202,
    response_model=AcceptedView,
    responses=problem_responses(*WRITE_PROBLEMS, 404),
)
async def test_webhook(webhook_id: WebhookIdPath, runtime: RuntimeDep, ctx: CommandCtx) -> Response:
    written = await runtime.commands.webhooks.send_test(webhook_id, ctx)
    return _accepted(webhook_id, written.seq)


def _accepted(webhook_id: str, seq: int) -> JSONResponse:
    where = f"{location(webhook_id)}/deliveries"
    body = AcceptedView(seq=seq, location=where)
    return JSONResponse(
        body.model_dump(mode="json", by_alias=True),
        status_code=202,
        headers={"Location": where, "X-LC-Seq": str(seq)},
    )


@router.get(
    "/{webhook_id}/deliveries",
    response_model=Page[WebhookDeliveryView],
    responses=problem_responses(404, 422),
)
async def list_deliveries(
    webhook_id: WebhookIdPath,
    runtime: RuntimeDep,
    limit: PageLimit = 100,
    before: DeliveryCursor = None,
) -> Page[WebhookDeliveryView]:
    if await reads(runtime).webhook(webhook_id) is None:
        raise ApiProblem(404, "not-found", f"webhook '{webhook_id}' does not exist")
    return await reads(runtime).deliveries(webhook_id, before, limit)
