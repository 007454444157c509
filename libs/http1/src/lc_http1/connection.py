"""One HTTP/1.1 connection, one request at a time, its answer parsed by httptools as it
arrives. Callers: `client` only.
"""

from __future__ import annotations

import asyncio
from typing import Final, cast

import httptools

from lc_http1.errors import ConnectionBroken, Http1Error, ReadTimeout

# Body bytes read past what the caller keeps, so that the connection can carry the next
# request; an answer with more than that ends there and its connection is closed.
DRAIN_LIMIT: Final = 64 * 1024


class Connection(asyncio.Protocol):
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
        """The answer was handed over (whole, or cut at what the caller keeps)."""
        self.whole = False
        """The answer was read to its end: the connection may carry another request."""
        self._keep: int | None = None
        self._body_seen = 0
        self._length_known = False
        self._waiter: asyncio.Future[None] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._last_data = 0.0
        self.idle_since = 0.0

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
            self._end(ConnectionBroken(f"the answer is not HTTP/1.1: {exc}"))
            self.close()

    def eof_received(self) -> bool | None:
        return None  # close the transport (a TLS transport would otherwise warn)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self._waiter is None or self._waiter.done():
            return
        if self.status and not self._length_known:
            self.whole = True
            self._end(None)  # an answer without a length ends with its connection
        else:
            reason = str(exc) if exc else "the server closed the connection"
            self._end(ConnectionBroken(reason))

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
        keep = self._keep
        if keep is None:
            self.body += body
            return
        room = keep - len(self.body)
        if room > 0:
            self.body += body[:room]
        self._body_seen += len(body)
        if self._body_seen > keep + DRAIN_LIMIT and not self.complete:
            self._end(None)  # enough: the rest is not read
            self.close()

    def on_message_complete(self) -> None:
        self.whole = True
        self._end(None)

    # -- one exchange -----------------------------------------------------------------

    async def exchange(self, request: bytes, keep: int | None) -> None:
        """Send `request`; return once its answer arrived (whole, or its body's first
        `keep` bytes kept and at most `DRAIN_LIMIT` more read)."""
        assert self.transport is not None
        self.status = 0
        self.raw_headers = []
        self.body = bytearray()
        self.received = False
        self.complete = False
        self.whole = False
        self._keep = keep
        self._body_seen = 0
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
        self._end(ReadTimeout(f"no data within {self._read_timeout_s:g} s"))
        self.close()

    def _end(self, error: Http1Error | None) -> None:
        waiter = self._waiter
        if waiter is None or waiter.done():
            return
        if error is None:
            self.complete = True
            waiter.set_result(None)
        else:
            waiter.set_exception(error)

    @property
    def reusable(self) -> bool:
        return self.whole and self.keep_alive and not self.closed

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()
