"""Errors of the event store.

EventStoreError
├── ConcurrencyConflict     the aggregate moved on since it was loaded (reload, decide again)
├── StreamConfigConflict    an existing stream's settings cannot be changed to ours safely
├── EventTooLarge           the event is larger than NATS accepts in one message
└── EventStoreUnavailable   NATS is unreachable or did not answer in time (retriable);
                            raised by an append only when the event did not land
"""

from __future__ import annotations


class EventStoreError(Exception):
    pass


class ConcurrencyConflict(EventStoreError):
    def __init__(self, subject: str, expected: int | None, actual: int | None) -> None:
        super().__init__(f"{subject}: expected last sequence {expected}, the stream holds {actual}")
        self.subject = subject
        self.expected = expected
        self.actual = actual


class StreamConfigConflict(EventStoreError):
    pass


class EventTooLarge(EventStoreError):
    def __init__(self, subject: str, size: int, limit: int) -> None:
        super().__init__(
            f"{subject}: an event of {size} bytes exceeds the {limit}-byte message limit"
        )
        self.subject = subject
        self.size = size
        self.limit = limit


class EventStoreUnavailable(EventStoreError):
    pass
