"""An ASGI reverse proxy over replicas of one HTTP service: what `lc up --ha`'s gateway
mounts at `/api` (two lcd) and `/v1` (two lc-proxy), as a cluster's Service would.

Round robin; a replica that refuses the connection is skipped and the next one is tried,
which is safe for any method because nothing was sent. Once a request reached a replica
its answer is relayed as it streams (server-sent events included); if the replica dies
mid-answer the client's connection breaks, as it would behind a cluster's load balancer,
and its retry lands on another replica; a request whose replica died before it answered
gets 502 (its outcome is unknown, so it is not sent again). A refused replica is passed over for
`EJECT_S` seconds so the next requests do not pay its connection attempt.

Callers: `lc_local.ha_stack`.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Final

import httpx
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.types import Receive, Scope, Send

EJECT_S: Final = 2.0
# Hop-by-hop headers (RFC 9110 §7.6.1) are the proxy's own; the rest passes through.
_HOP_BY_HOP: Final = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)


@dataclass
class BalancedUpstreams:
    """Replicas of one service at `urls`, tried in turn."""

    urls: Sequence[str]
    openai_errors: bool = False
    """Answer "no replica" in OpenAI's error shape (`/v1`) instead of problem+json."""
    timeout_s: float = 300.0
    _turn: itertools.count[int] = field(default_factory=itertools.count, init=False)
    _ejected_until: dict[str, float] = field(default_factory=dict, init=False)
    _client: httpx.AsyncClient | None = field(default=None, init=False)

    def order(self, now: float) -> list[str]:
        """This request's replicas: round robin, ejected ones last."""
        start = next(self._turn) % len(self.urls)
        turn = [*self.urls[start:], *self.urls[:start]]
        return sorted(turn, key=lambda url: self._ejected_until.get(url, 0.0) > now)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            return await self._lifespan(receive, send)
        if scope["type"] != "http":
            return None
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=httpx.Timeout(self.timeout_s, connect=2.0))
        request = Request(scope, receive)
        body = await request.body()
        headers = [
            (name, value)
            for name, value in request.headers.raw
            if name.decode().lower() not in _HOP_BY_HOP
        ]
        target = scope["raw_path"].decode() if scope.get("raw_path") else scope["path"]
        if scope.get("query_string"):
            target += "?" + scope["query_string"].decode()
        for url in self.order(time.monotonic()):
            outbound = self._client.build_request(
                request.method, url + target, headers=headers, content=body
            )
            try:
                answer = await self._client.send(outbound, stream=True)
            except httpx.ConnectError:
                self._ejected_until[url] = time.monotonic() + EJECT_S
                continue
            except httpx.TransportError:
                # Sent, and the replica went away before answering: what it did is unknown,
                # so the request is not sent again (it may not be idempotent).
                return await _unknown_outcome(self.openai_errors)(scope, receive, send)
            self._ejected_until.pop(url, None)
            response = StreamingResponse(
                _relay(answer),
                status_code=answer.status_code,
                headers={
                    k: v
                    for k, v in answer.headers.items()
                    if k.lower() not in _HOP_BY_HOP | {"content-length"}
                },
                background=BackgroundTask(answer.aclose),
            )
            await response(scope, receive, send)
            return
        await _no_replica(self.openai_errors)(scope, receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self._client is not None:
                    await self._client.aclose()
                    self._client = None
                await send({"type": "lifespan.shutdown.complete"})
                return


async def _relay(answer: httpx.Response) -> AsyncIterator[bytes]:
    async for chunk in answer.aiter_raw():
        yield chunk


def _no_replica(openai: bool) -> Response:
    return _error(503, "no replica of this service accepted the connection; retry shortly", openai)


def _unknown_outcome(openai: bool) -> Response:
    return _error(
        502,
        "the replica went away before it answered; the request may or may not have taken "
        "effect: retry it with the same Idempotency-Key",
        openai,
    )


def _error(status: int, detail: str, openai: bool) -> Response:
    if openai:
        body: dict[str, object] = {
            "error": {"message": detail, "type": "server_error", "param": None, "code": None}
        }
        media_type = "application/json"
    else:
        title = "Service Unavailable" if status == 503 else "Bad Gateway"
        body = {"type": "about:blank", "title": title, "status": status, "detail": detail}
        media_type = "application/problem+json"
    return JSONResponse(
        body, status_code=status, headers={"Retry-After": "1"}, media_type=media_type
    )
