from __future__ import annotations

import asyncio

import pytest
from nats.js import JetStreamContext

from lc_contracts.subjects import project_subject
from lc_eventstore import (
    ConcurrencyConflict,
    EventStore,
    EventStoreUnavailable,
    StreamConfigConflict,
    provision_streams,
)
from lc_eventstore.provisioning import stream_config

from .events_factory import created, renamed


async def test_fifty_concurrent_appends_with_the_same_expectation_one_wins(
    store: EventStore,
) -> None:
    subject = project_subject("race")
    results = await asyncio.gather(
        *(store.append(subject, [created("race", f"n{i}")], 0) for i in range(50)),
        return_exceptions=True,
    )
    wins = [r for r in results if isinstance(r, list)]
    conflicts = [r for r in results if isinstance(r, ConcurrencyConflict)]
    assert len(wins) == 1
    assert len(conflicts) == 49
    aggregate = await store.load(subject)
    assert len(aggregate.messages) == 1
    assert aggregate.version == wins[0][0]


async def test_the_same_message_id_twice_is_stored_once(store: EventStore) -> None:
    subject = project_subject("dup")
    event = created("dup")
    first = await store.append(subject, [event], 0)
    again = await store.append(subject, [event], 0)  # a retry with the same expectation
    unchecked = await store.append(subject, [event], None)  # a retry with no expectation
    assert first == again == unchecked
    assert len((await store.load(subject)).messages) == 1


async def test_a_stale_expectation_is_a_conflict_with_the_actual_sequence(
    store: EventStore,
) -> None:
    subject = project_subject("stale")
    [seq] = await store.append(subject, [created("stale")], 0)
    await store.append(subject, [renamed("stale", "B")], seq)
    with pytest.raises(ConcurrencyConflict) as info:
        await store.append(subject, [renamed("stale", "C")], seq)
    assert info.value.expected == seq
    assert info.value.actual == seq + 1


async def test_load_returns_the_aggregate_in_order_and_read_the_whole_log(
    store: EventStore,
) -> None:
    a, b = project_subject("a"), project_subject("b")
    [s1] = await store.append(a, [created("a")], 0)
    await store.append(b, [created("b")], 0)
    await store.append(a, [renamed("a", "A2"), renamed("a", "A3")], s1)
    aggregate = await store.load(a)
    names = [m.event().payload.model_dump()["name"] for m in aggregate.messages]
    assert names == ["A", "A2", "A3"]
    assert (await store.load(project_subject("missing"))).version == 0
    seqs = [m.seq async for batch in store.read(2) for m in batch]
    assert seqs == [2, 3, 4]


async def test_provisioning_is_idempotent_and_refuses_incompatible_streams(
    jetstream: JetStreamContext,
) -> None:
    await provision_streams(jetstream)
    await provision_streams(jetstream)
    streams = {s.config.name for s in await jetstream.streams_info()}
    assert streams == {"LC_EVENTS", "LC_STATUS"}
    from lc_contracts.streams import STATUS_STREAM

    changed = stream_config(STATUS_STREAM)
    changed.max_msgs_per_subject = 5
    await jetstream.update_stream(changed)
    with pytest.raises(StreamConfigConflict, match="max_msgs_per_subject"):
        await provision_streams(jetstream)


async def test_pipelined_appends_return_each_sequence_and_still_dedupe(store: EventStore) -> None:
    events = [created(f"bulk{i}") for i in range(200)]
    seqs = await store.append_pipelined(events)
    assert seqs == sorted(seqs)
    assert len(set(seqs)) == 200
    again = await store.append_pipelined(events[:10])  # a retried import
    assert again == seqs[:10]
    assert await store.last_seq() == seqs[-1]
    stored = [
        m.event().payload.model_dump()["slug"] async for batch in store.read(1) for m in batch
    ]
    assert stored == [f"bulk{i}" for i in range(200)]
    assert await store.append_pipelined([]) == []


async def test_an_append_no_stream_answers_waits_for_one(jetstream: JetStreamContext) -> None:
    """No stream answering is what a clustered log's leader election looks like to a
    writer; the append waits for a stream instead of failing at once."""
    store = EventStore(jetstream, settle_timeout_s=10.0)
    subject = project_subject("early")
    append = asyncio.create_task(store.append(subject, [created("early")], 0))
    await asyncio.sleep(1.0)
    assert not append.done()
    await provision_streams(jetstream)
    (seq,) = await asyncio.wait_for(append, timeout=10)
    assert (await store.load(subject)).version == seq


async def test_an_append_no_stream_ever_answers_is_unavailable(
    jetstream: JetStreamContext,
) -> None:
    store = EventStore(jetstream, settle_timeout_s=0.5)
    with pytest.raises(EventStoreUnavailable):
        await store.append(project_subject("never"), [created("never")], 0)
