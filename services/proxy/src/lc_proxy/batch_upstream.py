"""The batch dispatcher's HTTP client: HTTP/1.1 keep-alive connections to replicas,
each answer read whole (`lc_http1`).

Who calls it: `lifespan` opens one for the dispatcher's `Forwarder` and closes it on
shutdown; `forwarding.Forwarder.call` sends every batch line through `send`.

Why not the interactive path's aiohttp session: a batch line is one POST whose answer
is JSON read to its end, never streamed and never relayed. aiohttp's request and
response machinery (timers, payload objects, header multidicts, stream readers) was
about half of lc-proxy's CPU per batch line (bench/RESULTS.md); `lc_http1` writes a
request as one buffer and parses the answer with httptools as it arrives.

Errors follow `upstream_client` (the same classes, so the forwarder's retry and
ejection rules apply unchanged):

    UpstreamConnectError   no connection could be made (nothing sent), or a kept-alive
                           connection closed before answering, twice in a row
    UpstreamTimeout        nothing arrived for the read timeout
    UpstreamBroken         the connection failed or the answer was not HTTP
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Final

from lc_http1 import Answer, ConnectFailed, ConnectionBroken, Http1Client, Http1Error, ReadTimeout
from lc_proxy.upstream_client import (
    UpstreamBroken,
    UpstreamClient,
    UpstreamConnectError,
    UpstreamError,
    UpstreamResponse,
    UpstreamTimeout,
    _filter_headers,
)

# Idle connections kept per replica: about the most batch requests one has in flight.
MAX_IDLE: Final = 256
# A replica's idle connection is kept as long as the replica keeps it.
IDLE_TIMEOUT_S: Final = float("inf")

_ERRORS: Final[dict[type[Http1Error], type[UpstreamError]]] = {
    ConnectFailed: UpstreamConnectError,
    ReadTimeout: UpstreamTimeout,
    ConnectionBroken: UpstreamBroken,
}


class _Answer:
    """A whole answer, as the forwarder reads it (`UpstreamResponse`)."""

    __slots__ = ("_answer", "content_type", "headers", "status")

    def __init__(self, answer: Answer) -> None:
        self._answer = answer
        self.status = answer.status
        self.headers = _filter_headers(answer.raw_headers)
        self.content_type = ""
        for name, value in self.headers:
            if name == b"content-type":
                self.content_type = value.decode("latin-1")

    async def read(self) -> bytes:
        return self._answer.body

    async def chunks(self) -> AsyncIterator[bytes]:
        yield self._answer.body

    async def close(self, *, reusable: bool) -> None:
        self._answer.release(reusable=reusable)


class BatchUpstreamClient:
    """`UpstreamClient` for answers read whole, over kept-alive HTTP/1.1 connections."""

    def __init__(
        self, *, connect_timeout_s: float, read_timeout_s: float, fallback: UpstreamClient
    ) -> None:
        self._client = Http1Client(
            connect_timeout_s=connect_timeout_s,
            read_timeout_s=read_timeout_s,
            max_idle=MAX_IDLE,
            idle_timeout_s=IDLE_TIMEOUT_S,
        )
        self._fallback = fallback
        """For replicas this client does not speak to (https://)."""

    async def send(self, url: str, headers: list[tuple[str, str]], body: bytes) -> UpstreamResponse:
        if not url.startswith("http://"):
            return await self._fallback.send(url, headers, body)
        try:
            answer = await self._client.post(url, headers, body)
        except Http1Error as exc:
            raise _ERRORS[type(exc)](str(exc)) from None
        return _Answer(answer)

    async def aclose(self) -> None:
        await self._client.aclose()
