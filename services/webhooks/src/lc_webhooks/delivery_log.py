"""The delivery log: one row per attempt in lcd's `webhook_deliveries` table (lcd's
migration 0006 creates it; this is the worker's writing view of it), purged after the
retention time. lcd's `GET /api/v1/webhooks/{id}/deliveries` reads it.

Rows are buffered and written together every `FLUSH_EVERY_S` (one statement for many
rows): a transaction per attempt cost more than the delivery itself. The log is for
people; a row lost with a killed worker costs no delivery (the consumer's position does
not depend on it), and a buffer past `MAX_BUFFERED` drops its oldest rows.

Callers: the courier (record), the worker (purge).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

TS = sa.DateTime(timezone=True)
metadata = sa.MetaData()
webhook_deliveries = sa.Table(
    "webhook_deliveries",
    metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("subscription_id", sa.Text, nullable=False),
    sa.Column("event_id", sa.Text, nullable=False),
    sa.Column("event_seq", sa.BigInteger, nullable=False),
    sa.Column("event_type", sa.Text, nullable=False),
    sa.Column("attempt", sa.Integer, nullable=False),
    sa.Column("outcome", sa.Text, nullable=False),
    sa.Column("status_code", sa.Integer, nullable=True),
    sa.Column("latency_ms", sa.Float, nullable=True),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("response_body", sa.Text, nullable=True),
    sa.Column("next_attempt_at", TS, nullable=True),
    sa.Column("attempted_at", TS, nullable=False),
)


@dataclass(frozen=True)
class DeliveryRecord:
    subscription_id: str
    event_id: str
    event_seq: int
    event_type: str
    attempt: int
    outcome: str  # delivered, failed, paused
    status_code: int | None
    latency_ms: float | None
    error: str | None
    response_body: str | None
    next_attempt_at: datetime | None
    attempted_at: datetime


def make_engine(database_url: str) -> AsyncEngine:
    if database_url.startswith("postgresql://"):
        database_url = "postgresql+psycopg://" + database_url.removeprefix("postgresql://")
    return create_async_engine(database_url, pool_size=5, pool_pre_ping=True)


FLUSH_EVERY_S = 0.2
MAX_BUFFERED = 50_000
log = logging.getLogger(__name__)


class DeliveryLog:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._buffer: list[dict[str, Any]] = []

    def record(self, record: DeliveryRecord) -> None:
        self._buffer.append(dict(vars(record)))  # flat: asdict's deep copy cost
        if len(self._buffer) > MAX_BUFFERED:
            del self._buffer[: len(self._buffer) - MAX_BUFFERED]

    async def flush(self) -> None:
        rows, self._buffer = self._buffer, []
        if rows:
            async with self._engine.begin() as conn:
                await conn.execute(webhook_deliveries.insert(), rows)

    async def run(self) -> None:
        """Flush every FLUSH_EVERY_S until cancelled, then once more."""
        try:
            while True:
                await asyncio.sleep(FLUSH_EVERY_S)
                try:
                    await self.flush()
                except Exception:
                    log.exception("could not write the delivery log")
        finally:
            with contextlib.suppress(Exception):
                await asyncio.shield(self.flush())

    async def purge(self, now: datetime, retention: timedelta) -> int:
        async with self._engine.begin() as conn:
            result = await conn.execute(
                webhook_deliveries.delete().where(
                    webhook_deliveries.c.attempted_at < now - retention
                )
            )
        return int(result.rowcount or 0)
