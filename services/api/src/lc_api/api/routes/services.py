"""/api/v1/projects/{slug}/services: create, apply (PUT), patch, roll back, delete Services."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import Field

from lc_api.api.answers import answer_delete, answer_write, view_response
from lc_api.api.deps import (
    CommandCtx,
    IfMatch,
    NameCursor,
    NamePath,
    PageLimit,
    RuntimeDep,
    SlugPath,
    body_schema,
    parse,
    read_json,
)
from lc_api.api.problems import WRITE_PROBLEMS, ApiProblem, problem_responses
from lc_api.views import AcceptedView, Page, RevisionView, ServiceView, wire
from lc_contracts.base import Contract
from lc_contracts.specs import JsonInt, ServiceSpec, Tier
from lc_contracts.status import ServicePhase

router = APIRouter(prefix="/projects/{slug}/services", tags=["services"])

Search = Annotated[
    str | None,
    Query(min_length=1, max_length=100, description="Only services whose name contains this"),
]
Phases = Annotated[
    list[ServicePhase] | None,
    Query(alias="phase", description="Only services in these phases (repeat for several)"),
]
Tiers = Annotated[
    list[Tier] | None, Query(alias="tier", description="Only services of these tiers (repeat)")
]


class RollbackRequest(Contract):
    revision: Annotated[JsonInt, Field(ge=1)]


SERVICE_APPLICATION = "ServiceApplication"


def service_application(spec_schema: dict[str, Any]) -> dict[str, Any]:
    """ServiceSpec's schema as PUT takes it: `name` may be left out (it is the URL's)."""
    return {
        **spec_schema,
        "title": SERVICE_APPLICATION,
        "description": "A ServiceSpec whose name, if given, is the URL's {name}.",
        "required": [field for field in spec_schema.get("required", []) if field != "name"],
    }


SERVICE_PATCH: dict[str, Any] = {
    "type": "object",
    "description": "An RFC 7396 merge patch of the ServiceSpec: null removes a field. "
    "The service it yields must be a valid ServiceSpec (422 otherwise).",
    "properties": {
        "name": {"type": "string"},
        "tier": {"anyOf": [{"type": "string"}, {"type": "null"}]},
        "kind": {"anyOf": [{"type": "object"}, {"type": "null"}]},
        "expose": {"anyOf": [{"type": "boolean"}, {"type": "null"}]},
    },
    "additionalProperties": False,
}


def location(slug: str, name: str) -> str:
    return f"/api/v1/projects/{slug}/services/{name}"


async def _require_project(runtime: Any, slug: str) -> None:
    if await runtime.read_models.project(slug) is None:
        raise ApiProblem(404, "not-found", f"project '{slug}' does not exist")


@router.post(
    "",
    status_code=201,
    response_model=ServiceView,
    responses={202: {"model": AcceptedView}, **problem_responses(*WRITE_PROBLEMS, 404)},
    openapi_extra=body_schema(ServiceSpec),
)
async def create_service(
    slug: SlugPath, request: Request, runtime: RuntimeDep, ctx: CommandCtx
) -> Response:
    spec = parse(ServiceSpec, await read_json(request))
    written = await runtime.commands.create_service(slug, spec, ctx)
    return await answer_write(
        runtime,
        written,
        location=location(slug, spec.name),
        read=lambda: runtime.read_models.service(slug, spec.name),
        status_code=201,
    )


@router.get("", response_model=Page[ServiceView], responses=problem_responses(404, 422))
async def list_services(
    slug: SlugPath,
    runtime: RuntimeDep,
    limit: PageLimit = 100,
    after: NameCursor = None,
    q: Search = None,
    phase: Phases = None,
    tier: Tiers = None,
) -> Response:
    await _require_project(runtime, slug)
    page = await runtime.read_models.services(slug, after, limit, q, phase or (), tier or ())
    return view_response(page)


@router.get("/{name}", response_model=ServiceView, responses=problem_responses(404))
async def get_service(slug: SlugPath, name: NamePath, runtime: RuntimeDep) -> Response:
    view = await runtime.read_models.service(slug, name)
    if view is None:
        raise ApiProblem(404, "not-found", f"service '{name}' in project '{slug}' does not exist")
    return view_response(view)


@router.put(
    "/{name}",
    response_model=ServiceView,
    responses={
        201: {"model": ServiceView},
        202: {"model": AcceptedView},
        **problem_responses(*WRITE_PROBLEMS, 404, 412),
    },
    openapi_extra=body_schema(SERVICE_APPLICATION),
)
async def apply_service(
    slug: SlugPath,
    name: NamePath,
    request: Request,
    runtime: RuntimeDep,
    ctx: CommandCtx,
    revision: IfMatch,
) -> Response:
    data = await read_json(request)
    if isinstance(data, dict) and "name" not in data:
        data = {"name": name, **data}
    spec = parse(ServiceSpec, data)
    written = await runtime.commands.apply_service(slug, name, spec, revision, ctx)
    return await answer_write(
        runtime,
        written,
        location=location(slug, name),
        read=lambda: runtime.read_models.service(slug, name),
        created=lambda view: isinstance(view, ServiceView) and view.revision == 1,
    )


@router.patch(
    "/{name}",
    response_model=ServiceView,
    responses={202: {"model": AcceptedView}, **problem_responses(*WRITE_PROBLEMS, 404, 412)},
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/merge-patch+json": {"schema": SERVICE_PATCH},
                "application/json": {"schema": SERVICE_PATCH},
            },
        }
    },
)
async def patch_service(
    slug: SlugPath,
    name: NamePath,
    request: Request,
    runtime: RuntimeDep,
    ctx: CommandCtx,
    revision: IfMatch,
) -> Response:
    changes = await read_json(request)
    if not isinstance(changes, dict):
        raise ApiProblem(422, "validation-error", "a merge patch must be a JSON object")
    written = await runtime.commands.patch_service(slug, name, changes, revision, ctx)
    return await answer_write(
        runtime,
        written,
        location=location(slug, name),
        read=lambda: runtime.read_models.service(slug, name),
    )


@router.delete(
    "/{name}",
    status_code=204,
    responses={202: {"model": AcceptedView}, **problem_responses(*WRITE_PROBLEMS, 404, 412)},
)
async def delete_service(
    slug: SlugPath, name: NamePath, runtime: RuntimeDep, ctx: CommandCtx, revision: IfMatch
) -> Response:
    written = await runtime.commands.delete_service(slug, name, revision, ctx)
    return await answer_delete(runtime, written, location(slug, name))


@router.get(
    "/{name}/revisions", response_model=list[RevisionView], responses=problem_responses(404)
)
async def list_revisions(slug: SlugPath, name: NamePath, runtime: RuntimeDep) -> Response:
    revisions = await runtime.read_models.revisions(slug, name)
    if not revisions:
        raise ApiProblem(404, "not-found", f"service '{name}' in project '{slug}' does not exist")
    return JSONResponse([wire(r) for r in revisions])


@router.post(
    "/{name}/rollback",
    response_model=ServiceView,
    responses={202: {"model": AcceptedView}, **problem_responses(*WRITE_PROBLEMS, 404, 412)},
    openapi_extra=body_schema(RollbackRequest),
)
async def rollback_service(
    slug: SlugPath,
    name: NamePath,
    request: Request,
    runtime: RuntimeDep,
    ctx: CommandCtx,
    revision: IfMatch,
) -> Response:
    body = parse(RollbackRequest, await read_json(request))
    written = await runtime.commands.rollback_service(slug, name, body.revision, revision, ctx)
    return await answer_write(
        runtime,
        written,
        location=location(slug, name),
        read=lambda: runtime.read_models.service(slug, name),
    )
