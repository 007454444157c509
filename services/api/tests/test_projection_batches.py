"""The read-model projection leaves the same rows whether events come one per batch (live
following) or many per batch (catch-up, replay): runs of `service.applied` are written in
bulk, everything else one by one."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

from lc_api.db.migrate import migrate
from lc_api.db.projection import ReadModelProjection
from lc_api.db.tables import READ_MODELS
from lc_contracts.events import (
    Payload,
    ProjectCreated,
    ServiceApplied,
    ServiceDeleted,
    ServiceStatusChanged,
    build,
)
from lc_contracts.specs import ServiceSpec
from lc_contracts.status import ServicePhase
from lc_contracts.subjects import project_subject, service_subject
from lc_eventstore import StoredEvent


def history(seed: int, length: int) -> list[StoredEvent]:
    rng = random.Random(seed)
    start = datetime(2026, 11, 30, tzinfo=UTC)
    payloads: list[tuple[str, Payload]] = [
        (project_subject("p"), ProjectCreated(slug="p", name="P"))
    ]
    revisions: dict[str, int] = {}
    for _ in range(length):
        name = f"s{rng.randint(0, 4)}"
        roll = rng.random()
        if roll < 0.7 or name not in revisions:
            revisions[name] = revisions.get(name, 0) + 1
            spec = ServiceSpec.model_validate(
                {
                    "name": name,
                    "tier": "cpu",
                    "kind": {"container": {"image": f"app:{rng.randint(1, 9)}"}},
                }
            )
            rollback = (
                rng.randint(1, revisions[name]) if revisions[name] > 2 and roll < 0.1 else None
            )
            payload: Payload = ServiceApplied(
                project_slug="p", revision=revisions[name], spec=spec, rollback_of=rollback
            )
        elif roll < 0.97:
            phase = rng.choice([ServicePhase.DEPLOYING, ServicePhase.READY, ServicePhase.FAILED])
            payload = ServiceStatusChanged(project_slug="p", name=name, phase=phase, message="m")
        else:
            del revisions[name]
            payload = ServiceDeleted(project_slug="p", name=name)
        subject = service_subject("p", name)
        payloads.append((subject, payload))
    events = []
    for seq, (subject, payload) in enumerate(payloads, start=1):
        envelope = build(payload, subject=subject, source="test")
        envelope = envelope.model_copy(update={"time": start + timedelta(seconds=seq)})
        events.append(StoredEvent(seq=seq, envelope=envelope, payload=payload))
    return events


async def rows(conn: AsyncConnection) -> dict[str, list[Any]]:
    out = {}
    for table in READ_MODELS:
        order = list(table.primary_key.columns)
        result = await conn.execute(sa.select(table).order_by(*order))
        out[table.name] = [tuple(row) for row in result]
    return out


async def test_one_event_per_batch_and_one_batch_leave_the_same_rows(database_url: str) -> None:
    migrate(database_url)
    engine = create_async_engine(database_url)
    projection = ReadModelProjection()
    try:
        for seed in range(3):
            events = history(seed, 300)
            async with engine.begin() as conn:
                await projection.reset(conn)
                for event in events:
                    await projection.apply(conn, [event])
                one_by_one = await rows(conn)
                await projection.reset(conn)
                await projection.apply(conn, events)
                batched = await rows(conn)
            assert len(one_by_one["service_revisions"]) > 5
            assert batched == one_by_one
    finally:
        await engine.dispose()


async def test_text_and_times_reach_the_rows_as_the_events_carry_them(database_url: str) -> None:
    """What a batch's JSON array carries: text beyond ASCII, quotes, backslashes and
    control characters, and times with microseconds in any offset, come back unchanged."""
    migrate(database_url)
    engine = create_async_engine(database_url)
    text = 'Café "☕" \\ </x>\n\t\u2028 𝄞'
    spec = ServiceSpec.model_validate(
        {
            "name": "s",
            "tier": "cpu",
            "kind": {
                "container": {
                    "image": "app:1",
                    "args": [text],
                    "env": [{"name": "T", "value": text}],
                }
            },
        }
    )
    at = datetime(2026, 11, 30, 23, 59, 59, 123456, tzinfo=timezone(timedelta(hours=2)))
    events = []
    for seq, (subject, payload) in enumerate(
        [
            (project_subject("p"), ProjectCreated(slug="p", name=text)),
            (service_subject("p", "s"), ServiceApplied(project_slug="p", revision=1, spec=spec)),
        ],
        start=1,
    ):
        envelope = build(payload, subject=subject, source="test").model_copy(update={"time": at})
        events.append(StoredEvent(seq=seq, envelope=envelope, payload=payload))
    try:
        async with engine.begin() as conn:
            await ReadModelProjection().reset(conn)
            await ReadModelProjection().apply(conn, events)
            audit = (
                await conn.execute(sa.text("SELECT time, envelope FROM audit_events ORDER BY seq"))
            ).all()
            service = (await conn.execute(sa.text("SELECT spec, updated_at FROM services"))).one()
            revision = (
                await conn.execute(sa.text("SELECT spec, created_at FROM service_revisions"))
            ).one()
        assert [row.envelope for row in audit] == [
            e.envelope.model_dump(mode="json", exclude_none=True) for e in events
        ]
        assert [row.time for row in audit] == [at, at]
        wanted = spec.model_dump(mode="json", by_alias=True, exclude_none=True)
        assert service.spec == revision.spec == wanted
        assert service.spec["kind"]["container"]["env"][0]["value"] == text
        assert service.updated_at == revision.created_at == at
    finally:
        await engine.dispose()
