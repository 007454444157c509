from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from nats.js import JetStreamContext
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from lc_eventstore import EventStore, provision_streams
from lc_eventstore.projection import metadata as checkpoint_metadata

from .projects_projection import metadata


@pytest.fixture
async def store(jetstream: JetStreamContext) -> EventStore:
    await provision_streams(jetstream)
    return EventStore(jetstream)


async def prepare_engine(url: str) -> AsyncEngine:
    """An engine on `url` with the test projection's tables, checkpoints and quarantine."""
    engine = create_async_engine(url)
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
        await conn.run_sync(checkpoint_metadata.create_all)
    return engine


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = await prepare_engine(database_url)
    yield engine
    await engine.dispose()
