from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from nats.js import JetStreamContext

from lc_clustersim.dns_zone import DnsZone
from lc_domain_verifier import VerifierSettings, run
from lc_domain_verifier.settings import Nameserver
from lc_eventstore import EventStore, provision_streams

from .domain_flow import FAST, stop


@pytest.fixture
async def dns_zone() -> AsyncIterator[DnsZone]:
    """The simulator's DNS zone, on its own loopback port for this test."""
    zone = DnsZone()
    await zone.start()
    try:
        yield zone
    finally:
        await zone.stop()


@pytest.fixture
async def store(jetstream: JetStreamContext) -> EventStore:
    await provision_streams(jetstream)
    return EventStore(jetstream)


@pytest.fixture
def settings_for(nats_url: str, dns_zone: DnsZone) -> Callable[..., VerifierSettings]:
    def make(**overrides: Any) -> VerifierSettings:
        values: dict[str, Any] = {
            "nats_url": nats_url,
            "dns_nameservers": [Nameserver("127.0.0.1", dns_zone.port)],
            **FAST,
            **overrides,
        }
        return VerifierSettings(**values)

    return make


@pytest.fixture
async def start_verifier(
    settings_for: Callable[..., VerifierSettings],
) -> AsyncIterator[Callable[..., Awaitable[asyncio.Task[None]]]]:
    """Start `run(settings)` as a task, as `lc up` does; every task is cancelled at the end."""
    tasks: list[asyncio.Task[None]] = []

    async def start(**overrides: Any) -> asyncio.Task[None]:
        task = asyncio.create_task(run(settings_for(**overrides)))
        tasks.append(task)
        return task

    try:
        yield start
    finally:
        for task in tasks:
            await stop(task)
