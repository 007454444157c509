"""The event store: append to an aggregate's subject with optimistic concurrency and
dedupe, load an aggregate, and read the whole log in order.

Callers: the API's command handlers (`load` → decide → `append`), `lc replay`, workers.

An append answers honestly when NATS fails: `EventStoreUnavailable` means the event did
not land. A publish refused before it left (disconnected, no responders) did not land; one
whose acknowledgement never came is settled by looking for the event's id in the subject
once NATS answers again, so a write that landed returns its sequence like any other. A
publish no stream answered (its leader is being elected again) is sent again for a while,
so a clustered log's failover delays writes instead of refusing them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncGenerator, Iterator, Sequence
from dataclasses import dataclass
from typing import Final

from nats.aio.msg import Msg
from nats.errors import (
    ConnectionClosedError,
    ConnectionDrainingError,
    ConnectionReconnectingError,
    MaxPayloadError,
    NoRespondersError,
    OutboundBufferLimitError,
)
from nats.errors import Error as NatsError
from nats.js import JetStreamContext
from nats.js.api import PubAck
from nats.js.errors import APIError, NoStreamResponseError, NotFoundError

from lc_contracts.envelope import Envelope
from lc_contracts.streams import EVENTS_STREAM
from lc_contracts.subjects import ALL_EVENTS
from lc_eventstore.errors import (
    ConcurrencyConflict,
    EventStoreError,
    EventStoreUnavailable,
    EventTooLarge,
)
from lc_eventstore.messages import StoredMessage
from lc_eventstore.reader import FETCH_BATCH, read_batches

WRONG_LAST_SEQUENCE = 10071
MSG_ID = "Nats-Msg-Id"
EXPECTED_LAST_SUBJECT_SEQ = "Nats-Expected-Last-Subject-Sequence"
EXPECTED_STREAM = "Nats-Expected-Stream"
# Room for the headers and protocol line next to the payload: nats-py checks only the
# payload against the server's limit, and a message over it costs the whole connection.
HEADER_ROOM: Final = 1024
SETTLE_TIMEOUT_S: Final = 10.0
SETTLE_POLL_S: Final = 0.1
LEADER_POLL_S: Final = 0.25
# Failures that happened before the message left this process: nothing can land.
NOT_SENT: Final = (
    OutboundBufferLimitError,
    ConnectionClosedError,
    ConnectionDrainingError,
    ConnectionReconnectingError,
    NoRespondersError,
)


@contextlib.contextmanager
def _unavailable(what: str) -> Iterator[None]:
    """NATS's connection failures as `EventStoreUnavailable`; JetStream's answers pass."""
    try:
        yield
    except APIError:
        raise
    except (NatsError, TimeoutError) as exc:
        raise EventStoreUnavailable(f"{what}: {exc!r}") from None


@dataclass(frozen=True)
class Aggregate:
    """The events of one subject and the sequence the next append must expect."""

    subject: str
    messages: list[StoredMessage]
    version: int  # stream sequence of the last message, 0 when empty


class EventStore:
    def __init__(
        self,
        js: JetStreamContext,
        stream: str = EVENTS_STREAM.name,
        *,
        settle_timeout_s: float = SETTLE_TIMEOUT_S,
    ) -> None:
        self._js = js
        self.stream = stream
        self.settle_timeout_s = settle_timeout_s

    async def append(
        self,
        subject: str,
        events: Sequence[Envelope],
        expected_last_subject_seq: int | None,
    ) -> list[int]:
        """Append `events` to `subject`; return their stream sequences.

        `expected_last_subject_seq` is the sequence of the subject's last message as the
        caller saw it (0 for "must not exist yet"; None for no check). Each event's id is
        its `Nats-Msg-Id`: appending the same event again returns the original sequence.
        Events after the first are chained on the previous one's sequence.
        """
        seqs: list[int] = []
        expected = expected_last_subject_seq
        for event in events:
            if event.subject != subject:
                raise ValueError(f"event {event.id} is for {event.subject}, not {subject}")
            seq = await self._append_one(subject, event, expected)
            seqs.append(seq)
            expected = seq
        return seqs

    async def _append_one(self, subject: str, event: Envelope, expected: int | None) -> int:
        headers = {MSG_ID: event.id}
        if expected is not None:
            headers[EXPECTED_LAST_SUBJECT_SEQ] = str(expected)
        data = event.to_bytes()
        limit = self._js._nc.max_payload  # the connection the JetStream context publishes on
        if len(data) + HEADER_ROOM > limit:
            raise EventTooLarge(subject, len(data), limit - HEADER_ROOM)
        try:
            ack = await self._publish_through_election(subject, data, headers)
        except APIError as exc:
            if exc.err_code != WRONG_LAST_SEQUENCE:
                raise
            # A retry of a write that already landed is answered "wrong last sequence",
            # not "duplicate", because the expectation is checked first.
            last = await self.last_message(subject)
            if last is not None and last[1] == event.id:
                return last[0]
            raise ConcurrencyConflict(subject, expected, last[0] if last else 0) from None
        except MaxPayloadError:
            raise EventTooLarge(subject, len(data), limit) from None
        except NOT_SENT as exc:
            raise EventStoreUnavailable(f"NATS refused {subject}: {exc!r}") from None
        except (NatsError, TimeoutError) as exc:
            # Sent, but no acknowledgement: the event may have landed before NATS went away.
            seq = await self._settle(subject, event.id, expected)
            if seq is None:
                raise EventStoreUnavailable(
                    f"JetStream did not acknowledge {subject}: {exc!r}"
                ) from None
            return seq
        return int(ack.seq)

    async def _publish_through_election(
        self, subject: str, data: bytes, headers: dict[str, str]
    ) -> PubAck:
        """Publish; while no stream answers (its leader died and the cluster is electing
        another, a few seconds), publish again until `settle_timeout_s` has passed.

        "No responders" means no stream took the message, so sending it again with the
        same id and expectation cannot store it twice."""
        deadline = time.monotonic() + self.settle_timeout_s
        while True:
            try:
                return await self._js.publish(subject, data, stream=self.stream, headers=headers)
            except NoStreamResponseError:
                if time.monotonic() >= deadline:
                    raise EventStoreUnavailable(f"no stream answered for {subject}") from None
            await asyncio.sleep(LEADER_POLL_S)

    async def _settle(self, subject: str, event_id: str, expected: int | None) -> int | None:
        """The sequence of `event_id` in `subject`, or None when it is not there; asked
        again until NATS answers or `settle_timeout_s` passes.

        nats-py flushes what it still held before it reports itself connected, so once
        a lookup answers, an event not found will not land later.
        """
        deadline = time.monotonic() + self.settle_timeout_s
        while True:
            if self._js._nc.is_connected:
                try:
                    return await self._find(subject, event_id, after=expected or 0)
                except EventStoreUnavailable:
                    pass
            if time.monotonic() >= deadline:
                return None
            await asyncio.sleep(SETTLE_POLL_S)

    async def _find(self, subject: str, event_id: str, *, after: int) -> int | None:
        last = await self.last_message(subject)
        if last is None or last[0] <= after:
            return None
        if last[1] == event_id:
            return last[0]
        seq = after + 1
        with _unavailable(f"looking for {event_id} in {subject}"):
            while seq <= last[0]:
                try:
                    raw = await self._js.get_msg(
                        self.stream, seq=seq, subject=subject, next=True, direct=True
                    )
                except NotFoundError:
                    return None
                if (raw.headers or {}).get(MSG_ID) == event_id:
                    return int(raw.seq or 0)
                seq = int(raw.seq or 0) + 1
        return None

    async def append_pipelined(
        self, events: Sequence[Envelope], *, timeout: float = 30.0
    ) -> list[int]:
        """Append many events without expected sequences: publish them all, then collect the
        acknowledgements, so the round trips overlap. For bulk writes (imports, seeding)
        where no decision depends on an aggregate's state; ids still dedupe. Returns the
        sequences in the order of `events`.
        """
        client = self._js._nc  # the connection the JetStream context publishes on
        inbox = client.new_inbox()
        acks: list[bytes | None] = [None] * len(events)
        remaining = len(events)
        all_acked = asyncio.Event()
        if not events:
            return []

        async def collect(msg: Msg) -> None:
            nonlocal remaining
            acks[int(msg.subject.rsplit(".", 1)[1])] = msg.data
            remaining -= 1
            if remaining == 0:
                all_acked.set()

        sub = await client.subscribe(f"{inbox}.*", cb=collect)
        try:
            for index, event in enumerate(events):
                await client.publish(
                    event.subject,
                    event.to_bytes(),
                    reply=f"{inbox}.{index}",
                    headers={MSG_ID: event.id, EXPECTED_STREAM: self.stream},
                )
            try:
                await asyncio.wait_for(all_acked.wait(), timeout)
            except TimeoutError:
                raise EventStoreUnavailable(
                    f"{remaining} of {len(events)} appends were not acknowledged"
                ) from None
        finally:
            await sub.unsubscribe()
        seqs = []
        for event, raw in zip(events, acks, strict=True):
            ack = json.loads(raw or b"{}")
            if "error" in ack:
                raise EventStoreError(
                    f"{event.subject}: {ack['error'].get('description', ack['error'])}"
                )
            seqs.append(int(ack["seq"]))
        return seqs

    async def last_message(self, subject: str) -> tuple[int, str | None] | None:
        """(sequence, msg id) of the subject's last message, or None when it has none."""
        try:
            with _unavailable(f"reading the last message of {subject}"):
                raw = await self._js.get_last_msg(self.stream, subject, direct=True)
        except NotFoundError:
            return None
        headers = raw.headers or {}
        return int(raw.seq or 0), headers.get(MSG_ID)

    async def load(self, subject: str) -> Aggregate:
        """Every event of one subject, by direct gets: aggregates are small and loaded per
        command, so one request per event beats creating a consumer (and a subject that
        does not exist yet costs one request)."""
        last = await self.last_message(subject)
        if last is None:
            return Aggregate(subject, [], 0)
        last_seq = last[0]
        messages: list[StoredMessage] = []
        seq = 1
        while True:
            with _unavailable(f"loading {subject}"):
                raw = await self._js.get_msg(
                    self.stream, seq=seq, subject=subject, next=True, direct=True
                )
            raw_seq = int(raw.seq or 0)
            messages.append(StoredMessage(seq=raw_seq, subject=subject, data=raw.data or b""))
            if raw_seq >= last_seq:
                break
            seq = raw_seq + 1
        return Aggregate(subject, messages, messages[-1].seq)

    async def last_per_subject(self, subject_filter: str) -> list[StoredMessage]:
        """The last message of every subject matching `subject_filter`."""
        out: list[StoredMessage] = []
        async for batch in read_batches(
            self._js, self.stream, [subject_filter], last_per_subject=True
        ):
            out.extend(batch)
        return out

    async def subjects(self, subject_filter: str) -> list[str]:
        """Every subject matching `subject_filter` that holds a message, sorted.

        Read from the stream's own per-subject counts (stream info with a subjects filter),
        so it sees every append acknowledged before the call, whatever a projection has
        caught up with. JetStream lists at most 100,000 subjects in one answer and nats-py
        does not page: meant for the children of one aggregate, not for the whole log.
        """
        with _unavailable(f"listing the subjects of {subject_filter}"):
            info = await self._js.stream_info(self.stream, subjects_filter=subject_filter)
        return sorted(info.state.subjects or {})

    async def read(
        self,
        from_seq: int = 1,
        subjects: Sequence[str] = (ALL_EVENTS,),
        *,
        follow: bool = False,
        batch_size: int = FETCH_BATCH,
    ) -> AsyncGenerator[list[StoredMessage], None]:
        """Batches of the log from `from_seq`, in order (see `read_batches`)."""
        async for batch in read_batches(
            self._js,
            self.stream,
            list(subjects),
            from_seq=from_seq,
            follow=follow,
            batch=batch_size,
        ):
            yield batch

    async def last_seq(self) -> int:
        with _unavailable("reading the stream's last sequence"):
            info = await self._js.stream_info(self.stream)
        return int(info.state.last_seq)
