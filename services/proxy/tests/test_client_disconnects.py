"""Client disconnects cancel the upstream call at once, and leave nothing behind."""

from __future__ import annotations

import asyncio
import gc
import os
import time

import httpx
import openai
import psutil
import pytest

from lc_clustersim.upstream import UpstreamFaults

ABORTS = 500
CONCURRENCY = 50


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


async def test_500_streams_dropped_after_3_chunks_are_all_aborted_upstream(  # type: ignore[no-untyped-def]
    upstreams, start_proxy, publish_service, wait_until
) -> None:
    # Long streams (a chunk every 20 ms, 1,000 tokens): only a cancelled call ends early.
    upstream = await upstreams(models=["m"], faults=UpstreamFaults(token_delay_s=0.02))
    proxy = await start_proxy(proxy_access_log=False)
    await publish_service("m", [upstream])
    await wait_until(lambda: proxy.app.table.get("m") is not None)
    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=0)
    client = openai.AsyncOpenAI(
        base_url=proxy.base_url,
        api_key="x",
        max_retries=0,
        http_client=openai.DefaultAsyncHttpxClient(limits=limits),
    )
    process = psutil.Process()

    async def drop_after_three_chunks() -> None:
        stream = await client.chat.completions.create(
            model="m",
            messages=[{"role": "user", "content": "a long answer please"}],
            stream=True,
            max_tokens=1000,
        )
        received = 0
        async for _ in stream:
            received += 1
            if received == 3:
                break
        await stream.close()

    # Warm up pools and lazy imports, then take the baseline.
    await asyncio.gather(*(drop_after_three_chunks() for _ in range(CONCURRENCY)))
    await wait_until(lambda: upstream.stats.in_flight == 0, timeout=2.0)
    gc.collect()
    baseline_fds = _open_fds()
    baseline_rss = process.memory_info().rss
    aborted_before = upstream.stats.aborted

    semaphore = asyncio.Semaphore(CONCURRENCY)

    async def one() -> None:
        async with semaphore:
            await drop_after_three_chunks()

    await asyncio.gather(*(one() for _ in range(ABORTS)))
    closed_at = time.monotonic()
    await wait_until(lambda: upstream.stats.aborted - aborted_before == ABORTS, timeout=1.0)
    assert time.monotonic() - closed_at <= 1.0
    assert upstream.stats.in_flight == 0
    assert upstream.stats.completed == 0

    entry = proxy.app.table.get("m")
    assert entry is not None
    assert [state.outstanding for state, _ in entry.replicas] == [0]
    await wait_until(lambda: proxy.app.metrics.in_flight == 0, timeout=1.0)
    # Every upstream connection of an aborted stream was closed, none kept or leaked.
    await wait_until(lambda: _open_fds() <= baseline_fds + 5, timeout=2.0)
    gc.collect()
    grown_mb = (process.memory_info().rss - baseline_rss) / 2**20
    assert grown_mb < 20, f"RSS grew by {grown_mb:.1f} MiB over {ABORTS} aborted streams"
    snapshot = proxy.app.metrics.usage.snapshot("x", proxy.app.started_at, proxy.app.started_at)
    assert snapshot.models[0].errors == 0
    await client.close()


async def test_a_client_leaving_a_slow_plain_request_cancels_the_upstream_call(  # type: ignore[no-untyped-def]
    upstreams, start_proxy, publish_service, wait_until
) -> None:
    upstream = await upstreams(models=["m"], faults=UpstreamFaults(latency_s=5.0))
    proxy = await start_proxy()
    await publish_service("m", [upstream])
    await wait_until(lambda: proxy.app.table.get("m") is not None)
    async with httpx.AsyncClient(timeout=0.3) as http:
        with pytest.raises(httpx.ReadTimeout):
            await http.post(
                f"{proxy.base_url}/chat/completions",
                json={"model": "m", "messages": [{"role": "user", "content": "hi"}]},
            )
    left_at = time.monotonic()
    await wait_until(lambda: upstream.stats.aborted == 1, timeout=1.0)
    assert time.monotonic() - left_at < 1.0
    assert upstream.stats.completed == 0
    await wait_until(lambda: proxy.app.metrics.in_flight == 0, timeout=1.0)
    async with httpx.AsyncClient() as http:
        metrics = (await http.get(f"{proxy.url}/metrics")).text
    assert 'model="m",status="499"} 1.0' in metrics
