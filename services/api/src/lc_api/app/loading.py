"""Load one aggregate's events with JetStream direct gets.

`EventStore.load` opens an ephemeral consumer per call; a command handler loads one or
two small aggregates per request, and direct gets (one request per event, none for a
subject that does not exist yet) keep that cheap under many concurrent creates.

Callers: `lc_api.app.commands`.
"""

from __future__ import annotations

from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

from lc_contracts.streams import EVENTS_STREAM
from lc_eventstore import Aggregate, StoredMessage
from lc_eventstore.reader import read_batches


class AggregateLoader:
    def __init__(self, js: JetStreamContext, stream: str = EVENTS_STREAM.name) -> None:
        self._js = js
        self._stream = stream

    async def load(self, subject: str) -> Aggregate:
        try:
            last = await self._js.get_last_msg(self._stream, subject, direct=True)
        except NotFoundError:
            return Aggregate(subject, [], 0)
        last_seq = int(last.seq or 0)
        messages: list[StoredMessage] = []
        seq = 1
        while True:
            raw = await self._js.get_msg(
                self._stream, seq=seq, subject=subject, next=True, direct=True
            )
            raw_seq = int(raw.seq or 0)
            messages.append(
                StoredMessage(seq=raw_seq, subject=subject, data=raw.data or b"", time=raw.time)
            )
            if raw_seq >= last_seq:
                break
            seq = raw_seq + 1
        return Aggregate(subject, messages, messages[-1].seq)

    async def last_per_subject(self, subject_filter: str) -> list[StoredMessage]:
        """The last message of every subject matching `subject_filter`."""
        out: list[StoredMessage] = []
        async for batch in read_batches(
            self._js, self._stream, [subject_filter], last_per_subject=True
        ):
            out.extend(batch)
        return out
