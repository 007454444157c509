"""Errors of the event store.

    EventStoreError
    ├── ConcurrencyConflict     the aggregate moved on since it was loaded (reload, decide again)
    ├── StreamConfigConflict    an existing stream's settings cannot be changed to ours safely
    └── EventStoreUnavailable   NATS did not answer in time (retriable)
"""

from __future__ import annotations


class EventStoreError(Exception):
    pass


class ConcurrencyConflict(EventStoreError):
    def __init__(self, subject: str, expected: int | None, actual: int | None) -> None:
        super().__init__(
            f"{subject}: expected last sequence {expected}, the stream holds {actual}"
        )
        self.subject = subject
        self.expected = expected
        self.actual = actual


class StreamConfigConflict(EventStoreError):
    pass


class EventStoreUnavailable(EventStoreError):
    pass
