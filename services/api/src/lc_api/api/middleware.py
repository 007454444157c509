"""ASGI middleware of lcd, outermost first:

- `HttpMetrics`: request counts and latencies per route template (Prometheus).
- `RequestChecks`: cross-site and DNS-rebinding requests refused before anything else
  runs (`lc_contracts.cross_site`): 421 for a host lcd does not answer for, 403 for a
  browser on another origin, 415 for a write whose body is not JSON. A scrape of
  `/api/metrics` bearing LC_METRICS_TOKEN passes whatever its `Host` (Prometheus scrapes
  each pod by its IP; a browser never attaches a bearer token by itself, so a rebound
  page cannot use it).
- `BodyLimit`: buffers request bodies up to `max_body_bytes`; larger ones get a 413
  before any route runs.
- `Idempotency`: `Idempotency-Key` on POST/PUT/PATCH/DELETE under /api/v1 — the same key
  with the same request replays the first answer; with another request it is a 422.
  Only for an authenticated caller: the key is looked up after the credentials are checked.

Installed by `create_app`; they find lcd's runtime in `app.state.runtime` per request.
"""

from __future__ import annotations

import hashlib
import logging
import time

from prometheus_client import CollectorRegistry, Counter, Histogram
from pydantic import SecretStr
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lc_api.api.deps import METRICS_PATH, bears_metrics_token, require_admin
from lc_api.api.problems import DATABASE_DOWN, ApiProblem, problem_response, unavailable_response
from lc_api.db.idempotency import IdempotencyRecords, StoredAnswer
from lc_contracts.cross_site import AllowedHosts, check_asgi_request

log = logging.getLogger(__name__)

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
IDEMPOTENT_PREFIX = "/api/v1/"
NOT_IDEMPOTENT_PREFIX = "/api/v1/auth/"
REPLAYED_HEADERS = ("content-type", "location", "etag", "x-lc-seq", "retry-after")
NOT_REPLAYABLE = frozenset({401, 403, 408, 429})
MAX_KEY_LENGTH = 255


