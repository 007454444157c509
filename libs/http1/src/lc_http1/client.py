"""An HTTP/1.1 client for POSTs whose answers are read whole (or cut at a size): kept-alive
connections per origin, each request one write of bytes built in place, each answer parsed
by httptools (the C parser uvicorn uses) as it arrives.

Who calls it: lc-proxy's batch dispatcher (`lc_proxy.batch_upstream`) for batch lines,
lc-webhooks (`lc_webhooks.checked_client`) for deliveries. Both measured aiohttp's request
and response machinery (timers, payload objects, header multidicts, stream readers) as
their largest cost per request (bench/RESULTS.md).

What it does and does not do:

- http and https (asyncio's TLS, the given context or the default verifying one, the
  URL's host as server name); anything else is refused with `ValueError`.
- `address(host)`, when given, is awaited before every NEW connection and says which
  address to connect to (lc-webhooks resolves and checks it there). A kept-alive
  connection stays with the address it was opened to. What the hook raises passes
  through unchanged.
- A kept-alive connection the server closed just as a request went out (nothing came
  back) is replaced by a new one and the request sent again, once.
- Idle connections: at most `max_idle` per origin, none older than `idle_timeout_s`.
- No redirects (a 3xx is an answer), no decompression, no cookies, no proxy.

Errors: `lc_http1.errors`.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from typing import Final

from lc_http1.connection import Connection
from lc_http1.errors import ConnectFailed, ConnectionBroken
from lc_http1.targets import Origin, Target, parse_target

MAX_TARGETS: Final = 4096  # URLs whose parsing is cached


class Answer:
    """An answer read whole (or cut at the `keep` the request asked for). `release` it:
    its connection goes back to the pool if it can carry another request."""

    __slots__ = ("_connection", "_idle", "_max_idle", "body", "raw_headers", "status")

    def __init__(self, connection: Connection, idle: deque[Connection], max_idle: int) -> None:
        self._connection: Connection | None = connection
        self._idle = idle
        self._max_idle = max_idle
        self.status = connection.status
        self.raw_headers = connection.raw_headers
        """As received: names as the server spelled them."""
        self.body = bytes(connection.body)

    def header(self, name: bytes) -> bytes | None:
        """The first value of header `name` (lower-case), if any."""
        for key, value in self.raw_headers:
            if key.lower() == name:
                return value
        return None

    def release(self, *, reusable: bool = True) -> None:
        """Give the connection back; `reusable=False` closes it."""
        connection, self._connection = self._connection, None
        if connection is None:
            return
        if reusable and connection.reusable and len(self._idle) < self._max_idle:
            connection.idle_since = time.monotonic()
            self._idle.append(connection)
        else:
            connection.close()


class Http1Client:
    def __init__(
        self,
        *,
        connect_timeout_s: float,
        read_timeout_s: float,
        address: Callable[[str], Awaitable[str]] | None = None,
        ssl_context: ssl.SSLContext | None = None,
        max_idle: int = 256,
        idle_timeout_s: float = 60.0,
    ) -> None:
        self._connect_timeout_s = connect_timeout_s
        self._read_timeout_s = read_timeout_s
        self._address = address
        self._ssl_context = ssl_context
        self._max_idle = max_idle
        self._idle_timeout_s = idle_timeout_s
        self._targets: dict[str, Target] = {}
        self._idle: dict[Origin, deque[Connection]] = {}
        self._closed = False

    async def post(
        self,
        url: str,
        headers: Iterable[tuple[str, str]],
        body: bytes,
        *,
        keep: int | None = None,
    ) -> Answer:
        """POST `body` with `headers` (and `host`, `content-length`); the answer, its
        body whole or (with `keep`) its first `keep` bytes."""
        target = self._target(url)
        head = [b"POST ", target.path, b" HTTP/1.1\r\nhost: ", target.host_header, b"\r\n"]
        for name, value in headers:
            head += (name.encode("latin-1"), b": ", value.encode("latin-1"), b"\r\n")
        head += (b"content-length: ", str(len(body)).encode(), b"\r\n\r\n", body)
        request = b"".join(head)
        idle = self._idle.setdefault(target.origin, deque())
        for _ in range(2):
            connection, reused = await self._connection(idle, target.origin)
            try:
                await connection.exchange(request, keep)
            except ConnectionBroken:
                if reused and not connection.received:
                    # The server closed a kept-alive connection as this request went
                    # out: sent again once on a new connection.
                    continue
                raise
            return Answer(connection, idle, self._max_idle)
        raise ConnectFailed("kept-alive connections closed before answering")

    async def _connection(self, idle: deque[Connection], origin: Origin) -> tuple[Connection, bool]:
        if idle:
            oldest = time.monotonic() - self._idle_timeout_s
            while idle:
                connection = idle.pop()
                if not connection.closed and connection.idle_since >= oldest:
                    return connection, True
                connection.close()
        if self._closed:
            raise ConnectFailed("the client is closed")
        host = origin.host
        if self._address is not None:
            host = await self._address(origin.host)
        loop = asyncio.get_running_loop()

        def protocol() -> Connection:
            return Connection(loop, self._read_timeout_s)

        if origin.tls:
            if self._ssl_context is None:
                self._ssl_context = ssl.create_default_context()
            opening = loop.create_connection(
                protocol, host, origin.port, ssl=self._ssl_context, server_hostname=origin.host
            )
        else:
            opening = loop.create_connection(protocol, host, origin.port)
        started = time.monotonic()
        try:
            _, opened = await asyncio.wait_for(opening, self._connect_timeout_s)
        except TimeoutError:
            waited = time.monotonic() - started
            raise ConnectFailed(f"connect timeout after {waited:.1f} s") from None
        except OSError as exc:
            raise ConnectFailed(str(exc) or type(exc).__name__) from exc
        return opened, False

    def _target(self, url: str) -> Target:
        found = self._targets.get(url)
        if found is None:
            found = parse_target(url)
            if found is None:
                raise ValueError(f"not an http or https URL: {url!r}")
            if len(self._targets) < MAX_TARGETS:
                self._targets[url] = found
        return found

    async def aclose(self) -> None:
        self._closed = True
        for idle in self._idle.values():
            while idle:
                idle.pop().close()

    async def __aenter__(self) -> Http1Client:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
