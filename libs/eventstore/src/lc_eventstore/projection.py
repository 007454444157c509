"""Checkpointed projections: fold the event log into PostgreSQL tables, exactly once.

Each batch is applied in one transaction that also advances the projection's row in
`projection_checkpoints`, so a crash at any point leaves tables and checkpoint agreeing.
The checkpoint moves only from the position the writer read (a conditional update), so
two writers can never both apply the same events nor move it backwards.

One runner per projection holds a PostgreSQL advisory lock and projects; others stand
by and take over when it goes away. The active runner writes through the very session
that holds the lock: if that session is gone (terminated, network lost), so is the lock,
and none of its writes can land; it stands by again.

One bad event never stops a projection. A message that cannot be read (garbage, an
unknown type) and an event whose projection fails deterministically (data, integrity or
validation errors) are quarantined: recorded in `projection_quarantine` with the error,
counted, and passed over by the checkpoint. A failing batch is retried one event at a
time (each in a savepoint) to find the poison event, so the rest of the batch applies.
Transient failures (a lost connection) are raised and retried from the checkpoint.

Reading and applying overlap: the next batches are fetched and decoded (`read_ahead`)
while PostgreSQL executes the current one, so a backlog drains at the pace of the slower
of the two, not of their sum. The reader sizes batches by the backlog (up to the batch
size), so a live event is applied on its own and a backlog in large batches.

A rebuild is one transaction without a savepoint per batch: every subtransaction stays
in the transaction's cache until it commits, and past 64 of them PostgreSQL overflows
the cache, which slows every session's snapshots. When a batch fails there, the rebuild
rolls back and starts again, that batch (and any found before) in a savepoint.

A catch-up keeps a few batches of decoded events alive while PostgreSQL applies one, so
tens of thousands of objects a second outlive the collector's young generations and
trigger its full collections, each of which walked everything the process held (in
lcd's bench, seven per 20,000 events at about 250 ms each: half a catch-up's Python
time). The first runner to project in a process therefore freezes what the process holds
at that moment (modules, the app, settings: `gc.freeze()`, as lc-proxy does after its
start): full collections then walk only what was allocated since.

Callers: lcd (its read models), `lc replay` (rebuild), tests and benchmarks.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import time
import zlib
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final, Protocol, runtime_checkable

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from lc_contracts.errors import ContractError
from lc_contracts.storable import escape_unstorable
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
    sa.Column(
        "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
    ),
)

quarantine = sa.Table(
    "projection_quarantine",
    metadata,
    sa.Column("projection", sa.Text, primary_key=True),
    sa.Column("seq", sa.BigInteger, primary_key=True),
    sa.Column("subject", sa.Text, nullable=False),
    sa.Column("type", sa.Text, nullable=True),
    sa.Column("error", sa.Text, nullable=False),
    sa.Column(
        "quarantined_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
    ),
)

STANDBY_RETRY_S = 1.0
WAIT_POLL_S = 0.01
READ_AHEAD: Final = 2
"""Batches fetched and decoded ahead of the one being applied."""
MAX_ERROR_CHARS: Final = 2000

# Failures that the same event would meet again on every attempt.
DETERMINISTIC: Final = (
    sa.exc.DataError,
    sa.exc.IntegrityError,
    ContractError,
    ValueError,  # pydantic's ValidationError, UnicodeEncodeError of a lone surrogate
    TypeError,
    LookupError,
)


class Projection(Protocol):
    """A read model fed by events. `apply` must only touch the connection it is given."""

    name: str

    async def apply(self, conn: AsyncConnection, events: Sequence[StoredEvent]) -> None: ...

    async def reset(self, conn: AsyncConnection) -> None:
        """Delete every row this projection owns (before a rebuild, in its transaction)."""
        ...


@runtime_checkable
class RebuildsAside(Protocol):
    """A projection whose `reset` starts a rebuild in tables of its own (readers keep the
    old ones meanwhile) and whose `rebuilt` puts them in place of the old ones."""

    async def rebuilt(self, conn: AsyncConnection) -> None:
        """Called once a rebuild has applied every event, in its transaction, before it
        commits."""
        ...


class StaleCheckpoint(Exception):
    """Another writer moved the checkpoint since this one read it; its batch is refused."""

    def __init__(self, name: str, expected: int, actual: int) -> None:
        super().__init__(
            f"checkpoint of {name} is at {actual}, not at {expected} as read; batch refused"
        )
        self.name = name
        self.expected = expected
        self.actual = actual


_heap_frozen = False


def freeze_startup_heap() -> None:
    """Take what the process holds now out of the collector's full collections, once per
    process (see the module docstring); reference counting still frees it."""
    global _heap_frozen
    if _heap_frozen:
        return
    _heap_frozen = True
    gc.collect()
    gc.freeze()


def lock_key(name: str) -> int:
    return zlib.crc32(f"lc.projection.{name}".encode())


def is_deterministic(exc: BaseException) -> bool:
    """Whether applying the same event again would fail the same way (quarantine it)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, sa.exc.DBAPIError) and current.connection_invalidated:
            return False
        if isinstance(current, DETERMINISTIC):
            return True
        orig = getattr(current, "orig", None)  # what SQLAlchemy's StatementError wraps
        current = orig if isinstance(orig, BaseException) else current.__cause__
    return False


