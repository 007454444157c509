"""Idempotency records: an Idempotency-Key, the request it was first used with, its answer.

Kept 24 hours (configurable) and never touched by replay. A key is first *reserved*
(no answer yet) so a concurrent duplicate can be told to wait; a reservation older than
`STALE_RESERVATION` belonged to a process that died and may be taken over.

Callers: `lc_api.api.idempotency` (the middleware).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from lc_api.db.tables import idempotency_records

STALE_RESERVATION = timedelta(seconds=30)


@dataclass(frozen=True)
class StoredAnswer:
    status_code: int
    headers: dict[str, str]
    body: bytes


@dataclass(frozen=True)
class Reservation:
    """The outcome of reserving a key."""

    reserved: bool  # we hold it now: run the request
    fingerprint: str | None = None  # the fingerprint the key was first used with
    answer: StoredAnswer | None = None  # its stored answer, if complete


class IdempotencyRecords:
    def __init__(self, engine: AsyncEngine, ttl_s: int) -> None:
        self._engine = engine
        self._ttl = timedelta(seconds=ttl_s)

    async def reserve(self, key: str, fingerprint: str) -> Reservation:
        t = idempotency_records
        async with self._engine.begin() as conn:
            # An expired record is as good as none.
            await conn.execute(
                t.delete().where(t.c.key == key, t.c.created_at < sa.func.now() - self._ttl)
            )
            inserted = await conn.scalar(
                insert(t)
                .values(key=key, fingerprint=fingerprint)
                .on_conflict_do_nothing(index_elements=[t.c.key])
                .returning(t.c.key)
            )
            if inserted is not None:
                return Reservation(reserved=True)
            row = (await conn.execute(sa.select(t).where(t.c.key == key))).first()
            if row is None:  # deleted in between: let the client retry
                return Reservation(reserved=False)
            if row.fingerprint != fingerprint:
                return Reservation(reserved=False, fingerprint=row.fingerprint)
            if row.status_code is not None:
                answer = StoredAnswer(
                    row.status_code, dict(row.headers or {}), bytes(row.body or b"")
                )
                return Reservation(reserved=False, fingerprint=row.fingerprint, answer=answer)
            taken = await conn.scalar(
                t.update()
                .where(
                    t.c.key == key,
                    t.c.status_code.is_(None),
                    t.c.created_at < sa.func.now() - STALE_RESERVATION,
                )
                .values(created_at=sa.func.now())
                .returning(t.c.key)
            )
            return Reservation(reserved=taken is not None, fingerprint=row.fingerprint)

    async def complete(self, key: str, answer: StoredAnswer) -> None:
        t = idempotency_records
        async with self._engine.begin() as conn:
            await conn.execute(
                t.update()
                .where(t.c.key == key)
                .values(
                    status_code=answer.status_code,
                    headers=answer.headers,
                    body=answer.body,
                    completed_at=sa.func.now(),
                )
            )

    async def release(self, key: str) -> None:
        """Forget a reservation whose answer must not be replayed (a 5xx, a 401, ...)."""
        async with self._engine.begin() as conn:
            await conn.execute(idempotency_records.delete().where(idempotency_records.c.key == key))

    async def purge_expired(self) -> int:
        t = idempotency_records
        async with self._engine.begin() as conn:
            result = await conn.execute(
                t.delete().where(t.c.created_at < sa.func.now() - self._ttl)
            )
        count: Any = result.rowcount
        return int(count or 0)
