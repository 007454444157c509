"""Dependencies of the routes, as `Annotated` aliases: the runtime, the admin, the command
context (actor + idempotent command id), If-Match, and strict JSON bodies.
"""

from __future__ import annotations

import hmac
import json
import re
import uuid
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Header, Path, Query, Request
from pydantic import BaseModel, SecretStr, ValidationError

from lc_api.api.problems import ApiProblem
from lc_api.api.socket_peer import peer_is_trusted, socket_peer
from lc_api.app.command_loop import CommandContext
from lc_api.db.admin_auth import Authenticator, TooManyFailures
from lc_api.domain.errors import FieldError
from lc_api.domain.validation import field_errors
from lc_api.runtime.lcd import Runtime
from lc_contracts.names import (
    DNS1123_LABEL,
    PROJECT_SLUG_MAX,
    PROJECT_SLUG_PATTERN,
    SERVICE_NAME_MAX,
    dns1123_label_pattern,
)

M = TypeVar("M", bound=BaseModel)
NAME_IN_PATH = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
ID_IN_PATH = re.compile(r"^[A-Za-z0-9-]{1,64}$")
# An entity tag (RFC 9110 §8.8.3), weak or strong, or a bare version number; `*` matches any.
IF_MATCH = re.compile(r'^(\*|(W/)?"[\x21\x23-\x7e]*"|[0-9]+)$')
ANONYMOUS = "anonymous"
SESSION_COOKIE = "lc_session"


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def client_key(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _unauthorized(request: Request, detail: str) -> ApiProblem:
    headers = {}
    # Browsers show their own login dialog on a Basic challenge; the console asks for none.
    if "x-requested-with" not in request.headers:
        headers["WWW-Authenticate"] = 'Basic realm="lcd", charset="UTF-8"'
    return ApiProblem(401, "unauthorized", detail, headers=headers)


async def admit_sign_in(auth: Authenticator, request: Request) -> str:
    """Count a password check against the client's limit (429 when it is used up); the
    client's key, for `auth.limiter.succeeded` once the check passed."""
    key = client_key(request)
    try:
        await auth.limiter.attempt(key)
    except TooManyFailures as exc:
        seconds = max(1, int(exc.retry_after_s + 0.999))
        raise ApiProblem(
            429,
            "rate-limited",
            f"too many failed logins from this address; try again in {seconds}s",
            headers={"Retry-After": str(seconds)},
        ) from None
    return key


async def require_admin(request: Request, runtime: RuntimeDep) -> str:
    """The signed-in admin's name; 401 without valid credentials when auth is on. With
    LC_AUTH_TRUST_LOOPBACK, a connection from loopback (a port-forward) is the admin."""
    auth = runtime.authenticator
    if auth is None:
        return ANONYMOUS
    settings = runtime.settings
    if settings.auth_username and peer_is_trusted(
        socket_peer(request.scope), settings.auth_trust_loopback
    ):
        return settings.auth_username
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        user = await auth.session_user(token)
        if user is not None:
            return user
    header = request.headers.get("authorization")
    if header:
        user = auth.recently_verified(header)
        if user is not None:
            return user
        key = await admit_sign_in(auth, request)
        user = await auth.verify_basic(header)
        if user is not None:
            await auth.limiter.succeeded(key)
            return user
        raise _unauthorized(request, "the credentials are not valid")
    raise _unauthorized(request, "sign in (POST /api/v1/auth/login) or send HTTP Basic credentials")


AdminDep = Annotated[str, Depends(require_admin)]


METRICS_PATH = "/api/metrics"


def bears_metrics_token(authorization: str | None, token: SecretStr | None) -> bool | None:
    """Whether an `Authorization` header carries LC_METRICS_TOKEN: None when it is not a
    bearer (or no token is set), else whether the bearer is the token."""
    scheme, _, credentials = (authorization or "").partition(" ")
    if token is None or scheme.lower() != "bearer":
        return None
    return hmac.compare_digest(credentials.encode(), token.get_secret_value().encode())


async def require_metrics_reader(request: Request, runtime: RuntimeDep) -> None:
    """The bearer of LC_METRICS_TOKEN (a Prometheus scraper), or the admin."""
    bearer = bears_metrics_token(
        request.headers.get("authorization"), runtime.settings.metrics_token
    )
    if bearer:
        return
    if bearer is False:
        raise _unauthorized(request, "the bearer token is not LC_METRICS_TOKEN")
    await require_admin(request, runtime)


def command_context(request: Request, admin: AdminDep) -> CommandContext:
    key = request.headers.get("idempotency-key")
    command_id = f"{key}|{request.method}|{request.url.path}" if key else str(uuid.uuid4())
    return CommandContext(
        command_id=command_id,
        actor=admin,
        correlation_id=request.headers.get("x-correlation-id")
        or request.headers.get("x-request-id"),
    )


CommandCtx = Annotated[CommandContext, Depends(command_context)]


def if_match(
    value: Annotated[
        str | None,
        Header(
            alias="If-Match",
            description="The ETag (project version or service revision) the change is based on",
            json_schema_extra={"pattern": IF_MATCH.pattern},
        ),
    ] = None,
) -> int | None:
    """The version named by If-Match: 400 when the header is not an entity tag, 412 when it
    is one that cannot match any version (the route answers 412 for a stale one)."""
    if value is None:
        return None
    raw = value.strip()
    if not IF_MATCH.match(raw):
        raise ApiProblem(
            400, "bad-request", f'If-Match {value!r} is not an entity tag like "3" (or *)'
        )
    if raw == "*":
        return None
    raw = raw.removeprefix("W/").strip('"')
    if not raw.isdigit() or not raw.isascii():
        raise ApiProblem(
            412, "precondition-failed", f"If-Match {value!r} matches no current version"
        )
    return int(raw)


IfMatch = Annotated[int | None, Depends(if_match)]


def nul_pointer(value: Any, path: str = "") -> str | None:
    """The JSON pointer of the first string (or key) holding a NUL character, if any."""
    if isinstance(value, str):
        return path if "\x00" in value else None
    if isinstance(value, dict):
        items: list[tuple[Any, Any]] = list(value.items())
    elif isinstance(value, list):
        items = list(enumerate(value))
    else:
        return None
    for key, item in items:
        pointer = f"{path}/{str(key).replace('~', '~0').replace('/', '~1')}"
        if isinstance(key, str) and "\x00" in key:
            return pointer
        found = nul_pointer(item, pointer)
        if found is not None:
            return found
    return None


async def read_json(request: Request) -> Any:
    body: bytes = request.scope.get("state", {}).get("body") or await request.body()
    if not body.strip():
        raise ApiProblem(400, "malformed-json", "the request needs a JSON body")
    try:
        data = json.loads(body)
        where = nul_pointer(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiProblem(400, "malformed-json", f"the body is not valid JSON: {exc}") from None
    except RecursionError:
        raise ApiProblem(400, "malformed-json", "the body nests too deeply") from None
    if where is not None:
        # PostgreSQL text cannot hold NUL: refused here, before it reaches the event log,
        # where the projector could never store it.
        raise ApiProblem(
            422,
            "validation-error",
            "strings cannot hold NUL characters",
            [FieldError(where or "/", "must not contain NUL (\\u0000)")],
        )
    return data


def parse(model: type[M], data: Any) -> M:
    """Validate strictly: camelCase names only, unknown and server-owned fields refused."""
    if not isinstance(data, dict):
        raise ApiProblem(422, "validation-error", "the body must be a JSON object")
    try:
        return model.model_validate(data, by_name=False, by_alias=True)
    except ValidationError as exc:
        raise ApiProblem(
            422, "validation-error", "the request has invalid fields", field_errors(exc.errors())
        ) from None


def body_schema(model: type[BaseModel] | str) -> dict[str, Any]:
    """`openapi_extra` declaring a JSON body of `model` (whose schema `create_app` publishes),
    or of the component schema of that name."""
    name = model if isinstance(model, str) else model.__name__
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{name}"}}},
        }
    }


