"""SIGKILL an lc-proxy replica in the middle of a streamed chat completion: the client's
stream breaks (it cannot be told otherwise), its retry is served whole by the other
replica, the upstream sees the cut request go away, and the restarted replica serves
streams again."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from lc_clustersim.upstream import SimulatedUpstream, UpstreamFaults
from lc_embedded import EmbeddedNats
from lc_testing import wait_until

from .proxy_replicas import Proxy, routed_upstream

MODEL = "sim/chaos-model"
CHUNKS = 200


@pytest.fixture
async def upstream(durable_nats: EmbeddedNats) -> AsyncIterator[SimulatedUpstream]:
    """A model replica whose streams last a few seconds, routable through LC_STATUS."""
    faults = UpstreamFaults(token_delay_s=0.01)
    async with routed_upstream(durable_nats.url, MODEL, "model", faults) as server:
        yield server


def replica(nats_url: str, name: str, log: Path) -> Proxy:
    return Proxy(nats_url, name, log, model=MODEL)


def request() -> dict[str, object]:
    return {
        "model": MODEL,
        "messages": [{"role": "user", "content": "Hello!"}],
        "stream": True,
        "max_tokens": CHUNKS,
    }


async def stream(client: httpx.AsyncClient, url: str, on_chunk: object = None) -> list[str]:
    """The content pieces of one streamed completion, up to `data: [DONE]`."""
    pieces: list[str] = []
    async with client.stream("POST", f"{url}/v1/chat/completions", json=request()) as answer:
        assert answer.status_code == 200
        async for line in answer.aiter_lines():
            if not line.startswith("data: "):
                continue
            if line == "data: [DONE]":
                return pieces
            delta = json.loads(line.removeprefix("data: "))["choices"][0]["delta"]
            pieces.append(delta.get("content") or "")
            if callable(on_chunk):
                on_chunk(len(pieces))
    raise AssertionError(f"the stream ended without [DONE] after {len(pieces)} chunks")


async def test_a_replica_killed_mid_stream_is_retried_on_the_other(
    durable_nats: EmbeddedNats, upstream: SimulatedUpstream, scratch: Path
) -> None:
    first = replica(durable_nats.url, "proxy-a", scratch / "proxy-a.log").start()
    second = replica(durable_nats.url, "proxy-b", scratch / "proxy-b.log").start()
    try:
        async with httpx.AsyncClient(timeout=30) as client:
            whole = await stream(client, second.url)
            assert len([p for p in whole if p]) == CHUNKS

            def kill_after_ten(received: int) -> None:
                if received == 10:
                    first.kill()

            with pytest.raises(httpx.TransportError):
                await stream(client, first.url, on_chunk=kill_after_ten)

            # The client's retry goes to the other replica and gets the whole answer.
            assert await stream(client, second.url) == whole
            # The killed replica's upstream request went away with it.
            await wait_until(
                lambda: upstream.stats.in_flight == 0, timeout=10, what="no request left"
            )
            assert upstream.stats.aborted >= 1

            first.start()  # same port, as a restarted pod behind its Service
            assert await stream(client, first.url) == whole
    finally:
        first.stop()
        second.stop()
