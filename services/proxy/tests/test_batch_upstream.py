"""The batch dispatcher's HTTP client against real servers over sockets: answers with a
length or chunked, kept-alive connections reused, a replica closing its idle connection,
a silent replica, an unreachable one, and the same under uvloop (lc-proxy's loop)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
import uvloop
from aiohttp import web

from lc_proxy.batch_upstream import BatchUpstreamClient
from lc_proxy.upstream_client import UpstreamConnectError, UpstreamTimeout

HEADERS = [("content-type", "application/json"), ("x-request-id", "b-1")]


class _Fallback:
    async def send(self, url: str, headers: list[tuple[str, str]], body: bytes) -> object:
        raise AssertionError(f"{url} went to the fallback client")

    async def aclose(self) -> None:
        return None


def _client(read_timeout_s: float = 5.0) -> BatchUpstreamClient:
    return BatchUpstreamClient(
        connect_timeout_s=1.0,
        read_timeout_s=read_timeout_s,
        fallback=_Fallback(),  # type: ignore[arg-type]
    )


async def _replica() -> tuple[web.AppRunner, str, set[object]]:
    peers: set[object] = set()

    async def echo(request: web.Request) -> web.Response:
        peers.add(request.transport.get_extra_info("peername") if request.transport else None)
        body = await request.json()
        return web.json_response(
            {"got": body, "id": request.headers.get("x-request-id")}, status=201
        )

    async def chunked(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        response.enable_chunked_encoding()
        response.content_type = "application/json"
        await response.prepare(request)
        await response.write(b'{"parts": ')
        await response.write(b"[1, 2]}")
        await response.write_eof()
        return response

    async def silent(request: web.Request) -> web.Response:
        await asyncio.sleep(3)
        return web.json_response({})

    app = web.Application()
    app.router.add_post("/v1/echo", echo)
    app.router.add_post("/v1/chunked", chunked)
    app.router.add_post("/v1/silent", silent)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    return runner, f"http://127.0.0.1:{port}", peers


@pytest.fixture
async def replica() -> AsyncIterator[tuple[str, set[object]]]:
    runner, url, peers = await _replica()
    yield url, peers
    await runner.cleanup()


async def _answers_and_reuse(url: str, peers: set[object]) -> None:
    client = _client()
    try:
        for i in range(5):
            answer = await client.send(f"{url}/v1/echo", HEADERS, json.dumps({"n": i}).encode())
            assert answer.status == 201
            assert answer.content_type.startswith("application/json")
            assert json.loads(await answer.read()) == {"got": {"n": i}, "id": "b-1"}
            await answer.close(reusable=True)
        assert len(peers) == 1  # one kept-alive connection for five requests in turn
        chunked = await client.send(f"{url}/v1/chunked", HEADERS, b"{}")
        assert json.loads(await chunked.read()) == {"parts": [1, 2]}
        await chunked.close(reusable=True)
    finally:
        await client.aclose()


async def test_answers_are_read_whole_and_connections_kept_alive(replica) -> None:  # type: ignore[no-untyped-def]
    await _answers_and_reuse(*replica)


def test_the_same_under_uvloop() -> None:
    async def body() -> None:
        runner, url, peers = await _replica()
        try:
            await _answers_and_reuse(url, peers)
        finally:
            await runner.cleanup()

    uvloop.run(body())


async def _closing_server() -> tuple[asyncio.Server, str, list[int]]:
    """A replica that answers with keep-alive and then closes the connection anyway."""
    served = [0]

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        length = next(
            int(line.split(b":")[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length")
        )
        await reader.readexactly(length)
        served[0] += 1
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    return server, f"http://127.0.0.1:{port}/v1/x", served


async def test_a_connection_the_replica_closed_is_not_reused() -> None:
    server, url, served = await _closing_server()
    client = _client()
    try:
        for _ in range(3):
            answer = await client.send(url, HEADERS, b"{}")
            assert (answer.status, await answer.read()) == (200, b"{}")
            await answer.close(reusable=True)
        assert served[0] == 3
    finally:
        await client.aclose()
        server.close()


async def _expect(
    error: type[Exception], call: Callable[[], Awaitable[object]], within_s: float
) -> None:
    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(error):
        await call()
    assert loop.time() - started < within_s


async def test_a_silent_replica_times_out_and_an_unreachable_one_is_a_connect_error(
    replica, dead_url
) -> None:  # type: ignore[no-untyped-def]
    url, _ = replica
    client = _client(read_timeout_s=0.3)
    try:
        await _expect(UpstreamTimeout, lambda: client.send(f"{url}/v1/silent", HEADERS, b"{}"), 5)
        await _expect(
            UpstreamConnectError, lambda: client.send(f"{dead_url}/v1/x", HEADERS, b"{}"), 5
        )
        # the client still works after both
        answer = await client.send(f"{url}/v1/echo", HEADERS, b'{"n": 1}')
        assert answer.status == 201
    finally:
        await client.aclose()
