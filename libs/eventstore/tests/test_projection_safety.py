"""One bad event never stops a projection; two projectors never both write."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence

import pytest
import sqlalchemy as sa
from nats.js import JetStreamContext
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from lc_contracts.errors import ContractError
from lc_contracts.subjects import project_subject
from lc_eventstore import EventStore, ProjectionRunner, StoredEvent
from lc_eventstore.projection import (
    StaleCheckpoint,
    advance_checkpoint,
    is_deterministic,
    lock_key,
    quarantine,
    read_checkpoint,
)

from .events_factory import created, renamed
from .projects_projection import ProjectsProjection, rows


async def _until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


async def _quarantined(engine: AsyncEngine) -> list[tuple[object, ...]]:
    async with engine.connect() as conn:
        result = await conn.execute(
            sa.select(quarantine.c.seq, quarantine.c.subject, quarantine.c.type, quarantine.c.error)
            .where(quarantine.c.projection == "test_projects")
            .order_by(quarantine.c.seq)
        )
        return [tuple(r) for r in result]


async def test_a_poison_event_is_quarantined_and_the_rest_of_its_batch_projects(
    store: EventStore, engine: AsyncEngine, jetstream: JetStreamContext
) -> None:
    [first] = await store.append(project_subject("before"), [created("before")], 0)
    # Appended directly, as lcd would never let it: PostgreSQL cannot store a NUL.
    [poison] = await store.append(project_subject("bad"), [created("bad", "Bad\x00Name")], 0)
    garbage = (await jetstream.publish("lc.events.project.junk", b"not json")).seq
    [after] = await store.append(project_subject("after"), [created("after")], 0)
    [renamed_seq] = await store.append(project_subject("before"), [renamed("before", "B2")], first)

    runner = ProjectionRunner(engine, store, ProjectsProjection(), batch_size=50)
    assert await runner.catch_up() == renamed_seq  # one batch, with the poison inside
    async with engine.connect() as conn:
        assert [r[:3] for r in await rows(conn)] == [("after", "After", 0), ("before", "B2", 1)]
        assert await read_checkpoint(conn, "test_projects") == renamed_seq
    held = await _quarantined(engine)
    assert [(seq, subject, type_) for seq, subject, type_, _ in held] == [
        (poison, project_subject("bad"), "project.created"),
        (garbage, "lc.events.project.junk", None),
    ]
    assert "NUL" in str(held[0][3]) or "0x00" in str(held[0][3])
    assert runner.quarantined == 2
    assert runner.skipped == 1
    assert after < renamed_seq


async def test_later_batches_project_after_a_quarantined_event_while_following(
    store: EventStore, engine: AsyncEngine
) -> None:
    runner = ProjectionRunner(engine, store, ProjectsProjection())
    task = asyncio.create_task(runner.run())
    try:
        [poison] = await store.append(project_subject("bad"), [created("bad", "x\x00")], 0)
        assert await runner.wait_for(poison, timeout=10)
        [later] = await store.append(project_subject("later"), [created("later")], 0)
        assert await runner.wait_for(later, timeout=10)
        async with engine.connect() as conn:
            assert [r[0] for r in await rows(conn)] == ["later"]
        assert [r[0] for r in await _quarantined(engine)] == [poison]
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


class FlakyProjection(ProjectsProjection):
    """Loses its connection (a transient failure) on the first attempt at `slug`."""

    def __init__(self, slug: str) -> None:
        super().__init__()
        self.slug = slug
        self.failures = 0

    async def apply(self, conn: AsyncConnection, events: Sequence[StoredEvent]) -> None:
        if self.failures == 0 and any(e.envelope.data.get("slug") == self.slug for e in events):
            self.failures += 1
            raise sa.exc.OperationalError("INSERT", {}, ConnectionResetError("connection lost"))
        await super().apply(conn, events)


async def test_a_transient_failure_is_retried_not_quarantined(
    store: EventStore, engine: AsyncEngine
) -> None:
    await store.append(project_subject("one"), [created("one")], 0)
    [last] = await store.append(project_subject("two"), [created("two")], 0)
    runner = ProjectionRunner(engine, store, FlakyProjection("two"))
    with pytest.raises(sa.exc.OperationalError):
        await runner.catch_up()
    async with engine.connect() as conn:
        assert await read_checkpoint(conn, "test_projects") == 0  # the batch rolled back
    assert await runner.catch_up() == last
    async with engine.connect() as conn:
        assert [r[0] for r in await rows(conn)] == ["one", "two"]
    assert await _quarantined(engine) == []


def test_deterministic_failures_are_told_from_transient_ones() -> None:
    data = sa.exc.DataError("INSERT", {}, ValueError("NUL"))
    integrity = sa.exc.IntegrityError("INSERT", {}, Exception("duplicate key"))
    lost = sa.exc.OperationalError("INSERT", {}, ConnectionResetError("reset"))
    invalidated = sa.exc.DBAPIError("INSERT", {}, Exception("x"), connection_invalidated=True)
    wrapped = sa.exc.StatementError(
        "bad parameter",
        "INSERT",
        {},
        UnicodeEncodeError("utf-8", "\ud800", 0, 1, "surrogates not allowed"),
    )
    assert is_deterministic(data)
    assert is_deterministic(integrity)
    assert is_deterministic(wrapped)
    assert is_deterministic(ContractError("unknown type"))
    assert not is_deterministic(lost)
    assert not is_deterministic(invalidated)
    assert not is_deterministic(TimeoutError())
    assert not is_deterministic(OSError("network down"))


async def test_a_checkpoint_update_from_a_stale_position_is_refused(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await advance_checkpoint(conn, "fenced", 0, 10)
    with pytest.raises(StaleCheckpoint):
        async with engine.begin() as conn:
            await advance_checkpoint(conn, "fenced", 5, 12)  # read 5, but it is at 10
    with pytest.raises(ValueError, match="cannot move back"):
        async with engine.begin() as conn:
            await advance_checkpoint(conn, "fenced", 10, 7)
    with pytest.raises(StaleCheckpoint):
        async with engine.begin() as conn:
            await advance_checkpoint(conn, "fenced", 0, 3)  # "first write" of an existing row
    async with engine.begin() as conn:
        assert await read_checkpoint(conn, "fenced") == 10
        await advance_checkpoint(conn, "fenced", 10, 11)
    async with engine.connect() as conn:
        assert await read_checkpoint(conn, "fenced") == 11


class GatedProjection(ProjectsProjection):
    """Holds its first batch until the test opens the gate (a projector that stalled)."""

    def __init__(self) -> None:
        super().__init__()
        self.entered = asyncio.Event()
        self.gate = asyncio.Event()

    async def apply(self, conn: AsyncConnection, events: Sequence[StoredEvent]) -> None:
        if not self.gate.is_set():
            self.entered.set()
            await self.gate.wait()
        await super().apply(conn, events)


async def test_a_stalled_projector_cannot_apply_what_another_already_applied(
    store: EventStore, engine: AsyncEngine
) -> None:
    [seq] = await store.append(project_subject("p"), [created("p")], 0)
    for i in range(3):
        [seq] = await store.append(project_subject("p"), [renamed("p", f"P{i}")], seq)
    gated = GatedProjection()
    stalled = asyncio.create_task(ProjectionRunner(engine, store, gated).catch_up())
    await asyncio.wait_for(gated.entered.wait(), 10)
    # Meanwhile another projector applies everything.
    assert await ProjectionRunner(engine, store, ProjectsProjection()).catch_up() == seq
    gated.gate.set()
    assert await asyncio.wait_for(stalled, 10) == seq
    async with engine.connect() as conn:
        # Each rename counted once: the stalled batch was refused, not applied twice.
        assert [r[:3] for r in await rows(conn)] == [("p", "P2", 3)]
        assert await read_checkpoint(conn, "test_projects") == seq


writers_metadata = sa.MetaData()
writers = sa.Table(
    "test_writers",
    writers_metadata,
    sa.Column("seq", sa.BigInteger, primary_key=True),
    sa.Column("writer", sa.Text, primary_key=True),
)


class TaggedProjection(ProjectsProjection):
    """Records which projector wrote each event."""

    def __init__(self, tag: str) -> None:
        super().__init__()
        self.tag = tag

    async def apply(self, conn: AsyncConnection, events: Sequence[StoredEvent]) -> None:
        await super().apply(conn, events)
        await conn.execute(
            insert(writers).on_conflict_do_nothing(),
            [{"seq": e.seq, "writer": self.tag} for e in events],
        )


async def test_a_projector_whose_lock_session_is_gone_does_not_write(
    store: EventStore, engine: AsyncEngine
) -> None:
    async with engine.begin() as conn:
        await conn.run_sync(writers_metadata.create_all)
    first = ProjectionRunner(engine, store, TaggedProjection("first"))
    second = ProjectionRunner(engine, store, TaggedProjection("second"))
    tasks = [asyncio.create_task(first.run())]
    try:
        await _until(lambda: first.active)
        tasks.append(asyncio.create_task(second.run()))
        [seq1] = await store.append(project_subject("one"), [created("one")], 0)
        assert await first.wait_for(seq1, timeout=10)
        async with engine.begin() as conn:
            holder = await conn.scalar(
                sa.text(
                    "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted"
                    " AND objid::bigint = :key"
                ),
                {"key": lock_key("test_projects")},
            )
            assert holder is not None
            assert await conn.scalar(sa.select(sa.func.pg_terminate_backend(holder)))
        # The first projector still follows the stream, but its lock is gone.
        [seq2] = await store.append(project_subject("two"), [created("two")], 0)
        await _until(lambda: second.active, timeout=15)
        assert await second.wait_for(seq2, timeout=10)
        async with engine.connect() as conn:
            result = await conn.execute(sa.select(writers).order_by(writers.c.seq))
            assert [tuple(r) for r in result] == [(seq1, "first"), (seq2, "second")]
            assert [r[0] for r in await rows(conn)] == ["one", "two"]
        await _until(lambda: not first.active, timeout=10)  # it stands by
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def _history(store: EventStore, projects: int, first: int = 0) -> int:
    """Create projects p<first>.. p<projects - 1>; return the last sequence."""
    seq = 0
    for i in range(first, projects):
        [seq] = await store.append(project_subject(f"p{i:03d}"), [created(f"p{i:03d}")], 0)
    return seq


async def test_a_rebuild_that_fails_midway_leaves_the_old_tables_and_checkpoint(
    store: EventStore, engine: AsyncEngine
) -> None:
    last = await _history(store, 30)
    await ProjectionRunner(engine, store, ProjectsProjection(), batch_size=7).catch_up()
    async with engine.connect() as conn:
        before = await rows(conn)
    assert len(before) == 30
    # The connection drops while the rebuild is at p020, batches after the first ones.
    failing = ProjectionRunner(engine, store, FlakyProjection("p020"), batch_size=7)
    with pytest.raises(sa.exc.OperationalError):
        await failing.rebuild()
    async with engine.connect() as conn:
        assert await rows(conn) == before
        assert await read_checkpoint(conn, "test_projects") == last


async def test_readers_see_the_old_tables_while_a_rebuild_runs(
    store: EventStore, engine: AsyncEngine
) -> None:
    await _history(store, 5)
    await ProjectionRunner(engine, store, ProjectsProjection()).catch_up()
    async with engine.connect() as conn:
        before = await rows(conn)
    gated = GatedProjection()
    rebuild = asyncio.create_task(ProjectionRunner(engine, store, gated).rebuild())
    try:
        await asyncio.wait_for(gated.entered.wait(), 10)  # its rows are deleted, not committed
        async with engine.connect() as conn:
            assert await asyncio.wait_for(rows(conn), 5) == before
    finally:
        gated.gate.set()
        await asyncio.wait_for(rebuild, 10)
    async with engine.connect() as conn:
        assert await rows(conn) == before


async def test_a_rebuild_takes_a_savepoint_only_for_a_batch_that_failed(
    store: EventStore, engine: AsyncEngine
) -> None:
    # Every savepoint stays in the rebuild's one transaction until it commits, and past 64
    # PostgreSQL's subtransaction cache overflows, slowing every session's snapshots.
    await _history(store, 40)
    [poison] = await store.append(project_subject("bad"), [created("bad", "Bad\x00")], 0)
    last = await _history(store, 80, first=40)
    savepoints: list[str] = []
    sa.event.listen(engine.sync_engine, "savepoint", lambda _conn, name: savepoints.append(name))
    runner = ProjectionRunner(engine, store, ProjectsProjection(), batch_size=5)
    assert await runner.rebuild() == last  # 17 batches, the poison in the ninth
    # The failing batch in a savepoint, then each of its 5 events in one: none for the rest.
    assert len(savepoints) == 1 + 5
    async with engine.connect() as conn:
        assert len(await rows(conn)) == 80
        assert await read_checkpoint(conn, "test_projects") == last
    assert [r[0] for r in await _quarantined(engine)] == [poison]
    assert runner.quarantined == 1
