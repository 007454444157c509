"""Read the audit log (the `audit_events` projection of LC_EVENTS) for audit questions:
which stream position a moment names, and the events up to it.

Callers: the audit routes (`lc_api.api.routes.audit`) and `lc state` / `lc diff`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from lc_api.db.tables import audit_events
from lc_api.domain.project_history import LoggedEvent
from lc_contracts.envelope import Envelope


@dataclass(frozen=True)
class Position:
    """A moment resolved to the log: every event up to `seq` (0: before the first one);
    `time` is that event's time (None before the first event)."""

    seq: int
    time: datetime | None


class AuditLog:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def position(self, moment: int | datetime | None) -> Position:
        """The log position a moment names. None names the log's end; a sequence names
        the last event at or before it; a time names the last event logged at or before
        it, extended to the end of that event's command (the events after it with the same
        `causationid`), so a moment inside a command sees all of it or none of it."""
        async with self._engine.connect() as conn:
            if moment is None:
                row = (
                    await conn.execute(
                        sa.select(audit_events.c.seq, audit_events.c.time)
                        .order_by(audit_events.c.seq.desc())
                        .limit(1)
                    )
                ).first()
                return Position(0, None) if row is None else Position(row.seq, row.time)
            if isinstance(moment, int):
                row = (
                    await conn.execute(
                        sa.select(audit_events.c.seq, audit_events.c.time)
                        .where(audit_events.c.seq <= moment)
                        .order_by(audit_events.c.seq.desc())
                        .limit(1)
                    )
                ).first()
                return Position(0, None) if row is None else Position(row.seq, row.time)
            row = (
                await conn.execute(
                    sa.select(
                        audit_events.c.seq,
                        audit_events.c.time,
                        audit_events.c.envelope["causationid"].astext.label("command"),
                    )
                    .where(audit_events.c.time <= moment)
                    .order_by(audit_events.c.seq.desc())
                    .limit(1)
                )
            ).first()
            if row is None:
                return Position(0, None)
            if row.command is None:
                return Position(row.seq, row.time)
            # The rest of the same command: the events right after it that share its id.
            following = (
                await conn.execute(
                    sa.select(
                        audit_events.c.seq,
                        audit_events.c.time,
                        audit_events.c.envelope["causationid"].astext.label("command"),
                    )
                    .where(audit_events.c.seq > row.seq)
                    .order_by(audit_events.c.seq)
                    .limit(64)
                )
            ).all()
            last = row
            for event in following:
                if event.command != row.command:
                    break
                last = event
            return Position(last.seq, last.time)

    async def events(
        self, *, after: int = 0, upto: int, project: str | None = None
    ) -> list[LoggedEvent]:
        """The events with `after < seq <= upto`, of one project if named, in stream order."""
        query = (
            sa.select(audit_events.c.seq, audit_events.c.envelope, audit_events.c.project_slug)
            .where(audit_events.c.seq > after, audit_events.c.seq <= upto)
            .order_by(audit_events.c.seq)
        )
        if project is not None:
            query = query.where(audit_events.c.project_slug == project)
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [
            LoggedEvent(row.seq, Envelope.model_validate(row.envelope), row.project_slug)
            for row in rows
        ]
