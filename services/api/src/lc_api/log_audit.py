"""`lc audit verify`: the log is whole, every event reads, and the read models equal a
fresh fold of the log.

One PostgreSQL transaction (repeatable read, so the read models stand still at the
checkpoint it reads) makes a temporary copy of each read-model table, which shadows the
real one for that session, folds the log into the copies with the same projection lcd
runs, compares a digest of each copy with its table, and lists the rows that differ.
Rolling back leaves nothing behind; lcd goes on projecting meanwhile.

Callers: `lc audit verify` (deploy/local), tests.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from lc_api.db.migrate import migrate
from lc_api.db.projection import ReadModelProjection
from lc_api.db.tables import READ_MODELS
from lc_api.runtime.lcd import connect_nats, make_engine
from lc_api.settings import ApiSettings
from lc_contracts.errors import ContractError
from lc_contracts.subjects import ALL_EVENTS
from lc_eventstore import EventStore
from lc_eventstore.messages import StoredEvent
from lc_eventstore.projection import read_checkpoint

ROWS_SHOWN = 20


@dataclass
class TableCheck:
    table: str
    rows: int
    digest: str
    fresh_digest: str
    only_in_table: list[dict[str, Any]] = field(default_factory=list)
    only_in_fold: list[dict[str, Any]] = field(default_factory=list)

    @property
    def equal(self) -> bool:
        return self.digest == self.fresh_digest


@dataclass
class Verdict:
    first_seq: int
    last_seq: int
    checkpoint: int
    missing: list[int] = field(default_factory=list)
    unreadable: list[tuple[int, str]] = field(default_factory=list)
    unprojectable: list[tuple[int, str]] = field(default_factory=list)
    tables: list[TableCheck] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.missing and not self.unreadable and all(t.equal for t in self.tables)


def missing_sequences(seen: Iterable[int], last: int) -> Iterator[int]:
    """The sequences between the first one seen and `last` that were not seen (`seen`
    ascending). A stream that starts after 1 has no gap there: its head was never written
    or was removed by its limits."""
    expected: int | None = None
    for seq in seen:
        if expected is not None:
            yield from range(expected, seq)
        expected = seq + 1
    if expected is not None:
        yield from range(expected, last + 1)


async def verify(settings: ApiSettings) -> Verdict:
    await asyncio.to_thread(migrate, settings.database_url)
    nc = await connect_nats(settings)
    engine = make_engine(settings, pool_size=1)
    projection = ReadModelProjection()
    try:
        store = EventStore(nc.jetstream())
        async with engine.connect() as conn:
            await conn.execution_options(isolation_level="REPEATABLE READ")
            checkpoint = await read_checkpoint(conn, projection.name)
            verdict = Verdict(first_seq=0, last_seq=await store.last_seq(), checkpoint=checkpoint)
            for table in READ_MODELS:
                name = table.name
                await conn.execute(
                    sa.text(f"CREATE TEMPORARY TABLE {name} (LIKE public.{name} INCLUDING ALL)")
                )
            seen: list[int] = []
            async for batch in store.read(1, [ALL_EVENTS]):
                readable: list[StoredEvent] = []
                for message in batch:
                    seen.append(message.seq)
                    try:
                        event = message.event()
                    except ContractError as exc:
                        verdict.unreadable.append((message.seq, str(exc)))
                        continue
                    if message.seq <= checkpoint:
                        readable.append(event)
                await _fold(conn, projection, readable, verdict)
            verdict.first_seq = seen[0] if seen else 0
            verdict.missing = list(missing_sequences(seen, verdict.last_seq))
            for table in READ_MODELS:
                verdict.tables.append(await _compare(conn, table))
            await conn.rollback()
        return verdict
    finally:
        await engine.dispose()
        await nc.close()


async def _fold(
    conn: AsyncConnection,
    projection: ReadModelProjection,
    events: Sequence[StoredEvent],
    verdict: Verdict,
) -> None:
    """Apply `events` to the copies; an event the projection refuses is set aside (the
    live projector quarantines the same ones) and the rest still applied."""
    if not events:
        return
    try:
        async with conn.begin_nested():
            await projection.apply(conn, events)
        return
    except sa.exc.DBAPIError:
        pass
    for event in events:
        try:
            async with conn.begin_nested():
                await projection.apply(conn, [event])
        except sa.exc.DBAPIError as exc:
            verdict.unprojectable.append((event.seq, str(exc.orig)))


async def _compare(conn: AsyncConnection, table: sa.Table) -> TableCheck:
    name = table.name
    order = ", ".join(c.name for c in table.primary_key.columns)

    async def digest(qualified: str) -> tuple[int, str]:
        row = (
            await conn.execute(
                sa.text(
                    f"SELECT count(*) AS n, coalesce(md5(string_agg(t::text, E'\\n' "
                    f"ORDER BY {order})), '') AS d FROM {qualified} t"
                )
            )
        ).one()
        return int(row.n), str(row.d)

    rows, live = await digest(f"public.{name}")
    _, fresh = await digest(f"pg_temp.{name}")
    check = TableCheck(table=name, rows=rows, digest=live, fresh_digest=fresh)
    if not check.equal:
        check.only_in_table = await _rows(conn, f"public.{name}", f"pg_temp.{name}", order)
        check.only_in_fold = await _rows(conn, f"pg_temp.{name}", f"public.{name}", order)
    return check


async def _rows(conn: AsyncConnection, left: str, right: str, order: str) -> list[dict[str, Any]]:
    result = await conn.execute(
        sa.text(
            f"SELECT * FROM (SELECT * FROM {left} EXCEPT SELECT * FROM {right}) AS d "
            f"ORDER BY {order} LIMIT {ROWS_SHOWN}"
        )
    )
    return [dict(row._mapping) for row in result]


def render(verdict: Verdict) -> str:
    lines = [
        f"stream LC_EVENTS: sequences {verdict.first_seq}..{verdict.last_seq}; "
        f"read models at {verdict.checkpoint}"
    ]
    if verdict.missing:
        shown = ", ".join(map(str, verdict.missing[:ROWS_SHOWN]))
        lines.append(f"GAPS: {len(verdict.missing)} sequence(s) missing: {shown}")
    for seq, error in verdict.unreadable[:ROWS_SHOWN]:
        lines.append(f"UNREADABLE event {seq}: {error}")
    for seq, error in verdict.unprojectable[:ROWS_SHOWN]:
        lines.append(f"not projectable (quarantined by lcd): event {seq}: {error}")
    for check in verdict.tables:
        if check.equal:
            lines.append(f"ok   {check.table}: {check.rows} rows, digest {check.digest[:12]}")
            continue
        lines.append(f"DIFF {check.table}: the table and a fresh fold of the log disagree")
        for row in check.only_in_table:
            lines.append(f"    in the table, not in the fold: {row}")
        for row in check.only_in_fold:
            lines.append(f"    in the fold, not in the table: {row}")
    lines.append("verified: the read models equal the log" if verdict.ok else "NOT verified")
    return "\n".join(lines)
