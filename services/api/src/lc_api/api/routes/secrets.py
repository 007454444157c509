"""/api/v1/projects/{slug}/secrets: project secrets by name and version.

Values come in (create, rotate) and never go out: every answer, event in the audit log
and line of the live feed shows a secret's name and version only. Services use a secret
through `env: [{"name": "HF_TOKEN", "secretRef": "hf-token"}]`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from lc_api.api.answers import answer_delete, answer_write, view_response
from lc_api.api.deps import (
    NAME_IN_PATH,
    CommandCtx,
    RuntimeDep,
    SlugPath,
    body_schema,
    parse,
    read_json,
)
from lc_api.api.problems import WRITE_PROBLEMS, ApiProblem, problem_responses
from lc_api.views import AcceptedView, Page, SecretView
from lc_contracts.specs import SecretCreate, SecretValue

router = APIRouter(prefix="/projects/{slug}/secrets", tags=["secrets"])


def valid_secret_name(name: str) -> str:
    if not NAME_IN_PATH.match(name):
        raise ApiProblem(404, "not-found", f"secret '{name[:80]}' does not exist")
    return name


SecretNamePath = Annotated[str, Depends(valid_secret_name)]


def location(slug: str, name: str) -> str:
    return f"/api/v1/projects/{slug}/secrets/{name}"


@router.post(
    "",
    status_code=201,
    response_model=SecretView,
    responses={202: {"model": AcceptedView}, **problem_responses(*WRITE_PROBLEMS, 404)},
    openapi_extra=body_schema(SecretCreate),
)
async def create_secret(
    slug: SlugPath, request: Request, runtime: RuntimeDep, ctx: CommandCtx
) -> Response:
    spec = parse(SecretCreate, await read_json(request))
    written = await runtime.commands.secrets.create(slug, spec, ctx)
    return await answer_write(
        runtime,
        written,
        location=location(slug, spec.name),
        read=lambda: runtime.read_models.secret(slug, spec.name),
        status_code=201,
    )


@router.get("", response_model=Page[SecretView], responses=problem_responses(404))
async def list_secrets(slug: SlugPath, runtime: RuntimeDep) -> Page[SecretView]:
    if await runtime.read_models.project(slug) is None:
        raise ApiProblem(404, "not-found", f"project '{slug}' does not exist")
    return Page[SecretView](items=await runtime.read_models.secrets(slug))


@router.get("/{name}", response_model=SecretView, responses=problem_responses(404))
async def get_secret(slug: SlugPath, name: SecretNamePath, runtime: RuntimeDep) -> Response:
    view = await runtime.read_models.secret(slug, name)
    if view is None:
        raise ApiProblem(404, "not-found", f"project '{slug}' has no secret '{name}'")
    return view_response(view)


@router.put(
    "/{name}",
    response_model=SecretView,
    responses={202: {"model": AcceptedView}, **problem_responses(*WRITE_PROBLEMS, 404)},
    openapi_extra=body_schema(SecretValue),
)
async def rotate_secret(
    slug: SlugPath, name: SecretNamePath, request: Request, runtime: RuntimeDep, ctx: CommandCtx
) -> Response:
    change = parse(SecretValue, await read_json(request))
    written = await runtime.commands.secrets.rotate(slug, name, change.value, ctx)
    return await answer_write(
        runtime,
        written,
        location=location(slug, name),
        read=lambda: runtime.read_models.secret(slug, name),
    )


@router.delete(
    "/{name}",
    status_code=204,
    responses={202: {"model": AcceptedView}, **problem_responses(*WRITE_PROBLEMS, 404)},
)
async def delete_secret(
    slug: SlugPath, name: SecretNamePath, runtime: RuntimeDep, ctx: CommandCtx
) -> Response:
    written = await runtime.commands.secrets.delete(slug, name, ctx)
    return await answer_delete(runtime, written, location(slug, name))
