from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import sqlalchemy as sa
from nats.js import JetStreamContext
from sqlalchemy.ext.asyncio import AsyncEngine

from lc_contracts.subjects import project_subject
from lc_embedded import EmbeddedPostgres
from lc_eventstore import EventStore, ProjectionRunner
from lc_eventstore.projection import read_checkpoint

from .conftest import prepare_engine
from .events_factory import created, renamed
from .projects_projection import ProjectsProjection, rows


async def _write_history(store: EventStore, projects: int, renames: int) -> int:
    """Create `projects` projects and rename each `renames` times; return the last seq."""
    last = 0
    for i in range(projects):
        slug = f"p{i:04d}"
        [seq] = await store.append(project_subject(slug), [created(slug)], 0)
        for r in range(renames):
            [seq] = await store.append(project_subject(slug), [renamed(slug, f"{slug}-{r}")], seq)
        last = seq
    return last


async def _wait(predicate_coro: object, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await predicate_coro():  # type: ignore[operator]
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition not met in time")


async def test_live_projection_follows_and_wait_for_unblocks(
    store: EventStore, engine: AsyncEngine
) -> None:
    runner = ProjectionRunner(engine, store, ProjectsProjection())
    task = asyncio.create_task(runner.run())
    try:
        [seq] = await store.append(project_subject("live"), [created("live", "Live")], 0)
        assert await runner.wait_for(seq, timeout=5)
        async with engine.connect() as conn:
            assert [r[:3] for r in await rows(conn)] == [("live", "Live", 0)]
            assert await read_checkpoint(conn, "test_projects") == seq
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_a_second_runner_stands_by_while_the_first_holds_the_lock(
    store: EventStore, engine: AsyncEngine
) -> None:
    first = ProjectionRunner(engine, store, ProjectsProjection())
    second = ProjectionRunner(engine, store, ProjectsProjection())
    tasks = [asyncio.create_task(first.run())]
    try:
        await _wait(lambda: _true(first.active))
        tasks.append(asyncio.create_task(second.run()))
        [seq] = await store.append(project_subject("solo"), [created("solo")], 0)
        # The standby answers wait_for by reading the checkpoint the active runner writes.
        assert await second.wait_for(seq, timeout=5)
        assert first.active
        assert not second.active
        tasks[0].cancel()
        await asyncio.gather(tasks[0], return_exceptions=True)
        [seq2] = await store.append(project_subject("after"), [created("after")], 0)
        await _wait(lambda: _true(second.active), timeout=10)
        assert await second.wait_for(seq2, timeout=5)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def _true(value: bool) -> bool:
    return value


async def test_garbage_and_unknown_events_are_skipped_and_later_events_project(
    store: EventStore, engine: AsyncEngine, jetstream: JetStreamContext
) -> None:
    await store.append(project_subject("before"), [created("before")], 0)
    await jetstream.publish("lc.events.project.junk", b"\x00not json at all")
    await jetstream.publish(
        "lc.events.project.future",
        b'{"specversion":"1.0","id":"x","source":"s","type":"project.exploded","subject":"s",'
        b'"time":"2026-01-01T00:00:00Z","dataversion":1,"data":{}}',
    )
    [seq] = await store.append(project_subject("after"), [created("after")], 0)
    runner = ProjectionRunner(engine, store, ProjectsProjection())
    assert await runner.catch_up() == seq
    assert runner.skipped == 2
    async with engine.connect() as conn:
        assert [r[0] for r in await rows(conn)] == ["after", "before"]


async def test_replay_from_one_into_empty_tables_equals_the_live_projection(
    store: EventStore, engine: AsyncEngine
) -> None:
    await _write_history(store, projects=20, renames=3)
    runner = ProjectionRunner(engine, store, ProjectsProjection(), batch_size=7)
    await runner.catch_up()
    async with engine.connect() as conn:
        live = await rows(conn)
    assert len(live) == 20
    await runner.rebuild()
    async with engine.connect() as conn:
        assert await rows(conn) == live


async def test_a_runner_killed_mid_batch_resumes_to_the_same_tables(
    store: EventStore,
    engine: AsyncEngine,
    nats_url: str,
    database_url: str,
    postgres_server: EmbeddedPostgres,
) -> None:
    last = await _write_history(store, projects=60, renames=4)  # 300 events, 6 batches of 50
    script = Path(__file__).with_name("run_projection.py")
    proc = subprocess.Popen(
        [sys.executable, str(script), nats_url, database_url],
        stdout=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    try:

        async def progressed() -> bool:
            async with engine.connect() as conn:
                return 0 < await read_checkpoint(conn, "test_projects") < last

        await _wait(progressed, timeout=30)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    async with engine.connect() as conn:
        interrupted_at = await read_checkpoint(conn, "test_projects")
    assert 0 < interrupted_at < last  # it really died half-way

    resumed = ProjectionRunner(engine, store, ProjectsProjection(), batch_size=50)
    assert await resumed.catch_up() == last

    reference_db = "ref_" + database_url.rsplit("/", 1)[1]
    postgres_server.create_database(reference_db)
    reference = await prepare_engine(postgres_server.url(reference_db))
    try:
        await ProjectionRunner(reference, store, ProjectsProjection()).catch_up()
        async with reference.connect() as ref_conn, engine.connect() as conn:
            assert await rows(conn) == await rows(ref_conn)
            assert await read_checkpoint(conn, "test_projects") == await store.last_seq()
            count = await conn.scalar(sa.text("SELECT count(*) FROM test_projects"))
            assert count == 60
    finally:
        await reference.dispose()
        postgres_server.drop_database(reference_db)
