"""The batch dispatcher's HTTP client: HTTP/1.1 keep-alive connections to replicas,
each answer read whole.

Who calls it: `lifespan` opens one for the dispatcher's `Forwarder` and closes it on
shutdown; `forwarding.Forwarder.call` sends every batch line through `send`.

Why not the interactive path's aiohttp session: a batch line is one POST whose answer
is JSON read to its end, never streamed and never relayed. aiohttp's request and
response machinery (timers, payload objects, header multidicts, stream readers) was
about half of lc-proxy's CPU per batch line (bench/RESULTS.md); here a request is one
write of bytes built in place and the answer is parsed by httptools (the C parser
uvicorn already uses for lc-proxy's own server) as it arrives.

Errors follow `upstream_client` (the same classes, so the forwarder's retry and
ejection rules apply unchanged):

    UpstreamConnectError   no connection could be made (nothing sent), or a kept-alive
                           connection closed before answering, twice in a row
    UpstreamTimeout        nothing arrived for the read timeout
    UpstreamBroken         the connection failed or the answer was not HTTP
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterator
from typing import Final, cast
from urllib.parse import urlsplit

import httptools

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

_Target = tuple[str, int, bytes, bytes]
"""host, port, request target (path and query), Host header value."""


class _Connection(asyncio.Protocol):
    """One connection; carries one request at a time."""

    def __init__(self, loop: asyncio.AbstractEventLoop, read_timeout_s: float) -> None:
        self._loop = loop
        self._read_timeout_s = read_timeout_s
        self._parser = httptools.HttpResponseParser(self)
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.keep_alive = False
        self.status = 0
        self.raw_headers: list[tuple[bytes, bytes]] = []
        self.body = bytearray()
        self.received = False
        self.complete = False
        self._length_known = False
        self._waiter: asyncio.Future[None] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._last_data = 0.0

    # -- asyncio.Protocol -------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not subclasses of asyncio.Transport; same interface.
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self.received = True
        self._last_data = self._loop.time()
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._end(UpstreamBroken(f"the replica's answer is not HTTP/1.1: {exc}"))
            self.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self._waiter is None or self._waiter.done():
            return
        if self.status and not self._length_known:
            self._end(None)  # an answer without a length ends with its connection
        else:
            reason = str(exc) if exc else "the replica closed the connection"
            self._end(UpstreamBroken(reason))

    # -- httptools callbacks ----------------------------------------------------------

    def on_header(self, name: bytes, value: bytes) -> None:
        self.raw_headers.append((name, value))
        lowered = name.lower()
        if lowered == b"content-length" or (
            lowered == b"transfer-encoding" and b"chunked" in value.lower()
        ):
            self._length_known = True

    def on_headers_complete(self) -> None:
        self.status = self._parser.get_status_code()
        self.keep_alive = self._parser.should_keep_alive()

    def on_body(self, body: bytes) -> None:
        self.body += body

    def on_message_complete(self) -> None:
        self._end(None)

    # -- one exchange -----------------------------------------------------------------

    async def exchange(self, request: bytes) -> None:
        """Send `request`; return once its whole answer arrived."""
        assert self.transport is not None
        self.status = 0
        self.raw_headers = []
        self.body = bytearray()
        self.received = False
        self.complete = False
        self._length_known = False
        self._waiter = self._loop.create_future()
        self._last_data = self._loop.time()
        self._timer = self._loop.call_at(self._last_data + self._read_timeout_s, self._check)
        try:
            self.transport.write(request)
            await self._waiter
        except BaseException:
            if not self.complete:
                self.close()  # half an exchange: the connection is not reused
            raise
        finally:
            self._timer.cancel()
            self._waiter = None

    def _check(self) -> None:
        """The read timeout: nothing arrived for `read_timeout_s`."""
        deadline = self._last_data + self._read_timeout_s
        if self._loop.time() < deadline:
            self._timer = self._loop.call_at(deadline, self._check)
            return
        self._end(UpstreamTimeout(f"no data within {self._read_timeout_s:g} s"))
        self.close()

    def _end(self, error: UpstreamError | None) -> None:
        waiter = self._waiter
        if waiter is None or waiter.done():
            return
        if error is None:
            self.complete = True
            waiter.set_result(None)
        else:
            waiter.set_exception(error)

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()


class _Answer:
    """A whole answer, as the forwarder reads it (`UpstreamResponse`)."""

    __slots__ = ("_body", "_connection", "_pool", "content_type", "headers", "status")

    def __init__(self, connection: _Connection, pool: deque[_Connection]) -> None:
        self._connection = connection
        self._pool = pool
        self._body = bytes(connection.body)
        self.status = connection.status
        self.headers = _filter_headers(connection.raw_headers)
        self.content_type = ""
        for name, value in self.headers:
            if name == b"content-type":
                self.content_type = value.decode("latin-1")

    async def read(self) -> bytes:
        return self._body

    async def chunks(self) -> AsyncIterator[bytes]:
        yield self._body

    async def close(self, *, reusable: bool) -> None:
        connection = self._connection
        if (
            not reusable
            or connection.closed
            or not connection.keep_alive
            or len(self._pool) >= MAX_IDLE
        ):
            connection.close()
        else:
            self._pool.append(connection)


class BatchUpstreamClient:
    """`UpstreamClient` for answers read whole, over kept-alive HTTP/1.1 connections."""

    def __init__(
        self, *, connect_timeout_s: float, read_timeout_s: float, fallback: UpstreamClient
    ) -> None:
        self._connect_timeout_s = connect_timeout_s
        self._fallback = fallback
        """For replicas this client does not speak to (https://)."""
        self._read_timeout_s = read_timeout_s
        self._targets: dict[str, _Target] = {}
        self._idle: dict[tuple[str, int], deque[_Connection]] = {}
        self._closed = False

    async def send(self, url: str, headers: list[tuple[str, str]], body: bytes) -> UpstreamResponse:
        found = self._target(url)
        if found is None:
            return await self._fallback.send(url, headers, body)
        host, port, target, host_header = found
        head = [b"POST ", target, b" HTTP/1.1\r\nhost: ", host_header, b"\r\n"]
        for name, value in headers:
            head += (name.encode("latin-1"), b": ", value.encode("latin-1"), b"\r\n")
        head += (b"content-length: ", str(len(body)).encode(), b"\r\n\r\n", body)
        request = b"".join(head)
        pool = self._idle.setdefault((host, port), deque())
        for _ in range(2):
            connection, reused = await self._connection(pool, host, port)
            try:
                await connection.exchange(request)
            except UpstreamBroken as exc:
                if reused and not connection.received:
                    # The replica closed a kept-alive connection as this request went
                    # out: sent again once on a fresh connection.
                    continue
                raise exc from None
            return _Answer(connection, pool)
        raise UpstreamConnectError("kept-alive connections closed before answering")

    async def _connection(
        self, pool: deque[_Connection], host: str, port: int
    ) -> tuple[_Connection, bool]:
        while pool:
            connection = pool.pop()
            if not connection.closed:
                return connection, True
        if self._closed:
            raise UpstreamConnectError("the client is closed")
        loop = asyncio.get_running_loop()
        started = time.monotonic()
        try:
            _, connection = await asyncio.wait_for(
                loop.create_connection(lambda: _Connection(loop, self._read_timeout_s), host, port),
                self._connect_timeout_s,
            )
        except TimeoutError:
            waited = time.monotonic() - started
            raise UpstreamConnectError(f"connect timeout after {waited:.1f} s") from None
        except OSError as exc:
            raise UpstreamConnectError(str(exc) or type(exc).__name__) from exc
        return connection, False

    def _target(self, url: str) -> _Target | None:
        found = self._targets.get(url)
        if found is None:
            parts = urlsplit(url)
            if parts.scheme != "http" or not parts.hostname:
                return None
            port = parts.port or 80
            path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
            host_header = parts.netloc.rsplit("@", 1)[-1]
            found = (parts.hostname, port, path.encode(), host_header.encode("idna"))
            if len(self._targets) < 4096:
                self._targets[url] = found
        return found

    async def aclose(self) -> None:
        self._closed = True
        for pool in self._idle.values():
            while pool:
                pool.pop().close()
