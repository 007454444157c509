"""Read the audit log (the `audit_events` projection of LC_EVENTS) for audit questions:
which stream position a moment names, and the events up to it.

Callers: the audit routes (`lc_api.api.routes.audit`) and `lc state` / `lc diff`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncEngine

from lc_api.db.tables import audit_events
from lc_api.domain.project_history import LoggedEvent
from lc_api.domain.state_diff import Cause
from lc_contracts.envelope import Envelope
from lc_contracts.events import ProjectCreated

# The rows `AuditLog.project_events` keeps (see there), by sequence.
_DECIDING = sa.text(
    """
    WITH ev AS (
        SELECT seq, type, subject FROM audit_events
        WHERE project_slug = :slug AND seq >= :born AND seq <= :upto
    ),
    services AS (
        SELECT subject, coalesce(max(seq) FILTER (WHERE type = 'service.deleted'), 0) AS gone
        FROM ev WHERE type LIKE 'service.%' GROUP BY subject
    ),
    live AS (
        SELECT ev.seq, ev.type, ev.subject FROM ev JOIN services USING (subject)
        WHERE ev.seq > services.gone
    ),
    applied AS (
        SELECT subject, min(seq) AS first, max(seq) AS last
        FROM live WHERE type = 'service.applied' GROUP BY subject
    ),
    phased AS (
        SELECT live.subject, max(live.seq) AS seq FROM live JOIN applied USING (subject)
        WHERE live.type = 'service.status_changed' AND live.seq > applied.first
        GROUP BY live.subject
    ),
    deciding AS (
        SELECT seq FROM ev WHERE type NOT LIKE 'service.%'
        UNION SELECT first FROM applied
        UNION SELECT last FROM applied
        UNION SELECT seq FROM phased
    )
    SELECT seq, envelope FROM audit_events WHERE seq IN (SELECT seq FROM deciding) ORDER BY seq
    """
).columns(seq=sa.BigInteger, envelope=JSONB)


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

    async def project_events(self, slug: str, *, upto: int) -> list[LoggedEvent]:
        """The events of one project up to `upto` that decide its state there, in stream
        order: `project_history.fold` of them equals its fold of every event of the project.

        Only the newest incarnation of the project counts (a `project.created` starts from
        nothing), and of each service only the events since its last deletion that can
        still show: its first `service.applied` (it exists from there), its last (the spec
        and revision), and its last `service.status_changed` after the first (the phase;
        an apply keeps the phase). Project and domain events are few and all kept. So a
        service with a long history costs three rows to decode, not one per revision.
        """
        upto_here = sa.and_(audit_events.c.project_slug == slug, audit_events.c.seq <= upto)
        async with self._engine.connect() as conn:
            born = await conn.scalar(
                sa.select(sa.func.max(audit_events.c.seq)).where(
                    upto_here, audit_events.c.type == ProjectCreated.TYPE
                )
            )
            if born is None:
                return []
            rows = (await conn.execute(_DECIDING, {"slug": slug, "born": born, "upto": upto})).all()
        return [LoggedEvent(row.seq, Envelope.model_validate(row.envelope), slug) for row in rows]

    async def projects(self, *, upto: int) -> list[str]:
        """Every project with an event up to `upto`."""
        query = (
            sa.select(audit_events.c.project_slug)
            .where(audit_events.c.seq <= upto, audit_events.c.project_slug.is_not(None))
            .distinct()
        )
        async with self._engine.connect() as conn:
            return list((await conn.scalars(query)).all())

    async def causes(self, *, after: int, upto: int, project: str | None) -> list[Cause]:
        """What a diff names of each event with `after < seq <= upto` (of one project if
        named), read from the columns and a few envelope attributes, nothing decoded."""
        envelope = audit_events.c.envelope
        query = (
            sa.select(
                audit_events.c.seq,
                audit_events.c.subject,
                audit_events.c.type,
                audit_events.c.time,
                envelope["id"].astext.label("id"),
                envelope["actor"].astext.label("actor"),
                envelope["correlationid"].astext.label("correlation_id"),
            )
            .where(audit_events.c.seq > after, audit_events.c.seq <= upto)
            .order_by(audit_events.c.seq)
        )
        if project is not None:
            query = query.where(audit_events.c.project_slug == project)
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [Cause(**row._mapping) for row in rows]

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
