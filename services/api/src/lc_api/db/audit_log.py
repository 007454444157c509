"""Read the audit log (the `audit_events` projection of LC_EVENTS) for audit questions:
which stream position a moment names, and the events up to it.

Callers: the audit routes (`lc_api.api.routes.audit`) and `lc state` / `lc diff`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from lc_api.db.tables import audit_events
from lc_api.domain.project_history import LoggedEvent
from lc_api.domain.state_diff import Cause
from lc_contracts.events import ProjectCreated

# What decides a project's state up to a moment, in one pass over its events (see
# `AuditLog.project_events`), per subject: the few events of a project or a domain, and
# of a service its last deletion, its first and last `service.applied` and its last
# `service.status_changed`.
# Only the newest incarnation of each project counts: from its last `project.created`.
_BY_SUBJECT = """
    WITH born AS (
        SELECT project_slug, max(seq) AS born FROM audit_events
        WHERE seq <= :upto AND type = '{created}' {projects}
        GROUP BY project_slug
    )
    SELECT e.project_slug, e.subject,
        array_agg(e.seq) FILTER (WHERE e.type NOT LIKE 'service.%') AS others,
        coalesce(max(e.seq) FILTER (WHERE e.type = 'service.deleted'), 0) AS gone,
        min(e.seq) FILTER (WHERE e.type = 'service.applied') AS first,
        max(e.seq) FILTER (WHERE e.type = 'service.applied') AS last,
        max(e.seq) FILTER (WHERE e.type = 'service.status_changed') AS phased
    FROM audit_events e JOIN born USING (project_slug)
    WHERE e.seq >= born.born AND e.seq <= :upto
    GROUP BY e.project_slug, e.subject
"""
_OF_PROJECT = sa.text(
    _BY_SUBJECT.format(created=ProjectCreated.TYPE, projects="AND project_slug = :slug")
)
_OF_EVERY_PROJECT = sa.text(_BY_SUBJECT.format(created=ProjectCreated.TYPE, projects=""))

# The first `service.applied` since the last deletion, of services deleted and applied again.
_FIRST_SINCE = sa.text(
    """
    SELECT g.subject, min(e.seq) AS first
    FROM unnest(CAST(:subjects AS text[]), CAST(:gone AS bigint[])) AS g(subject, gone)
    JOIN audit_events e ON e.subject = g.subject AND e.seq > g.gone
    WHERE e.seq <= :upto AND e.type = 'service.applied'
    GROUP BY g.subject
    """
)

# What a fold reads of each event: its envelope's type, version and data (as text, which
# orjson reads several times faster than psycopg's json.loads of jsonb).
_LOGGED = (
    "SELECT seq, project_slug, type, (envelope->>'dataversion')::int AS dataversion, "
    "(envelope->'data')::text AS data FROM audit_events"
)
_DECIDING = sa.text(f"{_LOGGED} WHERE seq = ANY(CAST(:seqs AS bigint[])) ORDER BY seq")


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
        still show: its last `service.applied` (the spec and revision) and its last
        `service.status_changed` after its first `service.applied` (the phase; an apply
        keeps the phase), with that first one when the phase came before the last apply
        (the service must exist for its phase to count). Project and domain events are few
        and all kept. So a service with a long history costs one to three rows to decode,
        not one per revision; one per service in one pass over the project's events.
        """
        return (await self._deciding(_OF_PROJECT, {"slug": slug, "upto": upto})).get(slug, [])

    async def every_project_events(self, *, upto: int) -> dict[str, list[LoggedEvent]]:
        """`project_events` of every project that existed at `upto`, by slug, in one pass."""
        return await self._deciding(_OF_EVERY_PROJECT, {"upto": upto})

    async def _deciding(
        self, by_subject: sa.TextClause, params: dict[str, object]
    ) -> dict[str, list[LoggedEvent]]:
        async with self._engine.connect() as conn:
            subjects = (await conn.execute(by_subject, params)).all()
            seqs: list[int] = []
            again: dict[str, tuple[int, int]] = {}  # deleted, applied again, then a phase
            for row in subjects:
                seqs.extend(row.others or ())
                if row.last is None or row.last <= row.gone:
                    continue  # never applied, or deleted since
                seqs.append(row.last)
                phased = row.phased if row.phased is not None and row.phased > row.gone else None
                if phased is None:
                    continue
                if phased > row.last:
                    seqs.append(phased)
                elif row.first > row.gone:
                    if phased > row.first:
                        seqs.extend((row.first, phased))
                else:
                    again[row.subject] = (row.gone, phased)
            if again:
                firsts = await conn.execute(
                    _FIRST_SINCE,
                    {
                        "upto": params["upto"],
                        "subjects": list(again),
                        "gone": [gone for gone, _ in again.values()],
                    },
                )
                for row in firsts:
                    phased = again[row.subject][1]
                    if phased > row.first:
                        seqs.extend((row.first, phased))
            rows = (await conn.execute(_DECIDING, {"seqs": sorted(set(seqs))})).all()
        events: dict[str, list[LoggedEvent]] = {row.project_slug: [] for row in subjects}
        for row in rows:
            events[row.project_slug].append(_logged(row))
        return events

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
        where = "seq > :after AND seq <= :upto"
        if project is not None:
            where += " AND project_slug = :project"
        query = sa.text(f"{_LOGGED} WHERE {where} ORDER BY seq")
        params = {"after": after, "upto": upto, "project": project}
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query, params)).all()
        return [_logged(row) for row in rows]


def _logged(row: sa.Row[Any]) -> LoggedEvent:
    return LoggedEvent(row.seq, row.type, row.dataversion, orjson.loads(row.data), row.project_slug)
