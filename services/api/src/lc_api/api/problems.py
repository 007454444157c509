"""RFC 9457 problem details: every error lcd answers, with a stable `type` URI.

    ApiProblem(status, kind, detail, errors)   raised by routes and dependencies
    CommandRefused subclasses                  mapped here, one problem type each
    RequestValidationError / HTTPException     mapped here, so nothing answers HTML or a 500
    EventStoreUnavailable, PostgreSQL down     503 with Retry-After: nothing was written
    EventTooLarge                              413: NATS takes no message that large

Installed on the app by `install_problem_handlers(app)`. Routes declare the problems they
can answer with `problem_responses(404, 409, ...)`, so the OpenAPI document lists each
status with its `application/problem+json` body (`Problem`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, Final

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.exc import DataError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from lc_api.app.command_loop import Contended
from lc_api.app.secret_commands import SecretsDisabled
from lc_api.domain.errors import (
    AlreadyExists,
    CommandRefused,
    Conflict,
    FieldError,
    InvalidCommand,
    NotFound,
    PreconditionFailed,
)
from lc_api.domain.validation import field_errors
from lc_eventstore import EventStoreUnavailable, EventTooLarge

log = logging.getLogger(__name__)

PROBLEM_BASE: Final = "https://liquidcompute.io/problems/"
PROBLEM_JSON: Final = "application/problem+json"

TITLES: Final[Mapping[str, str]] = {
    "bad-request": "The request is malformed",
    "malformed-json": "The body is not valid JSON",
    "validation-error": "The request is not valid",
    "unauthorized": "Authentication required",
    "not-found": "Not found",
    "method-not-allowed": "Method not allowed",
    "already-exists": "Already exists",
    "conflict": "Conflict",
    "precondition-failed": "The resource changed since you fetched it",
    "payload-too-large": "The body is too large",
    "misdirected-request": "This server does not answer for that host",
    "cross-origin": "Requests from another site are refused",
    "unsupported-media-type": "The body must be JSON",
    "idempotency-key-reused": "This Idempotency-Key was used with another request",
    "idempotency-key-in-use": "A request with this Idempotency-Key is still running",
    "rate-limited": "Too many attempts",
    "contended": "Too many concurrent changes",
    "unavailable": "A backing service is unavailable",
    "secrets-disabled": "Project secrets are off (no LC_SECRET_KEY)",
    "internal-error": "Internal error",
}


class ProblemFieldError(BaseModel):
    pointer: str = Field(description="JSON pointer to the offending field, e.g. /kind/model")
    detail: str


class Problem(BaseModel):
    """An RFC 9457 problem details object, as every error of lcd is answered."""

    type: str = Field(description="A stable URI naming the kind of problem")
    title: str
    status: int
    detail: str = Field(description="What went wrong with this request, and what to do")
    errors: list[ProblemFieldError]


PROBLEM_DESCRIPTIONS: Final[Mapping[int, str]] = {
    400: "The request is malformed: not JSON, or a header that is not well-formed",
    401: "Authentication required (auth is on and no valid session or Basic credentials)",
    404: "Not found",
    409: "Conflict with the current state, or an Idempotency-Key still in use",
    412: "If-Match names a version that is not the current one",
    413: "The body is larger than the configured limit",
    415: "The body is not of a supported media type",
    422: "The request is not valid: the errors name each field",
    429: "Too many failed sign-ins from this client; retry after Retry-After seconds",
    503: "A backing service is unavailable or too contended; retry after Retry-After seconds",
}
RETRY_AFTER: Final = {
    "Retry-After": {
        "description": "Seconds to wait before retrying",
        "schema": {"type": "integer", "minimum": 0},
    }
}


WRITE_PROBLEMS: Final = (400, 409, 413, 415, 422, 503)
"""What every state-changing call can answer, whatever the resource: a malformed body or
Idempotency-Key (400), an Idempotency-Key still in use (409), a body over the limit (413),
one that is not JSON (415), invalid fields or a reused Idempotency-Key (422), and an event
store that did not answer or too many concurrent writers (503)."""
GUARD_PROBLEMS: Final = (401, 429)
"""What every route behind the admin login can answer (429: too many failed Basic logins)."""


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The `responses=` of a route that can answer these problems (problem+json bodies)."""
    return {
        status: {
            "description": PROBLEM_DESCRIPTIONS[status],
            "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
            **({"headers": RETRY_AFTER} if status in (429, 503) else {}),
        }
        for status in statuses
    }


STATUS_KINDS: Final[Mapping[int, str]] = {
    400: "bad-request",
    401: "unauthorized",
    404: "not-found",
    405: "method-not-allowed",
    409: "conflict",
    412: "precondition-failed",
    413: "payload-too-large",
    422: "validation-error",
    429: "rate-limited",
    503: "unavailable",
}


