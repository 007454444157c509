"""Proxy usage history in PostgreSQL, so every lcd replica answers the same windows.

Each lcd follows the proxies' usage snapshots on LC_STATUS, but LC_STATUS keeps only the
latest per proxy replica: an lcd that started ten minutes ago would know ten minutes of
history and answer a one-hour window with everything since the proxy started. Every lcd
therefore records what it sees here, the first snapshot of each replica and minute
(replicas of lcd insert the same rows; the first one wins), and a starting lcd reads the
last day back before it follows the live snapshots.

Callers: lcd's runtime (its usage follower and its purge loop).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from lc_api.db.tables import usage_samples
from lc_contracts.status import UsageSnapshot


class UsageHistory:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def record(self, snapshots: Sequence[UsageSnapshot]) -> None:
        if not snapshots:
            return
        rows = [
            {
                "replica": s.replica,
                "minute": s.observed_at.replace(second=0, microsecond=0),
                "observed_at": s.observed_at,
                "snapshot": s.to_wire(),
            }
            for s in snapshots
        ]
        async with self._engine.begin() as conn:
            await conn.execute(insert(usage_samples).on_conflict_do_nothing(), rows)

    async def since(self, start: datetime) -> list[UsageSnapshot]:
        """Every recorded snapshot observed after `start`, oldest first."""
        async with self._engine.connect() as conn:
            rows = await conn.execute(
                sa.select(usage_samples.c.snapshot)
                .where(usage_samples.c.observed_at > start)
                .order_by(usage_samples.c.observed_at)
            )
            return [UsageSnapshot.model_validate(row.snapshot) for row in rows]

    async def purge_older_than(self, cutoff: datetime) -> int:
        async with self._engine.begin() as conn:
            result = await conn.execute(
                usage_samples.delete().where(usage_samples.c.observed_at < cutoff)
            )
        return int(result.rowcount or 0)
