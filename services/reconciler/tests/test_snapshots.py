"""Snapshots of the desired state on a real nats-server: a restarted reconciler folds only
the tail after its snapshot and holds exactly what a fold from sequence 1 holds; a
snapshot it cannot trust (corrupt, of an old format, of a replaced stream) is ignored
and it folds from sequence 1; it is not ready before its fold has caught up."""

from __future__ import annotations

from datetime import UTC, datetime

from nats.js import JetStreamContext

from lc_contracts.errors import ContractError
from lc_contracts.streams import EVENTS_STREAM
from lc_eventstore import EventStore, provision_streams
from lc_eventstore.snapshots import (
    BUCKET,
    Snapshot,
    SnapshotStore,
    StreamIdentity,
    stream_identity,
)
from lc_reconciler.domain.desired_state import DesiredState
from lc_reconciler.domain.snapshot import FORMAT, encode_desired_state
from lc_reconciler.event_feed import SUBJECTS
from lc_reconciler.runtime import SNAPSHOT_KEY
from lc_testing import wait_until
from lc_testing.product_docs import HELLO, LLAMA

from .conftest import Events, Reconcilers
from .helpers import project_created, project_deleted, service_applied, service_deleted, spec


async def fold_from_the_start(js: JetStreamContext) -> DesiredState:
    state = DesiredState()
    async for batch in EventStore(js).read(1, SUBJECTS):
        for message in batch:
            try:
                state.apply(message.seq, message.event().payload)
            except ContractError:
                continue
    return state


async def same_as_a_full_fold(js: JetStreamContext, state: DesiredState) -> None:
    async def same() -> bool:
        return state == await fold_from_the_start(js)

    await wait_until(same, what="the restored state to equal a fold from sequence 1")


async def history(events: Events, slug: str, revisions: int) -> None:
    await events.append(*project_created(slug))
    for revision in range(1, revisions + 1):
        await events.append(*service_applied(slug, spec(HELLO), revision))
    await events.append(*service_applied(slug, spec(LLAMA)))


async def put_raw(js: JetStreamContext, data: bytes) -> None:
    objects = await js.create_object_store(BUCKET)
    await objects.put(SNAPSHOT_KEY, data)


async def test_a_restart_folds_only_the_tail_and_reaches_the_full_fold(
    events: Events, reconcilers: Reconcilers, jetstream: JetStreamContext
) -> None:
    await history(events, "acme", 20)
    first = await reconcilers.start()
    await first.stop()  # a clean shutdown writes a snapshot
    written = first.runtime.state.position
    assert first.runtime.progress.snapshot_seq == written

    # The tail: more revisions, a deleted service, a new project.
    await events.append(*service_applied("acme", spec(HELLO, expose=False), 21))
    await events.append(*service_deleted("acme", "llama-3-8b"))
    await history(events, "beta", 3)
    last = await EventStore(jetstream).last_seq()

    second = await reconcilers.start()
    state = second.runtime.state
    assert state.position >= last
    # The running reconciler appends status transitions of its own: compare once settled.
    await same_as_a_full_fold(jetstream, state)
    assert second.runtime.progress.folded <= state.position - written, "only the tail was folded"


async def test_corrupt_old_format_and_foreign_snapshots_fall_back_to_a_full_fold(
    events: Events, reconcilers: Reconcilers, jetstream: JetStreamContext
) -> None:
    await history(events, "acme", 5)
    stream, last = await stream_identity(jetstream)
    wrong_state = encode_desired_state(DesiredState(position=last, projects={"ghost"}))
    store = SnapshotStore(jetstream)

    def snapshot(*, format: str = FORMAT, of: StreamIdentity = stream) -> Snapshot:
        return Snapshot(of, last, format, wrong_state, datetime.now(UTC))

    candidates = {
        "corrupt": lambda: put_raw(jetstream, b"\x00garbage\nnot zlib"),
        "old format": lambda: store.save(
            SNAPSHOT_KEY, snapshot(format="reconciler.desired-state/0")
        ),
        "another stream": lambda: store.save(
            SNAPSHOT_KEY, snapshot(of=StreamIdentity(stream.name, "2020-01-01T00:00:00+00:00"))
        ),
    }
    for name, write in candidates.items():
        await write()
        handle = await reconcilers.start()
        state = handle.runtime.state
        assert "ghost" not in state.projects, name
        assert handle.runtime.progress.folded >= last, f"{name}: folded from sequence 1"
        await same_as_a_full_fold(jetstream, state)
        await handle.stop()


async def test_a_snapshot_of_a_replaced_stream_is_ignored(
    events: Events, reconcilers: Reconcilers, jetstream: JetStreamContext
) -> None:
    await history(events, "acme", 5)
    first = await reconcilers.start()
    await first.stop()
    assert first.runtime.progress.snapshot_seq is not None

    # The stream is deleted and created again (a restore, a migration) with other events.
    await jetstream.delete_stream(EVENTS_STREAM.name)
    await provision_streams(jetstream)
    await events.append(*project_created("other"))
    await events.append(*project_created("third"))
    await events.append(*project_deleted("third"))

    second = await reconcilers.start()
    assert second.runtime.state.projects == {"other"}
    await same_as_a_full_fold(jetstream, second.runtime.state)


async def test_not_ready_until_the_fold_has_caught_up(
    events: Events, reconcilers: Reconcilers, jetstream: JetStreamContext
) -> None:
    await history(events, "acme", 300)
    last = await EventStore(jetstream).last_seq()
    handle = await reconcilers.start(wait_ready=False)
    probes = handle.runtime.probes
    seen: list[tuple[bool, int]] = []

    def observe() -> bool:
        seen.append((probes.ready, handle.runtime.state.position))
        return probes.ready

    await wait_until(observe, timeout=30)
    assert not seen[0][0], "ready before anything was folded"
    assert all(position == last for ready, position in seen if ready)
    report = probes.report()
    assert report["status"] == "ready"
    assert report["events"] == {
        "caughtUp": True,
        "position": last,
        "target": last,
        "behind": 0,
        "snapshotSeq": None,
    }
