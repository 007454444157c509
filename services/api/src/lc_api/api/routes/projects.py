"""/api/v1/projects: create, list, read, rename and delete projects."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from lc_api.api.answers import answer_delete, answer_write, view_response
from lc_api.api.deps import (
    CommandCtx,
    IfMatch,
    NameCursor,
    PageLimit,
    RuntimeDep,
    SlugPath,
    body_schema,
    parse,
    read_json,
)
from lc_api.api.problems import WRITE_PROBLEMS, ApiProblem, problem_responses
from lc_api.db.queries import ProjectSort
from lc_api.domain.errors import FieldError
from lc_api.views import AcceptedView, Page, ProjectView
from lc_contracts.specs import ProjectName, ProjectSpec
from lc_contracts.storable import StorableContract

router = APIRouter(prefix="/projects", tags=["projects"])

Search = Annotated[
    str | None,
    Query(
        min_length=1,
        max_length=100,
        description="Only projects whose name or slug contains this (any case)",
    ),
]
Sort = Annotated[
    ProjectSort,
    Query(
        description="Order: `slug`; `name` (natural: Team 2 before Team 10); "
        "`updated` (most recently changed first)"
    ),
]


class ProjectPatch(StorableContract):
    """A change to a project. The slug is immutable."""

    name: ProjectName


def location(slug: str) -> str:
    return f"/api/v1/projects/{slug}"


@router.post(
    "",
    status_code=201,
    response_model=ProjectView,
    responses={202: {"model": AcceptedView}, **problem_responses(*WRITE_PROBLEMS)},
    openapi_extra=body_schema(ProjectSpec),
)
async def create_project(request: Request, runtime: RuntimeDep, ctx: CommandCtx) -> Response:
    spec = parse(ProjectSpec, await read_json(request))
    written = await runtime.commands.create_project(spec, ctx)
    return await answer_write(
        runtime,
        written,
        location=location(spec.slug),
        read=lambda: runtime.read_models.project(spec.slug),
        status_code=201,
    )


@router.get("", response_model=Page[ProjectView], responses=problem_responses(422))
async def list_projects(
    runtime: RuntimeDep,
    limit: PageLimit = 100,
    after: NameCursor = None,
    q: Search = None,
    sort: Sort = "slug",
) -> Page[ProjectView]:
    return await runtime.read_models.projects(after, limit, q, sort)


@router.get("/{slug}", response_model=ProjectView, responses=problem_responses(404))
async def get_project(slug: SlugPath, runtime: RuntimeDep) -> Response:
    view = await runtime.read_models.project(slug)
    if view is None:
        raise ApiProblem(404, "not-found", f"project '{slug}' does not exist")
    return view_response(view)


@router.patch(
    "/{slug}",
    response_model=ProjectView,
    responses={202: {"model": AcceptedView}, **problem_responses(*WRITE_PROBLEMS, 404, 412)},
    openapi_extra=body_schema(ProjectPatch),
)
async def update_project(
    slug: SlugPath, request: Request, runtime: RuntimeDep, ctx: CommandCtx, version: IfMatch
) -> Response:
    data = await read_json(request)
    if isinstance(data, dict) and "slug" in data:
        raise ApiProblem(
            422,
            "validation-error",
            "a project's slug cannot change",
            [FieldError("/slug", "is immutable")],
        )
    change = parse(ProjectPatch, data)
    written = await runtime.commands.rename_project(slug, change.name, version, ctx)
    return await answer_write(
        runtime, written, location=location(slug), read=lambda: runtime.read_models.project(slug)
    )


@router.delete(
    "/{slug}",
    status_code=204,
    responses={202: {"model": AcceptedView}, **problem_responses(*WRITE_PROBLEMS, 404, 412)},
)
async def delete_project(
    slug: SlugPath,
    runtime: RuntimeDep,
    ctx: CommandCtx,
    version: IfMatch,
    cascade: Annotated[
        bool, Query(description="Also delete the project's services and domains")
    ] = False,
) -> Response:
    written = await runtime.commands.delete_project(slug, version, cascade, ctx)
    return await answer_delete(runtime, written, location(slug))