class ApiProblem(Exception):
    def __init__(
        self,
        status: int,
        kind: str,
        detail: str,
        errors: list[FieldError] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.kind = kind
        self.detail = detail
        self.errors = errors or []
        self.headers = dict(headers or {})


def problem_body(
    status: int, kind: str, detail: str, errors: list[FieldError] | None = None
) -> dict[str, Any]:
    return {
        "type": PROBLEM_BASE + kind,
        "title": TITLES.get(kind, kind),
        "status": status,
        "detail": detail,
        "errors": [{"pointer": e.pointer, "detail": e.detail} for e in errors or []],
    }


def problem_response(
    status: int,
    kind: str,
    detail: str,
    errors: list[FieldError] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    return JSONResponse(
        problem_body(status, kind, detail, errors),
        status_code=status,
        media_type=PROBLEM_JSON,
        headers=dict(headers or {}),
    )


REFUSALS: Final[list[tuple[type[CommandRefused], int, str]]] = [
    (NotFound, 404, "not-found"),
    (AlreadyExists, 409, "already-exists"),
    (Conflict, 409, "conflict"),
    (PreconditionFailed, 412, "precondition-failed"),
    (InvalidCommand, 422, "validation-error"),
    (Contended, 503, "contended"),
    (SecretsDisabled, 503, "secrets-disabled"),
]


# PostgreSQL refused, dropped or never gave a connection (the pool timed out).
DATABASE_DOWN: Final = (OperationalError, InterfaceError, PoolTimeout)
RETRY_AFTER_S: Final = "1"


def unavailable_response(detail: str) -> JSONResponse:
    return problem_response(503, "unavailable", detail, headers={"Retry-After": RETRY_AFTER_S})


def refusal_problem(exc: CommandRefused) -> ApiProblem:
    for cls, status, kind in REFUSALS:
        if isinstance(exc, cls):
            headers = {"Retry-After": RETRY_AFTER_S} if kind == "contended" else None
            return ApiProblem(status, kind, exc.detail, exc.errors, headers)
    return ApiProblem(422, "validation-error", exc.detail, exc.errors)


def allowed_methods(request: Request) -> list[str]:
    """Every method some route serves at this path. Starlette's own 405 names only the
    first route that matched the path, though GET, PATCH and DELETE are separate routes."""
    methods: set[str] = set()
    for route in request.app.router.routes:
        match, _ = route.matches(request.scope)
        if match is not Match.NONE:
            methods.update(getattr(route, "methods", None) or ())
    return sorted(methods)


def install_problem_handlers(app: FastAPI) -> None:
    async def on_problem(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ApiProblem)
        return problem_response(exc.status, exc.kind, exc.detail, exc.errors, exc.headers)

    async def on_refused(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, CommandRefused)
        problem = refusal_problem(exc)
        return problem_response(
            problem.status, problem.kind, problem.detail, problem.errors, problem.headers
        )

    async def on_validation(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        errors = field_errors(list(exc.errors()))
        return problem_response(422, "validation-error", "the request has invalid fields", errors)

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        kind = STATUS_KINDS.get(exc.status_code, "bad-request")
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            headers["Allow"] = ", ".join(allowed_methods(request))
        return problem_response(exc.status_code, kind, str(exc.detail), headers=headers)

    async def on_unavailable(request: Request, exc: Exception) -> JSONResponse:
        log.warning("event store unavailable: %s", exc)
        return unavailable_response("the event store is unavailable; nothing was written, retry")

    async def on_database_down(request: Request, exc: Exception) -> JSONResponse:
        log.warning("database unavailable on %s %s: %r", request.method, request.url.path, exc)
        return unavailable_response("the database is unavailable; retry")

    async def on_too_large(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, EventTooLarge)
        return problem_response(
            413,
            "payload-too-large",
            f"the change is too large to record ({exc.size} bytes; at most {exc.limit})",
        )

    async def on_data_error(request: Request, exc: Exception) -> JSONResponse:
        return problem_response(
            400, "bad-request", "the request holds characters that cannot be stored (such as NUL)"
        )

    async def on_error(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem_response(
            500, "internal-error", "an unexpected error occurred; it was logged"
        )

    app.add_exception_handler(ApiProblem, on_problem)
    app.add_exception_handler(CommandRefused, on_refused)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(EventStoreUnavailable, on_unavailable)
    app.add_exception_handler(EventTooLarge, on_too_large)
    for database_down in DATABASE_DOWN:
        app.add_exception_handler(database_down, on_database_down)
    app.add_exception_handler(DataError, on_data_error)
    app.add_exception_handler(Exception, on_error)