def describe(exc: BaseException) -> str:
    """The error as stored in the quarantine: the driver's message, not SQL and parameters."""
    orig = getattr(exc, "orig", None)
    shown = orig if isinstance(orig, BaseException) else exc
    text = f"{type(shown).__name__}: {shown}"
    return escape_unstorable(text)[:MAX_ERROR_CHARS]


def decode_batch(
    messages: Sequence[StoredMessage],
) -> tuple[list[StoredEvent], list[tuple[StoredMessage, ContractError]]]:
    """The readable events of a batch, and the unreadable messages with the reason."""
    events: list[StoredEvent] = []
    unreadable: list[tuple[StoredMessage, ContractError]] = []
    for message in messages:
        try:
            events.append(message.event())
        except ContractError as exc:
            unreadable.append((message, exc))
    return events, unreadable


@dataclass(frozen=True)
class DecodedBatch:
    """A batch as read, with its readable events and its unreadable messages."""

    messages: Sequence[StoredMessage]
    events: list[StoredEvent]
    unreadable: list[tuple[StoredMessage, ContractError]]

    @classmethod
    def of(cls, messages: Sequence[StoredMessage]) -> DecodedBatch:
        return cls(messages, *decode_batch(messages))


async def read_ahead(
    batches: AsyncGenerator[list[StoredMessage], None], depth: int = READ_AHEAD
) -> AsyncGenerator[DecodedBatch, None]:
    """`batches`, decoded, read by a task of its own up to `depth` batches ahead of the
    caller: while the caller awaits PostgreSQL, the next batches arrive and are decoded."""
    queue: asyncio.Queue[DecodedBatch | Exception | None] = asyncio.Queue(depth)

    async def fill() -> None:
        try:
            async with contextlib.aclosing(batches):
                async for batch in batches:
                    await queue.put(DecodedBatch.of(batch))
        except Exception as exc:
            await queue.put(exc)
            return
        await queue.put(None)

    reader = asyncio.create_task(fill())
    try:
        while (item := await queue.get()) is not None:
            if isinstance(item, Exception):
                raise item
            yield item
    finally:
        reader.cancel()
        await asyncio.gather(reader, return_exceptions=True)


class _FailedInRebuild(Exception):
    """A batch of a rebuild failed deterministically; the rebuild starts again."""

    def __init__(self, first: int, last: int, cause: BaseException) -> None:
        super().__init__(f"events {first}-{last}: {describe(cause)}")
        self.first = first
        self.last = last


Progress = Callable[[int, int], None]
"""Told (events done, events still to read) after each batch of a long read."""


async def read_checkpoint(conn: AsyncConnection, name: str) -> int:
    value = await conn.scalar(sa.select(checkpoints.c.last_seq).where(checkpoints.c.name == name))
    return int(value or 0)


async def advance_checkpoint(conn: AsyncConnection, name: str, expected: int, seq: int) -> None:
    """Move the checkpoint from `expected` (the position this writer read) to `seq`.

    Raises StaleCheckpoint when another writer moved it meanwhile: the row lock this update
    takes serialises concurrent writers, and the loser's transaction must roll back.
    """
    if seq < expected:
        raise ValueError(f"checkpoint of {name} cannot move back from {expected} to {seq}")
    moved = await conn.execute(
        checkpoints.update()
        .where(checkpoints.c.name == name, checkpoints.c.last_seq == expected)
        .values(last_seq=seq, updated_at=sa.func.now())
    )
    if moved.rowcount == 1:
        return
    if expected == 0:
        created = await conn.scalar(
            insert(checkpoints)
            .values(name=name, last_seq=seq)
            .on_conflict_do_nothing()
            .returning(checkpoints.c.name)
        )
        if created is not None:
            return
    raise StaleCheckpoint(name, expected, await read_checkpoint(conn, name))