def _name(kind: str, value: str) -> str:
    # A name that could never have been created cannot be found (nor go into a subject).
    if not NAME_IN_PATH.match(value):
        raise ApiProblem(404, "not-found", f"{kind} '{value[:80]}' does not exist")
    return value


# The shapes a path can take; anything else is answered 404 (it cannot exist), not 422.
SLUG_PARAM = Path(
    description="The project's slug",
    json_schema_extra={"pattern": PROJECT_SLUG_PATTERN, "maxLength": PROJECT_SLUG_MAX},
)
NAME_PARAM = Path(
    description="The service's name",
    json_schema_extra={"pattern": DNS1123_LABEL.pattern, "maxLength": SERVICE_NAME_MAX},
)
DOMAIN_ID_PARAM = Path(
    description="The domain's id", json_schema_extra={"pattern": ID_IN_PATH.pattern}
)


def valid_slug(slug: Annotated[str, SLUG_PARAM]) -> str:
    return _name("project", slug)


def valid_name(name: Annotated[str, NAME_PARAM]) -> str:
    return _name("service", name)


def valid_domain_id(domain_id: Annotated[str, DOMAIN_ID_PARAM]) -> str:
    if not ID_IN_PATH.match(domain_id):
        raise ApiProblem(404, "not-found", f"domain '{domain_id[:80]}' does not exist")
    return domain_id


# Query parameters shared by the list routes. A cursor is the last key of the previous page
# (a slug, a service name or an FQDN); a project filter is a slug.
MAX_SEQ = 2**63 - 1
NAME_CURSOR = r"^[a-z0-9.-]{1,253}$"
PageLimit = Annotated[int, Query(ge=1, le=1000, description="Page size")]
NameCursor = Annotated[
    str | None,
    Query(pattern=NAME_CURSOR, description="Cursor from the previous page's `next`"),
]
ProjectFilter = Annotated[
    str | None,
    Query(
        pattern=dns1123_label_pattern(PROJECT_SLUG_MAX),
        max_length=PROJECT_SLUG_MAX,
        description="Only this project's",
    ),
]

SlugPath = Annotated[str, Depends(valid_slug)]
NamePath = Annotated[str, Depends(valid_name)]
DomainIdPath = Annotated[str, Depends(valid_domain_id)]
