"""Read the audit log (the `audit_events` projection of LC_EVENTS) for audit questions:
which stream position a moment names, and the events up to it.

Callers: the audit routes (`lc_api.api.routes.audit`) and `lc state` / `lc diff`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

import orjson
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from lc_api.db.tables import audit_events
from lc_api.domain.project_history import FOLDED_TYPES, LoggedEvent
from lc_api.domain.state_diff import Cause
from lc_contracts.events import ProjectCreated, ServiceApplied, ServiceDeleted, ServiceStatusChanged
from lc_contracts.subjects import service_subject

# What decides a project's state up to a moment (see `AuditLog.project_events`), in one
# statement: of each service's subject the latest event of each service type, read off
# the (project_slug, type, subject, seq) index backwards without a visit to the table
# nor an aggregate (one step per index entry, a third of a hash aggregate's cost per
# event); and every event of the other types a state shows (a project's and its
# domains': few). Which of them count (since the project's last creation, the service's
# last deletion) is decided in Python.
_LATEST = """
    (SELECT DISTINCT ON (project_slug, type, subject) project_slug, type, subject, seq
     FROM audit_events
     WHERE {projects} AND type = ANY(CAST(:service_types AS text[])) AND seq <= :upto{services}
     ORDER BY project_slug DESC, type DESC, subject DESC, seq DESC)
    UNION ALL
    SELECT project_slug, type, subject, seq FROM audit_events
    WHERE {projects} AND type = ANY(CAST(:other_types AS text[])) AND seq <= :upto
"""
# Until autovacuum has analyzed the table (a fresh install, a burst of events since)
# the planner guesses a handful of rows and sorts a bitmap scan's instead: 3-8 times
# slower at 100,000 events (external merge). The index's order is the plan either way.
_INDEX_ORDER = sa.text(
    "SELECT set_config('enable_sort', 'off', true), set_config('enable_bitmapscan', 'off', true)"
)
_OF_PROJECT = sa.text(_LATEST.format(projects="project_slug = :slug", services=""))
_OF_ONE_SERVICE = sa.text(
    _LATEST.format(projects="project_slug = :slug", services=" AND subject = :subject")
)
_OF_EVERY_PROJECT = sa.text(_LATEST.format(projects="project_slug IS NOT NULL", services=""))

# The first `service.applied` after a moment (the project's creation or the service's
# last deletion), of services whose last phase came before their last apply: one step
# down the index each.
_FIRST_SINCE = sa.text(
    """
    SELECT g.project_slug, g.subject, (
        SELECT min(e.seq) FROM audit_events e
        WHERE e.project_slug = g.project_slug AND e.type = :applied
          AND e.subject = g.subject AND e.seq > g.after AND e.seq <= :upto
    ) AS first
    FROM unnest(CAST(:projects AS text[]), CAST(:subjects AS text[]), CAST(:after AS bigint[]))
        AS g(project_slug, subject, after)
    """
)

_SERVICE_TYPES: Final = [ServiceApplied.TYPE, ServiceDeleted.TYPE, ServiceStatusChanged.TYPE]
_OTHER_TYPES: Final = sorted(FOLDED_TYPES - set(_SERVICE_TYPES))

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
        and all kept; events no state shows are not read. So a service with a long history
        costs one to three rows to decode, not one per revision.
        """
        return (await self._deciding(_OF_PROJECT, slug, upto)).get(slug, [])

    async def service_events(self, slug: str, name: str, *, upto: int) -> list[LoggedEvent]:
        """`project_events` without the project's other services: its fold shows the
        project and that one service as they were (a few rows, however many services)."""
        subject = service_subject(slug, name)
        return (await self._deciding(_OF_ONE_SERVICE, slug, upto, subject)).get(slug, [])

    async def every_project_events(self, *, upto: int) -> dict[str, list[LoggedEvent]]:
        """`project_events` of every project that existed at `upto`, by slug, at once."""
        return await self._deciding(_OF_EVERY_PROJECT, None, upto)

    async def _deciding(
        self, latest: sa.TextClause, slug: str | None, upto: int, subject: str | None = None
    ) -> dict[str, list[LoggedEvent]]:
        params = {
            "slug": slug,
            "subject": subject,
            "upto": upto,
            "service_types": _SERVICE_TYPES,
            "other_types": _OTHER_TYPES,
        }
        async with self._engine.connect() as conn:
            await conn.execute(_INDEX_ORDER)  # for this transaction only
            rows = (await conn.execute(latest, params)).all()
            born: dict[str, int] = {}  # each project's last creation
            for row in rows:
                if row.type == ProjectCreated.TYPE and row.seq > born.get(row.project_slug, 0):
                    born[row.project_slug] = row.seq
            seqs: list[int] = []
            services: dict[tuple[str, str], dict[str, int]] = {}
            for row in rows:
                since = born.get(row.project_slug)
                if since is None or row.seq < since:
                    continue  # before the project's newest incarnation
                if row.type in _SERVICE_TYPES:
                    services.setdefault((row.project_slug, row.subject), {})[row.type] = row.seq
                else:
                    seqs.append(row.seq)
            phased_before_last: dict[tuple[str, str], tuple[int, int]] = {}  # after, phase
            for key, latest_of in services.items():
                gone = latest_of.get(ServiceDeleted.TYPE, 0)
                last = latest_of.get(ServiceApplied.TYPE, 0)
                if last <= gone:
                    continue  # never applied, or deleted since
                seqs.append(last)
                phased = latest_of.get(ServiceStatusChanged.TYPE, 0)
                if phased <= gone:
                    continue  # no phase since it was (re)created
                if phased > last:
                    seqs.append(phased)
                else:  # the phase counts if the service existed then: applied before it
                    phased_before_last[key] = (max(gone, born[key[0]]), phased)
            if phased_before_last:
                firsts = await conn.execute(
                    _FIRST_SINCE,
                    {
                        "applied": ServiceApplied.TYPE,
                        "upto": upto,
                        "projects": [project for project, _ in phased_before_last],
                        "subjects": [subject for _, subject in phased_before_last],
                        "after": [after for after, _ in phased_before_last.values()],
                    },
                )
                for row in firsts:
                    phased = phased_before_last[row.project_slug, row.subject][1]
                    if row.first < phased:
                        seqs.extend((row.first, phased))
            decided = (await conn.execute(_DECIDING, {"seqs": sorted(set(seqs))})).all()
        events: dict[str, list[LoggedEvent]] = {project: [] for project in born}
        for row in decided:
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
