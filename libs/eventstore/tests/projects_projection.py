"""A small real projection (projects by slug) used by the projection-runner tests."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from lc_contracts.events import ProjectCreated, ProjectDeleted, ProjectUpdated
from lc_eventstore import StoredEvent

metadata = sa.MetaData()
projects = sa.Table(
    "test_projects",
    metadata,
    sa.Column("slug", sa.Text, primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("renames", sa.Integer, nullable=False),
    sa.Column("last_seq", sa.BigInteger, nullable=False),
)


class ProjectsProjection:
    name = "test_projects"

    def __init__(self, delay_per_batch: float = 0.0) -> None:
        self.delay_per_batch = delay_per_batch

    async def apply(self, conn: AsyncConnection, events: Sequence[StoredEvent]) -> None:
        for event in events:
            payload = event.payload
            if isinstance(payload, ProjectCreated):
                stmt = insert(projects).values(
                    slug=payload.slug, name=payload.name, renames=0, last_seq=event.seq
                )
                await conn.execute(stmt.on_conflict_do_nothing())
            elif isinstance(payload, ProjectUpdated):
                await conn.execute(
                    projects.update()
                    .where(projects.c.slug == payload.slug)
                    .values(name=payload.name, renames=projects.c.renames + 1, last_seq=event.seq)
                )
            elif isinstance(payload, ProjectDeleted):
                await conn.execute(projects.delete().where(projects.c.slug == payload.slug))
        if self.delay_per_batch:
            # Widens the window in which a kill lands inside an open transaction.
            await asyncio.sleep(self.delay_per_batch)

    async def reset(self, conn: AsyncConnection) -> None:
        await conn.execute(projects.delete())


async def rows(conn: AsyncConnection) -> list[tuple[object, ...]]:
    result = await conn.execute(sa.select(projects).order_by(projects.c.slug))
    return [tuple(r) for r in result]
