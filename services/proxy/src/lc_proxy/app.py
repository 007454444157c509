"""The lc-proxy ASGI application: OpenAI's `/v1` surface routed by the `model` field.

Who calls it: `create_app(settings)` is called by `main` (the `lc-proxy` console script,
under uvicorn), by `lc up` (which serves it at `/v1` beside the API on one port) and by
tests and benchmarks. Nothing is created at import time; the NATS connection, the
upstream HTTP client and the background tasks open in `ProxyApp.running()`, which the
ASGI lifespan protocol enters (both live in `lc_proxy.lifespan`). A host app that mounts this one (Starlette does not pass
lifespan events to mounted apps) enters `running()` from its own lifespan.

Routes (raw ASGI, no framework on the hot path):
- `GET /v1/models`, `GET /v1/models/{model}`: Ready models only;
- `POST /v1/chat/completions`, `/v1/completions`, `/v1/embeddings`, and any other
  `POST /v1/...` whose JSON or multipart body names a `model` (passed through as is);
- `GET /metrics` (Prometheus), `GET /healthz` (200 once the routing table is loaded).

With API keys configured (`lc_proxy.api_keys`), every route but `/healthz` first needs
one: 401 `invalid_api_key` otherwise, before anything else is looked at.

Paths are read from the full path, or from `root_path + path` when a host app strips
its mount prefix. Every answer carries `X-Request-Id` (the client's, or a new one, also
forwarded to the replica); every error is OpenAI-shaped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Awaitable, Callable, MutableMapping
from datetime import UTC, datetime
from typing import Any, Final

import orjson
from nats.aio.client import Client as NatsClient

from lc_contracts.specs import ENDPOINT_PATHS, Endpoint
from lc_proxy import lifespan, openai_errors
from lc_proxy.batch_api import BatchApi
from lc_proxy.batch_pacing import BatchPacing, PacingByModel
from lc_proxy.batch_upload import ClientGone
from lc_proxy.forwarding import Exchange, Forwarder, error_response
from lc_proxy.metrics import CONTENT_TYPE, RequestMetrics
from lc_proxy.openai_errors import ProxyError
from lc_proxy.request_body import inspect_body
from lc_proxy.request_checks import refusal
from lc_proxy.routing import RoutingTable
from lc_proxy.settings import ProxySettings
from lc_proxy.upstream_client import HOP_BY_HOP

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

ENDPOINT_BY_PATH: Final = {path: endpoint for endpoint, path in ENDPOINT_PATHS.items()}
# Request headers the replica must not see: hop-by-hop ones, the platform's credentials,
# and Accept-Encoding (the proxy reads `usage` from the answers, so it asks for identity).
_DROPPED_REQUEST_HEADERS: Final = HOP_BY_HOP | {
    b"authorization",
    b"cookie",
    b"accept-encoding",
    b"x-request-id",
}
_JSON: Final = (b"content-type", b"application/json")
DISCONNECT_WATCH_AFTER_S: Final = 0.05

access_log = logging.getLogger("lc_proxy.access")
log = logging.getLogger("lc_proxy")


class _ClientGone(Exception):
    """The client disconnected before its request body arrived."""


class ProxyApp:
    """The ASGI callable. Attributes are public for the hosts and tests that embed it."""

    def __init__(self, settings: ProxySettings) -> None:
        self.settings = settings
        self.api_keys = settings.api_keys()
        self.allowed_hosts = settings.allowed_host_names()
        self.table = RoutingTable(
            eject_after=settings.proxy_eject_after_failures,
            cooldown_s=settings.proxy_eject_cooldown_s,
        )
        self.metrics = RequestMetrics()
        self.bootstrapped = asyncio.Event()
        self.started_at = datetime.now(UTC)
        self._forwarder: Forwarder | None = None
        self._nats: NatsClient | None = None
        self.batches: BatchApi | None = None
        """The Files and Batch APIs, once their storage is open (`lifespan`)."""
        self.interactive_started: dict[str, float] = {}
        """When the last interactive request for each model started: batches yield."""
        self.batch_pacing = PacingByModel(
            BatchPacing(
                tolerance=settings.proxy_batch_slowdown_tolerance,
                grow_per_s=1.0 / settings.proxy_batch_regrow_s,
            )
        )
        """How interactive requests fare: batches back off further while they slow."""

    # -- lifecycle (`lc_proxy.lifespan`) ----------------------------------------------

    def running(self) -> contextlib.AbstractAsyncContextManager[ProxyApp]:
        """Connect to NATS and the replicas, follow LC_STATUS, publish usage; undo on exit."""
        return lifespan.running(self)

    def attach(self, forwarder: Forwarder, nats_client: NatsClient) -> None:
        """Start forwarding: called by `lifespan.running` once everything is connected."""
        self._forwarder = forwarder
        self._nats = nats_client

    def detach(self) -> None:
        self._forwarder = None
        self._nats = None

    def attach_batches(self, api: BatchApi | None) -> None:
        self.batches = api

    # -- ASGI ------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            await self._http(scope, receive, send)
        elif kind == "lifespan":
            await lifespan.serve(self, receive, send)

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (refused := refusal(scope, self.allowed_hosts)) is not None:
            return await self._answer_error(send, refused, scope)
        path: str = scope["path"]
        if not path.startswith(("/v1/", "/metrics", "/healthz")):
            path = scope.get("root_path", "") + path
        if (
            self.api_keys.required
            and path != "/healthz"
            and not self.api_keys.allows(_header(scope, b"authorization"))
        ):
            await self._answer_error(send, openai_errors.invalid_api_key(), scope)
            return
        method: str = scope["method"]
        if path.startswith(("/v1/files", "/v1/batches")) and _is_batch_path(path):
            await self._batch_api(scope, path, receive, send)
        elif path.startswith("/v1/"):
            if method == "POST":
                await self._post(scope, path, receive, send)
            elif method in ("GET", "HEAD"):
                await self._get_v1(path, scope, send)
            else:
                await self._answer_error(
                    send, openai_errors.method_not_allowed(method, path), scope
                )
        elif path == "/metrics" and method == "GET":
            await _answer(send, 200, self.metrics.render(), CONTENT_TYPE.encode())
        elif path == "/healthz" and method == "GET":
            ready = self.bootstrapped.is_set() and self._forwarder is not None
            body = orjson.dumps(
                {"status": "ok" if ready else "starting", "models": len(self.table.models())}
            )
            await _answer(send, 200 if ready else 503, body, b"application/json")
        else:
            await self._answer_error(send, openai_errors.unknown_url(method, path), scope)

    async def _batch_api(self, scope: Scope, path: str, receive: Receive, send: Send) -> None:
        if self.batches is None:
            return await self._answer_error(send, openai_errors.not_ready(), scope)
        try:
            await self.batches.handle(scope, path, receive, send)
        except ProxyError as error:
            await self._answer_error(send, error, scope)
        except ClientGone:
            pass

    async def _answer_error(self, send: Send, error: ProxyError, scope: Scope) -> None:
        start, body = error_response(error, [(b"x-request-id", _request_id(scope).encode())])
        await send(start)
        await send(body)

    # -- GET /v1/models --------------------------------------------------------------

    async def _get_v1(self, path: str, scope: Scope, send: Send) -> None:
        if path == "/v1/models":
            data = [_model_card(m.model, m.created, m.owners) for m in self.table.models()]
            body = orjson.dumps({"object": "list", "data": data})
            await _answer(send, 200, body, _JSON[1], _request_id(scope))
            return
        if path.startswith("/v1/models/") and len(path) > len("/v1/models/"):
            model = path[len("/v1/models/") :]
            entry = self.table.get(model)
            if entry is None:
                await self._answer_error(send, openai_errors.model_not_found(model), scope)
                return
            card = _model_card(entry.model, entry.created, entry.owners)
            await _answer(send, 200, orjson.dumps(card), _JSON[1], _request_id(scope))
            return
        await self._answer_error(send, openai_errors.unknown_url(scope["method"], path), scope)

    # -- POST /v1/... ----------------------------------------------------------------

    async def _post(self, scope: Scope, path: str, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        content_type = ""
        declared_length: int | None = None
        request_id = ""
        forwarded: list[tuple[str, str]] = []
        for key, value in scope["headers"]:
            if key == b"content-type":
                content_type = value.decode("latin-1")
            elif key == b"content-length":
                with contextlib.suppress(ValueError):
                    declared_length = int(value)
            elif key == b"x-request-id":
                request_id = value.decode("latin-1")[:200]
            if key not in _DROPPED_REQUEST_HEADERS:
                forwarded.append((key.decode("latin-1"), value.decode("latin-1")))
        if not request_id:
            request_id = _new_request_id()
        forwarded.append(("x-request-id", request_id))
        forwarded.append(("accept-encoding", "identity"))
        endpoint = ENDPOINT_BY_PATH.get(path)
        exchange = Exchange(request_id=request_id, started=started)
        exchange.extra_headers.append((b"x-request-id", request_id.encode()))
        routed = False
        self.metrics.in_flight += 1
        try:
            body = await _read_body(receive, self.settings.proxy_max_body_bytes, declared_length)
            facts = inspect_body(content_type, body)
            exchange.model = facts.model
            self.interactive_started[facts.model] = time.monotonic()
            routed = self.table.get(facts.model) is not None
            forwarder = self._forwarder
            if forwarder is None or (not routed and not self.bootstrapped.is_set()):
                raise openai_errors.not_ready()
            target = path
            if scope.get("query_string"):
                target = f"{path}?{scope['query_string'].decode('latin-1')}"
            await self._forward_until_disconnect(
                forwarder,
                exchange,
                endpoint,
                target,
                forwarded,
                body,
                facts.include_usage,
                receive,
                send,
            )
        except ProxyError as error:
            exchange.status = error.status
            start, body_message = error_response(error, exchange.extra_headers)
            await send(start)
            await send(body_message)
        except _ClientGone:
            exchange.client_gone = True
        finally:
            self.metrics.in_flight -= 1
            self._finished(exchange, endpoint, path, routed)

    async def _forward_until_disconnect(
        self,
        forwarder: Forwarder,
        exchange: Exchange,
        endpoint: Endpoint | None,
        target: str,
        headers: list[tuple[str, str]],
        body: bytes,
        read_usage_from_stream: bool,
        receive: Receive,
        send: Send,
    ) -> None:
        """Forward, cancelling the upstream call as soon as the client disconnects.

        Only `receive()` tells an ASGI app that its client left, so a task must wait on
        it. That task costs more than a short request itself, so it is armed by a timer
        after DISCONNECT_WATCH_AFTER_S: answers faster than that never need cancelling,
        and a client that left earlier is seen at once when the watcher starts.
        """
        task = asyncio.current_task()
        assert task is not None
        loop = asyncio.get_running_loop()
        watcher: asyncio.Task[None] | None = None

        async def watch() -> None:
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    if not exchange.response_done:
                        exchange.client_gone = True
                        task.cancel()
                    return

        def arm() -> None:
            nonlocal watcher
            watcher = loop.create_task(watch())

        timer = loop.call_later(DISCONNECT_WATCH_AFTER_S, arm)
        try:
            await forwarder.forward(
                exchange,
                endpoint=endpoint,
                path=target,
                headers=headers,
                body=body,
                read_usage_from_stream=read_usage_from_stream,
                send=send,
            )
        except asyncio.CancelledError:
            if exchange.client_gone and task.uncancel() == 0:
                return
            raise
        finally:
            timer.cancel()
            if watcher is not None:
                watcher.cancel()

    def _paced(self, exchange: Exchange, endpoint: str, duration: float) -> None:
        """Tell the batches' pacing how long an answered interactive request took, each
        endpoint and way of answering compared with its own best (an embedding has no
        completion tokens; a stream's first byte is not a whole answer)."""
        if exchange.ttft_s is not None:
            kind, seconds = f"{endpoint} first byte", exchange.ttft_s
        else:
            per = max(1, exchange.completion_tokens)
            kind, seconds = f"{endpoint} per token", duration / per
        self.batch_pacing.observe(exchange.model, time.monotonic(), kind, seconds)

    def _finished(
        self, exchange: Exchange, endpoint: Endpoint | None, path: str, routed: bool
    ) -> None:
        duration = time.perf_counter() - exchange.started
        if exchange.client_gone:
            # 499: the client closed the request (nginx's convention); not a server error.
            exchange.status = 499
        endpoint_label = endpoint.value if endpoint is not None else "other"
        if routed and 200 <= exchange.status < 300 and not exchange.client_gone:
            self._paced(exchange, endpoint_label, duration)
        if exchange.model:
            self.metrics.finished(
                exchange.model,
                endpoint_label,
                exchange.status,
                duration,
                routed=routed,
                ttft_s=exchange.ttft_s,
                prompt_tokens=exchange.prompt_tokens,
                completion_tokens=exchange.completion_tokens,
                stream_error=exchange.stream_error,
            )
        if self.settings.proxy_access_log and access_log.isEnabledFor(logging.INFO):
            access_log.info(
                "request",
                extra={
                    "fields": {
                        "request_id": exchange.request_id,
                        "method": "POST",
                        "path": path,
                        "model": exchange.model or None,
                        "status": exchange.status,
                        "duration_ms": round(duration * 1000.0, 3),
                        "ttft_ms": None
                        if exchange.ttft_s is None
                        else round(exchange.ttft_s * 1000.0, 3),
                        "replica": exchange.replica,
                        "retries": exchange.retries,
                        "prompt_tokens": exchange.prompt_tokens,
                        "completion_tokens": exchange.completion_tokens,
                        "stream_error": exchange.stream_error,
                    }
                },
            )


def create_app(settings: ProxySettings) -> ProxyApp:
    """The lc-proxy ASGI app for `settings`; nothing connects until its lifespan starts."""
    return ProxyApp(settings)


async def _read_body(receive: Receive, limit: int, declared: int | None) -> bytes:
    if declared is not None and declared > limit:
        raise openai_errors.body_too_large(limit)
    first = await receive()
    if first["type"] == "http.disconnect":
        raise _ClientGone
    body: bytes = first.get("body", b"")
    if not first.get("more_body", False):
        if len(body) > limit:
            raise openai_errors.body_too_large(limit)
        return body
    parts = [body]
    size = len(body)
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise _ClientGone
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise openai_errors.body_too_large(limit)
        parts.append(chunk)
        if not message.get("more_body", False):
            return b"".join(parts)


def _is_batch_path(path: str) -> bool:
    return path.split("/", 3)[2] in ("files", "batches")


def _new_request_id() -> str:
    # A correlation id, not a secret: the PRNG is ample and skips a syscall per request.
    return f"{random.getrandbits(128):032x}"


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value)
    return None


def _request_id(scope: Scope) -> str:
    value = _header(scope, b"x-request-id")
    return value.decode("latin-1")[:200] if value is not None else _new_request_id()


def _model_card(model: str, created: int, owners: tuple[str, ...]) -> dict[str, Any]:
    owner = owners[0].split("/", 1)[0] if owners else "liquidcompute"
    return {"id": model, "object": "model", "created": created, "owned_by": owner}


async def _answer(
    send: Send, status: int, body: bytes, content_type: bytes, request_id: str | None = None
) -> None:
    headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]
    if request_id is not None:
        headers.append((b"x-request-id", request_id.encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
