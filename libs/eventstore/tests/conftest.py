from __future__ import annotations

import pytest
from nats.js import JetStreamContext

from lc_eventstore import EventStore, provision_streams


@pytest.fixture
async def store(jetstream: JetStreamContext) -> EventStore:
    await provision_streams(jetstream)
    return EventStore(jetstream)
