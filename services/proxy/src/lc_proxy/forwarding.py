"""Send one routed request to a replica and relay its answer to the ASGI client.

Who calls it: the ASGI app (`app.ProxyApp`) for every POST that names a model, after the
body was read and inspected (`forward`); the batch dispatcher for each batch line, whose
answer is read whole and relayed to nobody (`call`). It owns the resilience rules of a
single call:

- least-outstanding routing through `routing.route`, counting the call as outstanding
  until its answer was relayed or abandoned;
- a connect failure (nothing sent yet) is retried once, on another replica when there
  is one; a read timeout before the response headers is a 504; a replica answering 5xx,
  timing out or breaking counts towards its ejection;
- SSE answers are relayed chunk by chunk as they arrive, never buffered; a replica that
  fails mid-stream ends the stream with an OpenAI-shaped error event;
- cancellation (the client went away) closes the upstream connection at once, so the
  replica sees its client leave and stops generating.

Token counts are read from the replica's `usage` (JSON answers, and the usage chunk of
a stream when the client asked for `stream_options.include_usage`).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from lc_contracts.specs import Endpoint
from lc_proxy import openai_errors
from lc_proxy.metrics import RequestMetrics
from lc_proxy.openai_errors import ProxyError
from lc_proxy.routing import (
    EndpointNotEnabled,
    ModelNotFound,
    ReplicaState,
    RoutingTable,
    route,
)
from lc_proxy.upstream_client import (
    UpstreamBroken,
    UpstreamClient,
    UpstreamConnectError,
    UpstreamResponse,
    UpstreamTimeout,
)

Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

CONNECT_ATTEMPTS = 2
# A usage chunk is small; a buffer past this size is not SSE we can read usage from.
_MAX_SSE_TAIL = 1 << 20


@dataclass
class Exchange:
    """What happened to one request; filled in as it goes, read by metrics and the log."""

    request_id: str
    started: float
    model: str = ""
    status: int = 0
    replica: str | None = None
    retries: int = 0
    ttft_s: float | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    stream_error: bool = False
    client_gone: bool = False
    response_done: bool = False
    """Set just before the last byte is handed to the server: a disconnect seen after
    this is the normal end of the exchange, not an abort."""
    extra_headers: list[tuple[bytes, bytes]] = field(default_factory=list)


@dataclass
class _Answer:
    response: UpstreamResponse
    replica: ReplicaState
    completed: bool = False


@dataclass
class Forwarder:
    table: RoutingTable
    client: UpstreamClient
    metrics: RequestMetrics
    read_timeout_s: float
    clock: Callable[[], float] = time.monotonic

    async def forward(
        self,
        exchange: Exchange,
        *,
        endpoint: Endpoint | None,
        path: str,
        headers: list[tuple[str, str]],
        body: bytes,
        read_usage_from_stream: bool,
        send: Send,
    ) -> None:
        async with self._answer(exchange, endpoint, path, headers, body) as answer:
            response, replica = answer.response, answer.replica
            out_headers = response.headers + exchange.extra_headers
            if response.content_type.startswith("text/event-stream"):
                answer.completed = await self._relay_stream(
                    exchange, replica, response, out_headers, read_usage_from_stream, send
                )
            else:
                answer.completed = await self._relay_body(
                    exchange, replica, response, out_headers, send
                )

    async def call(
        self,
        exchange: Exchange,
        *,
        endpoint: Endpoint,
        path: str,
        headers: list[tuple[str, str]],
        body: bytes,
    ) -> bytes:
        """Send one request and read its whole answer, leaving the status in
        `exchange.status`: the batch dispatcher's calls, which nobody streams or relays.
        Same routing, connect retries and ejection as `forward`, without the ASGI
        messages, the response headers or a second parse for usage."""
        async with self._answer(exchange, endpoint, path, headers, body) as answer:
            payload = await self._read(exchange, answer.replica, answer.response)
            answer.completed = True
            return payload

    @contextlib.asynccontextmanager
    async def _answer(
        self,
        exchange: Exchange,
        endpoint: Endpoint | None,
        path: str,
        headers: list[tuple[str, str]],
        body: bytes,
    ) -> AsyncIterator[_Answer]:
        """A replica's answer to the request, its status noted (5xx counts against the
        replica); on leaving, the replica's slot is released and the connection kept for
        reuse only if the caller read the answer whole (`completed`)."""
        response, replica = await self._connect(exchange, endpoint, path, headers, body)
        answer = _Answer(response, replica)
        try:
            exchange.status = response.status
            if response.status >= 500:
                self._failed(exchange.model, replica)
            else:
                self.table.record_success(replica)
            yield answer
        finally:
            self.table.release(replica)
            await response.close(reusable=answer.completed)

    async def _connect(
        self,
        exchange: Exchange,
        endpoint: Endpoint | None,
        path: str,
        headers: list[tuple[str, str]],
        body: bytes,
    ) -> tuple[UpstreamResponse, ReplicaState]:
        tried: list[ReplicaState] = []
        last_error = ""
        for attempt in range(CONNECT_ATTEMPTS):
            try:
                replica = route(self.table, exchange.model, endpoint, self.clock(), tried)
            except ModelNotFound:
                raise openai_errors.model_not_found(exchange.model) from None
            except EndpointNotEnabled as exc:
                raise openai_errors.endpoint_not_enabled(
                    exchange.model, exc.endpoint.path
                ) from None
            exchange.replica = replica.name
            if attempt:
                exchange.retries += 1
                self.metrics.retried(exchange.model)
            try:
                response = await self.client.send(replica.url + path, headers, body)
            except UpstreamConnectError as exc:
                self.table.release(replica)
                self._failed(exchange.model, replica)
                tried.append(replica)
                last_error = str(exc)
                continue
            except UpstreamTimeout:
                self.table.release(replica)
                self._failed(exchange.model, replica)
                raise openai_errors.upstream_timeout(exchange.model, self.read_timeout_s) from None
            except UpstreamBroken as exc:
                self.table.release(replica)
                self._failed(exchange.model, replica)
                raise openai_errors.upstream_unavailable(exchange.model, str(exc)) from None
            except BaseException:
                self.table.release(replica)
                raise
            return response, replica
        raise openai_errors.upstream_unavailable(exchange.model, last_error)

    def _failed(self, model: str, replica: ReplicaState) -> None:
        if self.table.record_failure(replica, self.clock()):
            self.metrics.ejected(model)

    async def _relay_body(
        self,
        exchange: Exchange,
        replica: ReplicaState,
        response: UpstreamResponse,
        headers: list[tuple[bytes, bytes]],
        send: Send,
    ) -> bool:
        payload = await self._read(exchange, replica, response)
        if response.status == 200 and b'"usage"' in payload:
            self._count_usage_json(exchange, payload)
        headers.append((b"content-length", str(len(payload)).encode()))
        await send({"type": "http.response.start", "status": response.status, "headers": headers})
        exchange.response_done = True
        await send({"type": "http.response.body", "body": payload})
        return True

    async def _read(
        self, exchange: Exchange, replica: ReplicaState, response: UpstreamResponse
    ) -> bytes:
        try:
            return await response.read()
        except UpstreamTimeout:
            self._failed(exchange.model, replica)
            raise openai_errors.upstream_timeout(exchange.model, self.read_timeout_s) from None
        except UpstreamBroken as exc:
            self._failed(exchange.model, replica)
            raise openai_errors.upstream_unavailable(exchange.model, str(exc)) from None

    async def _relay_stream(
        self,
        exchange: Exchange,
        replica: ReplicaState,
        response: UpstreamResponse,
        headers: list[tuple[bytes, bytes]],
        read_usage: bool,
        send: Send,
    ) -> bool:
        await send({"type": "http.response.start", "status": response.status, "headers": headers})
        scanner = _UsageScanner(exchange) if read_usage else None
        completed = False
        try:
            async for chunk in response.chunks():
                if exchange.ttft_s is None:
                    exchange.ttft_s = time.perf_counter() - exchange.started
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
                if scanner is not None:
                    scanner.feed(chunk)
            completed = True
        except (UpstreamTimeout, UpstreamBroken) as exc:
            self._failed(exchange.model, replica)
            exchange.stream_error = True
            detail = (
                "no data within the read timeout" if isinstance(exc, UpstreamTimeout) else str(exc)
            )
            error = openai_errors.stream_interrupted(exchange.model, detail)
            await send({"type": "http.response.body", "body": error.sse_event(), "more_body": True})
        exchange.response_done = True
        await send({"type": "http.response.body", "body": b""})
        return completed

    @staticmethod
    def _count_usage_json(exchange: Exchange, payload: bytes) -> None:
        try:
            usage = orjson.loads(payload).get("usage")
        except (orjson.JSONDecodeError, AttributeError):
            return
        _take_usage(exchange, usage)


def _take_usage(exchange: Exchange, usage: object) -> None:
    if isinstance(usage, dict):
        prompt = usage.get("prompt_tokens")
        completion = usage.get("completion_tokens")
        if isinstance(prompt, int):
            exchange.prompt_tokens = prompt
        if isinstance(completion, int):
            exchange.completion_tokens = completion


class _UsageScanner:
    """Finds the `usage` object in an SSE stream without holding more than one event."""

    __slots__ = ("_exchange", "_tail")

    def __init__(self, exchange: Exchange) -> None:
        self._exchange = exchange
        self._tail = b""

    def feed(self, chunk: bytes) -> None:
        data = self._tail + chunk if self._tail else chunk
        end = data.rfind(b"\n\n")
        if end < 0:
            self._tail = data if len(data) < _MAX_SSE_TAIL else b""
            return
        self._tail = data[end + 2 :]
        complete = data[:end]
        if b'"prompt_tokens"' not in complete:
            return
        for event in complete.split(b"\n\n"):
            if b'"prompt_tokens"' not in event:
                continue
            for line in event.split(b"\n"):
                if line.startswith(b"data:"):
                    try:
                        parsed = orjson.loads(line[5:])
                    except orjson.JSONDecodeError:
                        continue
                    if isinstance(parsed, dict):
                        _take_usage(self._exchange, parsed.get("usage"))


def error_response(
    error: ProxyError, extra_headers: list[tuple[bytes, bytes]]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The two ASGI messages of an error answer."""
    body = error.body()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        *extra_headers,
    ]
    return (
        {"type": "http.response.start", "status": error.status, "headers": headers},
        {"type": "http.response.body", "body": body},
    )