class HttpMetrics:
    def __init__(self, app: ASGIApp, registry: CollectorRegistry) -> None:
        self.app = app
        self.requests = Counter(
            "lcd_http_requests",
            "HTTP requests answered",
            ["method", "route", "status"],
            registry=registry,
        )
        self.latency = Histogram(
            "lcd_http_request_duration_seconds",
            "Time to answer an HTTP request",
            ["method", "route"],
            registry=registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            template = route_template(scope)
            method = scope.get("method", "")
            self.requests.labels(method, template, str(status)).inc()
            self.latency.labels(method, template).observe(time.perf_counter() - started)


def route_template(scope: Scope) -> str:
    """`/api/v1/projects/{slug}` for `/api/v1/projects/default`: bounded metric labels."""
    if scope.get("route") is None:
        return "unmatched"
    segments = str(scope.get("path", "")).split("/")
    for name, value in (scope.get("path_params") or {}).items():
        segments = [f"{{{name}}}" if segment == str(value) else segment for segment in segments]
    return "/".join(segments)


class RequestChecks:
    def __init__(
        self, app: ASGIApp, allowed_hosts: AllowedHosts, metrics_token: SecretStr | None = None
    ) -> None:
        self.app = app
        self.allowed_hosts = allowed_hosts
        self.metrics_token = metrics_token

    def _is_scrape(self, scope: Scope) -> bool:
        return (
            scope["path"] == METRICS_PATH
            and scope["method"] in ("GET", "HEAD")
            and bears_metrics_token(_header(scope, b"authorization"), self.metrics_token) is True
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not self._is_scrape(scope):
            refusal = check_asgi_request(scope, self.allowed_hosts)
            if refusal is not None:
                response = problem_response(refusal.status, refusal.reason, refusal.detail)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


class BodyLimit:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = problem_response(
            413, "payload-too-large", f"request bodies are limited to {self.max_bytes} bytes"
        )
        await response(scope, receive, send)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") not in WRITE_METHODS:
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None:
            try:
                if int(declared) > self.max_bytes:
                    await self._too_large(scope, receive, send)
                    return
            except ValueError:
                pass
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._too_large(scope, receive, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        scope.setdefault("state", {})["body"] = body
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers") or []:
        if key == name:
            return str(value.decode("latin-1"))
    return None


class Idempotency:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = str(scope.get("path", ""))
        key = _header(scope, b"idempotency-key") if scope["type"] == "http" else None
        if (
            key is None
            or scope.get("method") not in WRITE_METHODS
            or not path.startswith(IDEMPOTENT_PREFIX)
            or path.startswith(NOT_IDEMPOTENT_PREFIX)
        ):
            await self.app(scope, receive, send)
            return
        if not 1 <= len(key) <= MAX_KEY_LENGTH or not key.isprintable():
            response = problem_response(
                400,
                "bad-request",
                f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} printable characters",
            )
            await response(scope, receive, send)
            return
        runtime = scope["app"].state.runtime
        records: IdempotencyRecords = runtime.idempotency
        body = scope.get("state", {}).get("body", b"")
        query = scope.get("query_string", b"").decode("latin-1")
        fingerprint = hashlib.sha256(
            f"{scope['method']}\n{path}?{query}\n".encode() + body
        ).hexdigest()
        try:
            # A stored answer is only for whoever may make the request again.
            await require_admin(Request(scope), runtime)
            reservation = await records.reserve(key, fingerprint)
        except ApiProblem as problem:
            response = problem_response(
                problem.status, problem.kind, problem.detail, problem.errors, problem.headers
            )
            await response(scope, receive, send)
            return
        except DATABASE_DOWN as exc:
            log.warning("idempotency records unavailable: %r", exc)
            await unavailable_response("the database is unavailable; retry")(scope, receive, send)
            return
        if reservation.fingerprint is not None and reservation.fingerprint != fingerprint:
            response = problem_response(
                422,
                "idempotency-key-reused",
                "this Idempotency-Key was first used with a different method, path or body; "
                "use a new key for a new request",
            )
            await response(scope, receive, send)
            return
        if reservation.answer is not None:
            await self._replay(reservation.answer, send)
            return
        if not reservation.reserved:
            response = problem_response(
                409,
                "idempotency-key-in-use",
                "a request with this Idempotency-Key is still being processed; retry shortly",
                headers={"Retry-After": "1"},
            )
            await response(scope, receive, send)
            return
        await self._run_and_record(scope, receive, send, records, key)

    async def _replay(self, answer: StoredAnswer, send: Send) -> None:
        headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in answer.headers.items()]
        headers.append((b"idempotent-replayed", b"true"))
        headers.append((b"content-length", str(len(answer.body)).encode()))
        await send(
            {"type": "http.response.start", "status": answer.status_code, "headers": headers}
        )
        await send({"type": "http.response.body", "body": answer.body, "more_body": False})

    async def _run_and_record(
        self, scope: Scope, receive: Receive, send: Send, records: IdempotencyRecords, key: str
    ) -> None:
        status = 500
        headers: dict[str, str] = {}
        chunks: list[bytes] = []
        # An answer marked `Cache-Control: no-store` (one holding a secret shown once) is
        # not kept: a retry with the key runs the command again, which finds its events.
        keep = True

        async def capture(message: Message) -> None:
            nonlocal status, keep
            if message["type"] == "http.response.start":
                status = int(message["status"])
                for name, value in message.get("headers", []):
                    lowered = name.decode("latin-1").lower()
                    if lowered in REPLAYED_HEADERS:
                        headers[lowered] = value.decode("latin-1")
                    if lowered == "cache-control" and b"no-store" in value:
                        keep = False
            elif message["type"] == "http.response.body" and keep:
                chunks.append(message.get("body", b""))
            await send(message)

        completed = False
        try:
            await self.app(scope, receive, capture)
            completed = True
        finally:
            try:
                if completed and keep and status < 500 and status not in NOT_REPLAYABLE:
                    await records.complete(key, StoredAnswer(status, headers, b"".join(chunks)))
                else:
                    await records.release(key)
            except DATABASE_DOWN as exc:
                # The answer is sent; an unrecorded key only means a retry runs again.
                log.warning("idempotency key %r not recorded: %r", key, exc)
