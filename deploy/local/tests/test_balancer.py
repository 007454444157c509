"""The `lc up --ha` gateway's balancing over replicas, against real HTTP servers on
loopback: round robin, a refused replica skipped, 502 when a replica dies before it
answers (never sent again), 503 when none accepts, and streamed answers relayed as they
come."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from lc_embedded import free_port
from lc_local.balancer import BalancedUpstreams
from lc_testing import wait_until


def replica(name: str, calls: list[str]) -> Starlette:
    async def echo(request: Request) -> Response:
        calls.append(name)
        return JSONResponse(
            {"replica": name, "path": request.url.path, "body": (await request.body()).decode()}
        )

    async def stream(_: Request) -> Response:
        async def chunks() -> AsyncIterator[bytes]:
            for i in range(3):
                yield f"data: {i}\n\n".encode()
                await asyncio.sleep(0.01)

        return StreamingResponse(chunks(), media_type="text/event-stream")

    return Starlette(
        routes=[Route("/api/echo", echo, methods=["POST"]), Route("/api/stream", stream)]
    )


@contextlib.asynccontextmanager
async def serving(app: Starlette) -> AsyncIterator[str]:
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    task = asyncio.create_task(server.serve())
    await wait_until(lambda: server.started, timeout=30, what="the replica serving")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


@contextlib.asynccontextmanager
async def hanging_up() -> AsyncIterator[str]:
    """A replica that reads a request and dies without answering."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.close()
        await server.wait_closed()


def gateway(balancer: BalancedUpstreams) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=balancer), base_url="http://gw")


async def test_requests_alternate_and_a_refused_replica_is_skipped() -> None:
    calls: list[str] = []
    async with serving(replica("a", calls)) as a, serving(replica("b", calls)) as b:
        async with gateway(BalancedUpstreams([a, b])) as http:
            for i in range(4):
                answer = await http.post("/api/echo?x=1", content=f"n{i}")
                assert answer.status_code == 200
                assert answer.json()["body"] == f"n{i}"
                assert answer.json()["path"] == "/api/echo"
            streamed = await http.get("/api/stream")
            assert streamed.text == "data: 0\n\ndata: 1\n\ndata: 2\n\n"
        assert calls == ["a", "b", "a", "b"]
        refused = f"http://127.0.0.1:{free_port()}"
        async with gateway(BalancedUpstreams([refused, a, refused, b])) as http:
            answers = [(await http.post("/api/echo", content="x")).status_code for _ in range(8)]
        assert answers == [200] * 8
        assert set(calls[4:]) == {"a", "b"}


async def test_a_replica_dying_before_it_answers_is_502_and_none_accepting_is_503() -> None:
    async with hanging_up() as dying, gateway(BalancedUpstreams([dying])) as http:
        answer = await http.post("/api/echo", content="x")
    assert answer.status_code == 502
    assert answer.headers["content-type"] == "application/problem+json"
    assert "same Idempotency-Key" in answer.json()["detail"]

    nobody = [f"http://127.0.0.1:{free_port()}", f"http://127.0.0.1:{free_port()}"]
    async with gateway(BalancedUpstreams(nobody, openai_errors=True)) as http:
        answer = await http.post("/v1/chat/completions", content="{}")
    assert answer.status_code == 503
    assert answer.headers["retry-after"] == "1"
    assert answer.json()["error"]["type"] == "server_error"
