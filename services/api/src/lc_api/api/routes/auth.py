"""/api/v1/auth: console sign-in with a session cookie, sign-out, and who am I."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from pydantic import Field

from lc_api.api.deps import (
    SESSION_COOKIE,
    AdminDep,
    RuntimeDep,
    admit_sign_in,
    body_schema,
    parse,
    read_json,
)
from lc_api.api.problems import GUARD_PROBLEMS, ApiProblem, problem_responses
from lc_contracts.base import Contract

router = APIRouter(prefix="/auth", tags=["auth"])


class LoginRequest(Contract):
    username: Annotated[str, Field(min_length=1, max_length=200)]
    password: Annotated[str, Field(min_length=1, max_length=1000)]


class Me(Contract):
    username: str
    auth_enabled: bool


@router.post(
    "/login",
    response_model=Me,
    # 404: authentication is off, there is nobody to sign in as.
    responses=problem_responses(400, 401, 404, 413, 415, 422, 429),
    openapi_extra=body_schema(LoginRequest),
)
async def login(request: Request, runtime: RuntimeDep) -> Response:
    auth = runtime.authenticator
    if auth is None:
        raise ApiProblem(404, "not-found", "authentication is off; no login needed")
    body = parse(LoginRequest, await read_json(request))
    key = await admit_sign_in(auth, request)
    if not await auth.verify(body.username, body.password):
        raise ApiProblem(401, "unauthorized", "wrong username or password")
    await auth.limiter.succeeded(key)
    token, expires = await auth.open_session(body.username)
    response = JSONResponse(Me(username=body.username, auth_enabled=True).to_wire())
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=runtime.settings.session_ttl_s,
        expires=expires,
        path="/",
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )
    return response


@router.post("/logout", status_code=204, responses=problem_responses(413, 415))
async def logout(request: Request, runtime: RuntimeDep) -> Response:
    token = request.cookies.get(SESSION_COOKIE)
    if token and runtime.authenticator is not None:
        await runtime.authenticator.close_session(token)
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax")
    return response


@router.get("/me", response_model=Me, responses=problem_responses(*GUARD_PROBLEMS))
async def me(admin: AdminDep, runtime: RuntimeDep) -> Me:
    return Me(username=admin, auth_enabled=runtime.authenticator is not None)
