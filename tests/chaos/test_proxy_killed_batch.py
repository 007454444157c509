"""SIGKILL lc-proxy replicas while they dispatch a batch: the batch goes on on the other
replica, and its output holds every `custom_id` exactly once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import openai
import pytest

from lc_clustersim.upstream import SimulatedUpstream, UpstreamFaults
from lc_embedded import EmbeddedNats
from lc_testing import wait_until
from lc_testing.batches import chat_lines, finished, lines_of, upload

from .proxy_replicas import Proxy, routed_upstream

MODEL = "sim/batch-model"
LINES = 300
PER_REPLICA = 4


@pytest.fixture
async def upstream(durable_nats: EmbeddedNats) -> AsyncIterator[SimulatedUpstream]:
    faults = UpstreamFaults(latency_s=0.05)
    async with routed_upstream(durable_nats.url, MODEL, "batch-model", faults) as server:
        yield server


def handovers(*logs: Path) -> list[str]:
    """The replicas' log lines about taking and losing batches."""
    return [
        line
        for log in logs
        for line in log.read_text(errors="replace").splitlines()
        if "batch taken" in line or "lease lost" in line
    ]


def replica(nats_url: str, name: str, log: Path) -> Proxy:
    settings = {"LC_PROXY_BATCH_LEASE_S": "1", "LC_PROXY_BATCH_PER_REPLICA": str(PER_REPLICA)}
    return Proxy(nats_url, name, log, model=MODEL, settings=settings)


async def test_replicas_killed_mid_batch_every_custom_id_exactly_once(
    durable_nats: EmbeddedNats, upstream: SimulatedUpstream, scratch: Path
) -> None:
    first = replica(durable_nats.url, "proxy-a", scratch / "proxy-a.log")
    second = replica(durable_nats.url, "proxy-b", scratch / "proxy-b.log")
    await asyncio.to_thread(first.start)
    await asyncio.to_thread(second.start)
    try:
        async with openai.AsyncOpenAI(
            base_url=f"{second.url}/v1", api_key="x", max_retries=3
        ) as client:
            file_id = await upload(client, chat_lines(LINES, model=MODEL))
            batch = await client.batches.create(
                input_file_id=file_id, endpoint="/v1/chat/completions", completion_window="24h"
            )

            async def answered(at_least: int) -> bool:
                counts = (await client.batches.retrieve(batch.id)).request_counts
                return counts is not None and counts.completed >= at_least

            # Whichever replica holds the batch, one of the two kills hits it mid-flight.
            await wait_until(lambda: answered(50), timeout=30, what="50 answered")
            first.kill()
            await wait_until(lambda: answered(120), timeout=30, what="120 answered")
            await asyncio.to_thread(first.start)
            second.kill()
            async with openai.AsyncOpenAI(
                base_url=f"{first.url}/v1", api_key="x", max_retries=3
            ) as survivor:
                done = await finished(survivor, batch.id, timeout=60)
                assert done.status == "completed"
                output = await lines_of(survivor, done.output_file_id)
        ids = sorted(line["custom_id"] for line in output)
        assert ids == sorted(f"req-{i}" for i in range(LINES))
        # Only requests in flight on a replica that lost the batch are sent again: at most
        # PER_REPLICA per takeover (two kills; more when a loaded machine delayed a
        # renewal past the lease and the other replica took the batch meanwhile).
        moves = handovers(first.log, second.log)
        takeovers = sum("batch taken" in line for line in moves) - 1
        assert takeovers >= 1, moves
        assert upstream.stats.requests <= LINES + takeovers * PER_REPLICA, moves
    finally:
        first.stop()
        second.stop()
