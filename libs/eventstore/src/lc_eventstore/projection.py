"""Checkpointed projections: fold the event log into PostgreSQL tables, exactly once.

Each batch is applied in one transaction that also advances the projection's row in
`projection_checkpoints`, so a crash at any point leaves tables and checkpoint agreeing.
One runner per projection holds a PostgreSQL advisory lock and projects; others stand
by and take over when it goes away. Unreadable messages (garbage or unknown types) are
logged, counted and skipped; they never stall the projection.

Callers: lcd (its read models), `lc replay` (rebuild), tests and benchmarks.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import zlib
from collections.abc import Sequence
from typing import Protocol

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from lc_contracts.errors import ContractError
from lc_contracts.subjects import ALL_EVENTS
from lc_eventstore.messages import StoredEvent, StoredMessage
from lc_eventstore.reader import FETCH_BATCH
from lc_eventstore.store import EventStore

log = logging.getLogger(__name__)

metadata = sa.MetaData()

checkpoints = sa.Table(
    "projection_checkpoints",
    metadata,
    sa.Column("name", sa.Text, primary_key=True),
    sa.Column("last_seq", sa.BigInteger, nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
)

STANDBY_RETRY_S = 1.0
WAIT_POLL_S = 0.01


class Projection(Protocol):
    """A read model fed by events. `apply` must only touch the connection it is given."""

    name: str

    async def apply(self, conn: AsyncConnection, events: Sequence[StoredEvent]) -> None: ...

    async def reset(self, conn: AsyncConnection) -> None:
        """Delete every row this projection owns (before a rebuild)."""
        ...


def lock_key(name: str) -> int:
    return zlib.crc32(f"lc.projection.{name}".encode())


def decode_batch(messages: Sequence[StoredMessage]) -> tuple[list[StoredEvent], int]:
    """The readable events of a batch and how many messages were skipped."""
    events, skipped = [], 0
    for message in messages:
        try:
            events.append(message.event())
        except ContractError as exc:
            skipped += 1
            log.warning("skipping unreadable message seq=%s subject=%s: %s", message.seq, message.subject, exc)
    return events, skipped


async def read_checkpoint(conn: AsyncConnection, name: str) -> int:
    value = await conn.scalar(sa.select(checkpoints.c.last_seq).where(checkpoints.c.name == name))
    return int(value or 0)


async def write_checkpoint(conn: AsyncConnection, name: str, seq: int) -> None:
    stmt = insert(checkpoints).values(name=name, last_seq=seq)
    stmt = stmt.on_conflict_do_update(
        index_elements=[checkpoints.c.name],
        set_={"last_seq": stmt.excluded.last_seq, "updated_at": sa.func.now()},
    )
    await conn.execute(stmt)


class ProjectionRunner:
    def __init__(
        self,
        engine: AsyncEngine,
        store: EventStore,
        projection: Projection,
        *,
        subjects: Sequence[str] = (ALL_EVENTS,),
        batch_size: int = FETCH_BATCH,
    ) -> None:
        self._engine = engine
        self._store = store
        self.projection = projection
        self._subjects = list(subjects)
        self._batch_size = batch_size
        self.position = 0
        self.skipped = 0
        self.active = False
        self._progress = asyncio.Condition()

    async def _apply(self, messages: Sequence[StoredMessage]) -> None:
        events, skipped = decode_batch(messages)
        async with self._engine.begin() as conn:
            if events:
                await self.projection.apply(conn, events)
            await write_checkpoint(conn, self.projection.name, messages[-1].seq)
        self.skipped += skipped
        async with self._progress:
            self.position = messages[-1].seq
            self._progress.notify_all()

    async def _project(self, *, follow: bool) -> None:
        async with self._engine.connect() as conn:
            self.position = await read_checkpoint(conn, self.projection.name)
        async for batch in self._store.read(
            self.position + 1, self._subjects, follow=follow, batch_size=self._batch_size
        ):
            if batch:
                await self._apply(batch)

    async def catch_up(self) -> int:
        """Project everything in the stream now, then return the position (no lock taken)."""
        await self._project(follow=False)
        return self.position

    async def rebuild(self) -> int:
        """Drop this projection's rows and project again from sequence 1."""
        async with self._engine.begin() as conn:
            await self.projection.reset(conn)
            await write_checkpoint(conn, self.projection.name, 0)
        return await self.catch_up()

    async def run(self) -> None:
        """Project forever while holding the projection's advisory lock; stand by otherwise."""
        key = lock_key(self.projection.name)
        while True:
            async with self._engine.connect() as lock_conn:
                got = await lock_conn.scalar(sa.select(sa.func.pg_try_advisory_lock(key)))
                await lock_conn.commit()
                if not got:
                    await asyncio.sleep(STANDBY_RETRY_S)
                    continue
                self.active = True
                try:
                    await self._project(follow=True)
                finally:
                    self.active = False
                    with contextlib.suppress(Exception):
                        await lock_conn.execute(sa.select(sa.func.pg_advisory_unlock(key)))

    async def wait_for(self, seq: int, timeout: float) -> bool:
        """Block until `seq` is projected (by this runner or another process); False on timeout."""
        deadline = time.monotonic() + timeout
        if self.active:
            async with self._progress:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(
                        self._progress.wait_for(lambda: self.position >= seq), timeout
                    )
            return self.position >= seq
        while True:
            async with self._engine.connect() as conn:
                if await read_checkpoint(conn, self.projection.name) >= seq:
                    return True
            if time.monotonic() >= deadline:
                return False
            await asyncio.sleep(WAIT_POLL_S)
