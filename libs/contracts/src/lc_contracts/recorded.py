"""An event as read back from LC_EVENTS: what every pure `evolve(state, event)` folds.

`lc_eventstore.StoredEvent` is one; tests of pure cores build their own. A Protocol, so
the domain packages that fold events depend on this shape and not on the event store.
"""

from __future__ import annotations

from typing import Protocol

from lc_contracts.envelope import Envelope
from lc_contracts.events import Payload


class RecordedEvent(Protocol):
    @property
    def seq(self) -> int:
        """The event's stream sequence: the version of its aggregate once applied."""
        ...

    @property
    def envelope(self) -> Envelope:
        """Who wrote it and when (`envelope.time`)."""
        ...

    @property
    def payload(self) -> Payload: ...