async def reset_checkpoint(conn: AsyncConnection, name: str) -> None:
    """Set the checkpoint to 0, for a rebuild (inside the rebuild's one transaction)."""
    stmt = insert(checkpoints).values(name=name, last_seq=0)
    stmt = stmt.on_conflict_do_update(
        index_elements=[checkpoints.c.name],
        set_={"last_seq": 0, "updated_at": sa.func.now()},
    )
    await conn.execute(stmt)


def _quarantine_row(
    name: str, seq: int, subject: str, type_: str | None, exc: BaseException
) -> dict[str, Any]:
    return {
        "projection": name,
        "seq": seq,
        "subject": escape_unstorable(subject),
        "type": escape_unstorable(type_) if type_ is not None else None,
        "error": describe(exc),
    }


async def record_quarantine(conn: AsyncConnection, rows: Sequence[dict[str, Any]]) -> None:
    stmt = insert(quarantine)
    await conn.execute(
        stmt.on_conflict_do_update(
            index_elements=[quarantine.c.projection, quarantine.c.seq],
            set_={
                "subject": stmt.excluded.subject,
                "type": stmt.excluded.type,
                "error": stmt.excluded.error,
                "quarantined_at": sa.func.now(),
            },
        ),
        list(rows),
    )


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
        """Unreadable messages passed over (they are in the quarantine too)."""
        self.quarantined = 0
        """Messages and events this runner put in the quarantine."""
        self.active = False
        self._progress = asyncio.Condition()

    @contextlib.asynccontextmanager
    async def _transaction(self, conn: AsyncConnection | None) -> AsyncIterator[AsyncConnection]:
        """A transaction on `conn` (the lock's session), or on a pooled connection."""
        if conn is None:
            async with self._engine.begin() as pooled:
                yield pooled
        else:
            async with conn.begin():
                yield conn

    async def _apply_batch(
        self,
        conn: AsyncConnection,
        batch: DecodedBatch,
        expected: int,
        *,
        savepoint: bool = True,
    ) -> tuple[int, int]:
        """Apply a batch inside the caller's transaction; (skipped, quarantined) counts.

        Without `savepoint`, a batch that fails leaves the transaction failed: it raises
        `_FailedInRebuild` for the caller to roll back and try again with one."""
        name = self.projection.name
        messages, events, unreadable = batch.messages, batch.events, batch.unreadable
        rows = [_quarantine_row(name, m.seq, m.subject, None, exc) for m, exc in unreadable]
        if events and not savepoint:
            try:
                await self.projection.apply(conn, events)
            except Exception as exc:
                if not is_deterministic(exc):
                    raise
                raise _FailedInRebuild(messages[0].seq, messages[-1].seq, exc) from exc
        elif events:
            try:
                async with conn.begin_nested():
                    await self.projection.apply(conn, events)
            except Exception as exc:
                if not is_deterministic(exc):
                    raise
                log.warning(
                    "batch %d-%d of %s failed (%s); applying its events one at a time",
                    messages[0].seq,
                    messages[-1].seq,
                    name,
                    describe(exc),
                )
                subjects = {m.seq: m.subject for m in messages}
                rows.extend(await self._apply_one_by_one(conn, events, subjects))
        for row in rows:
            log.error(
                "quarantined seq=%s subject=%s type=%s from %s: %s",
                row["seq"],
                row["subject"],
                row["type"],
                name,
                row["error"],
            )
        if rows:
            await record_quarantine(conn, rows)
        await advance_checkpoint(conn, name, expected, messages[-1].seq)
        return len(unreadable), len(rows)

    async def _apply_one_by_one(
        self, conn: AsyncConnection, events: Sequence[StoredEvent], subjects: dict[int, str]
    ) -> list[dict[str, Any]]:
        rows = []
        for event in events:
            try:
                async with conn.begin_nested():
                    await self.projection.apply(conn, [event])
            except Exception as exc:
                if not is_deterministic(exc):
                    raise
                rows.append(
                    _quarantine_row(
                        self.projection.name,
                        event.seq,
                        subjects[event.seq],
                        event.envelope.type,
                        exc,
                    )
                )
        return rows

    async def _advanced(self, seq: int, skipped: int, quarantined: int) -> None:
        self.skipped += skipped
        self.quarantined += quarantined
        async with self._progress:
            self.position = seq
            self._progress.notify_all()

    async def _project(self, *, follow: bool, conn: AsyncConnection | None = None) -> None:
        freeze_startup_heap()
        while True:
            async with self._transaction(conn) as reading:
                self.position = await read_checkpoint(reading, self.projection.name)
            batches = read_ahead(
                self._store.read(
                    self.position + 1, self._subjects, follow=follow, batch_size=self._batch_size
                )
            )
            try:
                async with contextlib.aclosing(batches):
                    async for batch in batches:
                        if not batch.messages:
                            continue
                        async with self._transaction(conn) as writing:
                            counts = await self._apply_batch(writing, batch, self.position)
                        await self._advanced(batch.messages[-1].seq, *counts)
                return
            except StaleCheckpoint as exc:
                log.warning("%s; reading on from the checkpoint", exc)

    async def catch_up(self) -> int:
        """Project everything in the stream now, then return the position (no lock taken)."""
        await self._project(follow=False)
        return self.position

    async def rebuild(
        self,
        conn: AsyncConnection | None = None,
        *,
        progress: Progress | None = None,
        batch_size: int | None = None,
    ) -> int:
        """Drop this projection's rows and project again from sequence 1, in one transaction.

        Until it commits, readers keep seeing the old rows (`reset` deletes, MVCC keeps
        them visible; a `RebuildsAside` projection writes into tables of its own and puts
        them in place in `rebuilt`); if it fails, it rolls back and the old read models
        stay as they were.
        `conn` is the session holding the projection's lock, when the caller took it.
        `progress` is told after each batch how far the rebuild is. `batch_size` (the
        runner's by default): larger batches than a live projector's make a rebuild
        cheaper (fewer statements, fewer versions of rows updated in every batch).
        """
        freeze_startup_heap()
        size = batch_size or self._batch_size
        careful: list[tuple[int, int]] = []  # sequences of batches that failed before
        while True:
            try:
                position, skipped, quarantined = await self._rebuild_once(
                    conn, careful, progress, size
                )
            except _FailedInRebuild as failed:
                log.warning(
                    "rebuild of %s: %s; starting again with that batch in a savepoint",
                    self.projection.name,
                    failed,
                )
                careful.append((failed.first, failed.last))
                continue
            await self._advanced(position, skipped, quarantined)
            return position

    async def _rebuild_once(
        self,
        conn: AsyncConnection | None,
        careful: Sequence[tuple[int, int]],
        progress: Progress | None,
        batch_size: int,
    ) -> tuple[int, int, int]:
        name = self.projection.name
        position = skipped = quarantined = done = 0
        async with self._transaction(conn) as writing:
            await self.projection.reset(writing)
            await writing.execute(quarantine.delete().where(quarantine.c.projection == name))
            await reset_checkpoint(writing, name)
            batches = read_ahead(
                self._store.read(1, self._subjects, follow=False, batch_size=batch_size)
            )
            async with contextlib.aclosing(batches):
                async for batch in batches:
                    if not batch.messages:
                        continue
                    first, last = batch.messages[0].seq, batch.messages[-1].seq
                    savepoint = any(a <= last and first <= b for a, b in careful)
                    counts = await self._apply_batch(writing, batch, position, savepoint=savepoint)
                    position = last
                    skipped += counts[0]
                    quarantined += counts[1]
                    done += len(batch.messages)
                    if progress is not None:
                        progress(done, batch.messages[-1].pending)
            if isinstance(self.projection, RebuildsAside):
                await self.projection.rebuilt(writing)
        return position, skipped, quarantined

    async def run(self) -> None:
        """Project forever while holding the projection's advisory lock; stand by otherwise."""
        key = lock_key(self.projection.name)
        while True:
            try:
                async with self._engine.connect() as lock_conn:
                    got = await lock_conn.scalar(sa.select(sa.func.pg_try_advisory_lock(key)))
                    await lock_conn.commit()
                    if not got:
                        await asyncio.sleep(STANDBY_RETRY_S)
                        continue
                    self.active = True
                    try:
                        # Writes go through the lock's own session: no lock, no write.
                        await self._project(follow=True, conn=lock_conn)
                    finally:
                        self.active = False
                        with contextlib.suppress(Exception):
                            await lock_conn.execute(sa.select(sa.func.pg_advisory_unlock(key)))
                            await lock_conn.commit()
            except (sa.exc.OperationalError, sa.exc.InterfaceError) as exc:
                log.warning(
                    "projector of %s lost its database session (%s); standing by",
                    self.projection.name,
                    describe(exc),
                )
                await asyncio.sleep(STANDBY_RETRY_S)

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
