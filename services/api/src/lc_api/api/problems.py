"""RFC 9457 problem details: every error lcd answers, with a stable `type` URI.

    ApiProblem(status, kind, detail, errors)   raised by routes and dependencies
    CommandRefused subclasses                  mapped here, one problem type each
    RequestValidationError / HTTPException     mapped here, so nothing answers HTML or a 500
    EventStoreUnavailable, PostgreSQL down     503 with Retry-After: nothing was written
    EventTooLarge                              413: NATS takes no message that large

Installed on the app by `install_problem_handlers(app)`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, Final

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

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
        return problem_response(exc.status_code, kind, str(exc.detail), headers=exc.headers)

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
