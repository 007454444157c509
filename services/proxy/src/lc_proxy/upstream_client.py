"""Calling a replica over HTTP: one small interface over aiohttp and httpx.

Who calls it: `forwarding` sends every routed request through `UpstreamClient.send`;
the ASGI app's lifespan opens the client chosen by `ProxySettings.proxy_upstream_client`
and closes it on shutdown. aiohttp is the default because bench/proxy.py measured it
faster on the hot path; httpx stays available so the benchmark can compare both inside
the same proxy.

Exceptions (what the caller may do next):

    UpstreamError
    ├── UpstreamConnectError   no connection was made, nothing was sent: safe to retry
    ├── UpstreamTimeout        the replica stayed silent longer than the read timeout
    └── UpstreamBroken         the connection failed after the request was sent

Responses are never decompressed (the request asks for `identity`) and bodies are
yielded as they arrive, so SSE passes through chunk by chunk.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Protocol

import aiohttp
import httpx

# Most bytes a relayed chunk gathers from what has already arrived.
COALESCE_LIMIT = 64 * 1024


class UpstreamError(Exception):
    pass


class UpstreamConnectError(UpstreamError):
    pass


class UpstreamTimeout(UpstreamError):
    pass


class UpstreamBroken(UpstreamError):
    pass


# Headers that describe one hop, not the message: never copied across the proxy.
HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
        b"content-length",
        b"host",
        b"date",
        b"server",
    }
)


class UpstreamResponse(Protocol):
    status: int
    headers: list[tuple[bytes, bytes]]
    """End-to-end headers, lower-cased names, hop-by-hop ones removed."""
    content_type: str

    async def read(self) -> bytes: ...

    def chunks(self) -> AsyncIterator[bytes]: ...

    async def close(self, *, reusable: bool) -> None:
        """Release the connection: back to the pool if the body was read to its end,
        otherwise closed (which is what tells the replica its client went away)."""


class UpstreamClient(Protocol):
    async def send(
        self, url: str, headers: list[tuple[str, str]], body: bytes
    ) -> UpstreamResponse: ...

    async def aclose(self) -> None: ...


def _filter_headers(raw: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    return [(k.lower(), v) for k, v in raw if k.lower() not in HOP_BY_HOP]


# -- aiohttp -------------------------------------------------------------------------


class _AiohttpResponse:
    __slots__ = ("_response", "content_type", "headers", "status")

    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self._response = response
        self.status = response.status
        self.headers = _filter_headers(list(response.raw_headers))
        self.content_type = response.headers.get("Content-Type", "")

    async def read(self) -> bytes:
        try:
            return await self._response.read()
        except (TimeoutError, aiohttp.ServerTimeoutError) as exc:
            raise UpstreamTimeout(str(exc) or "read timeout") from exc
        except aiohttp.ClientError as exc:
            raise UpstreamBroken(str(exc) or type(exc).__name__) from exc

    async def chunks(self) -> AsyncIterator[bytes]:
        content = self._response.content
        try:
            while True:
                chunk = await content.readany()
                if not chunk:
                    return
                # A turn of the loop lets bytes that already reached the socket join this
                # chunk, again while each turn brings more: fewer, larger writes downstream,
                # and never a wait for data that has not arrived.
                while len(chunk) < COALESCE_LIMIT:
                    await asyncio.sleep(0)
                    more = b"" if content.is_eof() else content.read_nowait(-1)
                    if not more:
                        break
                    chunk += more
                yield chunk
        except (TimeoutError, aiohttp.ServerTimeoutError) as exc:
            raise UpstreamTimeout(str(exc) or "read timeout") from exc
        except aiohttp.ClientError as exc:
            raise UpstreamBroken(str(exc) or type(exc).__name__) from exc

    async def close(self, *, reusable: bool) -> None:
        if reusable:
            self._response.release()
        else:
            self._response.close()


class AiohttpUpstreamClient:
    def __init__(self, *, connect_timeout_s: float, read_timeout_s: float, max_connections: int):
        self._timeout = aiohttp.ClientTimeout(
            total=None, sock_connect=connect_timeout_s, sock_read=read_timeout_s
        )
        connector = aiohttp.TCPConnector(
            limit=max_connections, limit_per_host=0, keepalive_timeout=30.0
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            timeout=self._timeout,
            auto_decompress=False,
            skip_auto_headers=("User-Agent",),
            cookie_jar=aiohttp.DummyCookieJar(),
        )

    async def send(self, url: str, headers: list[tuple[str, str]], body: bytes) -> UpstreamResponse:
        try:
            response = await self._session.post(url, data=body, headers=headers)
        except aiohttp.ClientConnectorError as exc:
            raise UpstreamConnectError(str(exc)) from exc
        except aiohttp.ConnectionTimeoutError as exc:
            raise UpstreamConnectError(f"connect timeout: {exc}") from exc
        except (TimeoutError, aiohttp.ServerTimeoutError) as exc:
            raise UpstreamTimeout(str(exc) or "read timeout") from exc
        except aiohttp.ClientError as exc:
            raise UpstreamBroken(str(exc) or type(exc).__name__) from exc
        return _AiohttpResponse(response)

    async def aclose(self) -> None:
        await self._session.close()


# -- httpx ---------------------------------------------------------------------------


class _HttpxResponse:
    __slots__ = ("_response", "content_type", "headers", "status")

    def __init__(self, response: httpx.Response) -> None:
        self._response = response
        self.status = response.status_code
        self.headers = _filter_headers(list(response.headers.raw))
        self.content_type = response.headers.get("content-type", "")

    async def read(self) -> bytes:
        body = bytearray()
        async for chunk in self.chunks():
            body += chunk
        return bytes(body)

    async def chunks(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._response.aiter_raw():
                yield chunk
        except httpx.TimeoutException as exc:
            raise UpstreamTimeout(str(exc) or "read timeout") from exc
        except httpx.HTTPError as exc:
            raise UpstreamBroken(str(exc) or type(exc).__name__) from exc

    async def close(self, *, reusable: bool) -> None:
        await self._response.aclose()


class HttpxUpstreamClient:
    def __init__(self, *, connect_timeout_s: float, read_timeout_s: float, max_connections: int):
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(
                connect=connect_timeout_s, read=read_timeout_s, write=read_timeout_s, pool=None
            ),
            limits=httpx.Limits(
                max_connections=max_connections, max_keepalive_connections=max_connections
            ),
        )

    async def send(self, url: str, headers: list[tuple[str, str]], body: bytes) -> UpstreamResponse:
        request = self._client.build_request("POST", url, headers=headers, content=body)
        try:
            response = await self._client.send(request, stream=True)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            raise UpstreamConnectError(str(exc) or type(exc).__name__) from exc
        except httpx.TimeoutException as exc:
            raise UpstreamTimeout(str(exc) or "read timeout") from exc
        except httpx.HTTPError as exc:
            raise UpstreamBroken(str(exc) or type(exc).__name__) from exc
        return _HttpxResponse(response)

    async def aclose(self) -> None:
        await self._client.aclose()


def open_upstream_client(
    kind: str, *, connect_timeout_s: float, read_timeout_s: float, max_connections: int
) -> UpstreamClient:
    """The client named by `kind` (`aiohttp` or `httpx`); call inside a running loop."""
    if kind == "httpx":
        return HttpxUpstreamClient(
            connect_timeout_s=connect_timeout_s,
            read_timeout_s=read_timeout_s,
            max_connections=max_connections,
        )
    return AiohttpUpstreamClient(
        connect_timeout_s=connect_timeout_s,
        read_timeout_s=read_timeout_s,
        max_connections=max_connections,
    )
