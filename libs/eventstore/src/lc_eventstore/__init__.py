"""JetStream I/O: append with OCC and dedupe, load, replay, status feeds, checkpointed projections."""

from lc_eventstore.connection import connect
from lc_eventstore.errors import (
    ConcurrencyConflict,
    EventStoreError,
    EventStoreUnavailable,
    EventTooLarge,
    StreamConfigConflict,
)
from lc_eventstore.messages import StoredEvent, StoredMessage
from lc_eventstore.projection import Projection, ProjectionRunner
from lc_eventstore.provisioning import provision_streams
from lc_eventstore.reader import stream_position
from lc_eventstore.status_feed import current_status, follow_status, publish_status
from lc_eventstore.store import Aggregate, EventStore

__all__ = [
    "Aggregate",
    "ConcurrencyConflict",
    "EventStore",
    "EventStoreError",
    "EventStoreUnavailable",
    "EventTooLarge",
    "Projection",
    "ProjectionRunner",
    "StoredEvent",
    "StoredMessage",
    "StreamConfigConflict",
    "connect",
    "current_status",
    "follow_status",
    "provision_streams",
    "publish_status",
    "stream_position",
]
