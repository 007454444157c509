"""/api/v1/domains: register a custom domain (TXT challenge), verify it, delete it."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from lc_api.api.answers import answer_delete, answer_write, view_response
from lc_api.api.deps import (
    CommandCtx,
    DomainIdPath,
    NameCursor,
    PageLimit,
    ProjectFilter,
    RuntimeDep,
    body_schema,
    parse,
    read_json,
)
from lc_api.api.problems import WRITE_PROBLEMS, ApiProblem, problem_responses
from lc_api.views import AcceptedView, DomainView, Page
from lc_contracts.specs import DomainRegistration

router = APIRouter(prefix="/domains", tags=["domains"])


def location(domain_id: str) -> str:
    return f"/api/v1/domains/{domain_id}"


@router.post(
    "",
    status_code=201,
    response_model=DomainView,
    responses={202: {"model": AcceptedView}, **problem_responses(*WRITE_PROBLEMS, 404)},
    openapi_extra=body_schema(DomainRegistration),
)
async def register_domain(request: Request, runtime: RuntimeDep, ctx: CommandCtx) -> Response:
    registration = parse(DomainRegistration, await read_json(request))
    domain_id, written = await runtime.commands.register_domain(registration, ctx)
    return await answer_write(
        runtime,
        written,
        location=location(domain_id),
        read=lambda: runtime.read_models.domain(domain_id),
        status_code=201,
    )


@router.get("", response_model=Page[DomainView], responses=problem_responses(422))
async def list_domains(
    runtime: RuntimeDep,
    project: ProjectFilter = None,
    limit: PageLimit = 100,
    after: NameCursor = None,
) -> Page[DomainView]:
    return await runtime.read_models.domains(project, after, limit)


@router.get("/{domain_id}", response_model=DomainView, responses=problem_responses(404))
async def get_domain(domain_id: DomainIdPath, runtime: RuntimeDep) -> Response:
    view = await runtime.read_models.domain(domain_id)
    if view is None:
        raise ApiProblem(404, "not-found", f"domain '{domain_id}' does not exist")
    return view_response(view)


@router.post(
    "/{domain_id}/verify",
    response_model=DomainView,
    responses={202: {"model": AcceptedView}, **problem_responses(*WRITE_PROBLEMS, 404)},
)
async def verify_domain(domain_id: DomainIdPath, runtime: RuntimeDep, ctx: CommandCtx) -> Response:
    written = await runtime.commands.verify_domain(domain_id, ctx)
    return await answer_write(
        runtime,
        written,
        location=location(domain_id),
        read=lambda: runtime.read_models.domain(domain_id),
    )


@router.delete(
    "/{domain_id}",
    status_code=204,
    responses={202: {"model": AcceptedView}, **problem_responses(*WRITE_PROBLEMS, 404)},
)
async def delete_domain(domain_id: DomainIdPath, runtime: RuntimeDep, ctx: CommandCtx) -> Response:
    written = await runtime.commands.delete_domain(domain_id, ctx)
    return await answer_delete(runtime, written, location(domain_id))
