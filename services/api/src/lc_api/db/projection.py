"""The read-model projection: folds LC_EVENTS into lcd's tables, one batch per transaction.

Implements `lc_eventstore.Projection`; `ProjectionRunner` drives it (live in lcd's
lifespan, from scratch in `lc replay`). Every statement is an upsert or a delete keyed by
the aggregate, so the tables are a pure function of the events, whatever the batching.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import singledispatchmethod
from typing import Any, ClassVar, Final

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from lc_api.db.tables import (
    READ_MODELS,
    audit_events,
    domains,
    project_secrets,
    projects,
    service_revisions,
    services,
    webhooks,
)
from lc_api.domain.custom_domain import DomainStatus
from lc_contracts.events import (
    DomainDeleted,
    DomainRegistered,
    DomainVerificationFailed,
    DomainVerificationLost,
    DomainVerificationRequested,
    DomainVerified,
    Payload,
    ProjectCreated,
    ProjectDeleted,
    ProjectUpdated,
    SecretDeleted,
    SecretSet,
    ServiceApplied,
    ServiceDeleted,
    ServiceStatusChanged,
    WebhookDeleted,
    WebhookPaused,
    WebhookResumed,
    WebhookSecretRotated,
    WebhookSubscribed,
    WebhookUpdated,
    shown,
)
from lc_eventstore import StoredEvent

PROJECTION_NAME = "lcd-read-models"


# Runs of one kind are written with one statement per table, whatever their length: the
# rows travel as one JSON array, which `json_populate_recordset` turns back into rows of
# the table's own type on the server. So a batch costs a handful of statements and round
# trips, not one per event, and its parameters are one string each (a text[] parameter
# costs an escape per quote and space in its values, which JSON documents are full of).
def _audit_insert(on_conflict: str) -> sa.TextClause:
    return sa.text(
        f"""
        INSERT INTO {audit_events.name}
        SELECT * FROM json_populate_recordset(NULL::{audit_events.name}, CAST(:rows AS json))
        {on_conflict}
        """
    )


_AUDIT = _audit_insert("ON CONFLICT (seq) DO NOTHING")
AUDIT_APPEND: Final = _audit_insert("")
"""The audit rows into a table that has no key yet (`lc_api.db.rebuild`, which keys it
after the fold: the stream's sequences are unique already)."""

_REVISIONS = sa.text(
    f"""
    INSERT INTO {service_revisions.name}
    SELECT * FROM json_populate_recordset(NULL::{service_revisions.name}, CAST(:rows AS json))
    ON CONFLICT (project_slug, name, revision) DO UPDATE SET
        spec = excluded.spec, rollback_of = excluded.rollback_of,
        seq = excluded.seq, created_at = excluded.created_at
    """
)


def _services_upsert(born: bool) -> sa.TextClause:
    """A service's row after a run of its revisions: the last one's spec. With `born` (a
    revision 1 in the run: the service was created, or created again after a deletion)
    the upsert also sets its creation time and clears the phase of what came before."""
    reborn = ", created_at = excluded.created_at, phase = NULL, phase_message = NULL"
    return sa.text(
        f"""
        INSERT INTO {services.name}
        SELECT * FROM json_populate_recordset(NULL::{services.name}, CAST(:rows AS json))
        ON CONFLICT (project_slug, name) DO UPDATE SET
            tier = excluded.tier, spec = excluded.spec, revision = excluded.revision,
            version = excluded.version, updated_at = excluded.updated_at{reborn if born else ""}
        """
    )


_SERVICE_UPDATED, _SERVICE_BORN = _services_upsert(False), _services_upsert(True)


def _json(value: str | bytes) -> orjson.Fragment:
    """A value already serialised as JSON (by pydantic-core), spliced into a row as is."""
    return orjson.Fragment(value)


def _rows(rows: Sequence[dict[str, Any]]) -> dict[str, str]:
    """The parameter of the statements above: `rows` as one JSON array of objects.

    orjson writes the whole array in one call (its datetimes in ISO 8601, its fragments
    as they are); building it row by row with `json.dumps` took a fifth of a rebuild's
    Python time."""
    return {"rows": orjson.dumps(rows).decode()}


def _shown_json(event: StoredEvent) -> orjson.Fragment:
    """The envelope as the audit log shows it (`shown`): as the stream holds it when no
    field is hidden, which saves serialising it again (the stored JSON was parsed without
    error as the envelope: valid JSON with no unknown field), else serialised without
    the hidden fields."""
    envelope = shown(event.envelope)
    if envelope is event.envelope and event.stored is not None:
        return _json(event.stored)
    return _json(envelope.model_dump_json(exclude_none=True))


def event_project(event: StoredEvent) -> str | None:
    """The project an event concerns, when it says so itself."""
    data = event.envelope.data
    for key in ("projectSlug", "slug"):
        value = data.get(key)
        if isinstance(value, str):
            return value
    return None


class ReadModelProjection:
    name = PROJECTION_NAME
    audit_insert: ClassVar[sa.TextClause] = _AUDIT

    async def reset(self, conn: AsyncConnection) -> None:
        # DELETE, not TRUNCATE: a rebuild runs in one transaction, and until it commits,
        # lcd's readers keep seeing the old rows instead of waiting on a table lock.
        for table in READ_MODELS:
            await conn.execute(table.delete())

    async def apply(self, conn: AsyncConnection, events: Sequence[StoredEvent]) -> None:
        audit: list[dict[str, Any]] = []
        applied: list[StoredEvent] = []  # a run of service.applied, written in bulk
        for event in events:
            if isinstance(event.payload, ServiceApplied):
                applied.append(event)
            else:
                await self._services_applied(conn, applied)
                applied = []
            project_slug = event_project(event)
            if project_slug is None and event.envelope.type.startswith("domain."):
                project_slug = await conn.scalar(
                    sa.select(domains.c.project_slug).where(
                        domains.c.id == event.envelope.data.get("id")
                    )
                )
            if not applied:
                await self._apply(event.payload, conn, event.seq, event.envelope.time)
            audit.append(
                {
                    "seq": event.seq,
                    "type": event.envelope.type,
                    "subject": event.envelope.subject,
                    "project_slug": project_slug,
                    "time": event.envelope.time,
                    "envelope": _shown_json(event),
                }
            )
        await self._services_applied(conn, applied)
        if audit:
            await conn.execute(self.audit_insert, _rows(audit))

    async def _services_applied(self, conn: AsyncConnection, run: Sequence[StoredEvent]) -> None:
        """A run of consecutive `service.applied` events in at most three statements, whatever its
        length, leaving the rows that applying them one by one would: each service takes
        its last revision; a revision 1 in the run (a new service) sets its creation time
        and clears its phase; every revision gets its row."""
        if not run:
            return
        latest: dict[tuple[str, str], dict[str, Any]] = {}
        first_at: dict[tuple[str, str], datetime] = {}
        born_at: dict[tuple[str, str], datetime] = {}
        revisions: dict[tuple[str, str, int], dict[str, Any]] = {}
        for event in run:
            payload = event.payload
            assert isinstance(payload, ServiceApplied)
            key = (payload.project_slug, payload.spec.name)
            at = event.envelope.time
            spec = _json(payload.spec.model_dump_json(by_alias=True, exclude_none=True))
            first_at.setdefault(key, at)
            if payload.revision == 1:
                born_at[key] = at
            latest[key] = {
                "project_slug": key[0],
                "name": key[1],
                "tier": str(payload.spec.tier),
                "spec": spec,
                "revision": payload.revision,
                "version": event.seq,
                "updated_at": at,
            }
            revisions[(*key, payload.revision)] = {
                "project_slug": key[0],
                "name": key[1],
                "revision": payload.revision,
                "spec": spec,
                "rollback_of": payload.rollback_of,
                "seq": event.seq,
                "created_at": at,
            }
        updated = [
            {**row, "created_at": first_at[k]} for k, row in latest.items() if k not in born_at
        ]
        if updated:
            await conn.execute(_SERVICE_UPDATED, _rows(updated))
        born = [{**row, "created_at": born_at[k]} for k, row in latest.items() if k in born_at]
        if born:
            await conn.execute(_SERVICE_BORN, _rows(born))
        await conn.execute(_REVISIONS, _rows(list(revisions.values())))

    @singledispatchmethod
    async def _apply(self, event: Payload, conn: AsyncConnection, seq: int, at: datetime) -> None:
        """Events without a read model of their own only reach the audit log."""

    @_apply.register
    async def _(self, event: ProjectCreated, conn: AsyncConnection, seq: int, at: datetime) -> None:
        stmt = insert(projects).values(
            slug=event.slug, name=event.name, version=seq, created_at=at, updated_at=at
        )
        await conn.execute(
            stmt.on_conflict_do_update(
                index_elements=[projects.c.slug],
                set_={"name": event.name, "version": seq, "created_at": at, "updated_at": at},
            )
        )

    @_apply.register
    async def _(self, event: ProjectUpdated, conn: AsyncConnection, seq: int, at: datetime) -> None:
        await conn.execute(
            projects.update()
            .where(projects.c.slug == event.slug)
            .values(name=event.name, version=seq, updated_at=at)
        )

    @_apply.register
    async def _(self, event: ProjectDeleted, conn: AsyncConnection, seq: int, at: datetime) -> None:
        await conn.execute(projects.delete().where(projects.c.slug == event.slug))

    @_apply.register
    async def _(self, event: ServiceDeleted, conn: AsyncConnection, seq: int, at: datetime) -> None:
        for table in (services, service_revisions):
            await conn.execute(
                table.delete().where(
                    table.c.project_slug == event.project_slug, table.c.name == event.name
                )
            )

    @_apply.register
    async def _(
        self, event: ServiceStatusChanged, conn: AsyncConnection, seq: int, at: datetime
    ) -> None:
        await conn.execute(
            services.update()
            .where(services.c.project_slug == event.project_slug, services.c.name == event.name)
            .values(phase=str(event.phase), phase_message=event.message)
        )

    @_apply.register
    async def _(self, event: SecretSet, conn: AsyncConnection, seq: int, at: datetime) -> None:
        key = {"project_slug": event.project_slug, "name": event.name}
        values = {"version": event.version, "seq": seq, "updated_at": at}
        stmt = insert(project_secrets).values(**key, **values, created_at=at)
        await conn.execute(
            stmt.on_conflict_do_update(
                index_elements=[project_secrets.c.project_slug, project_secrets.c.name],
                set_=values,
            )
        )

    @_apply.register
    async def _(self, event: SecretDeleted, conn: AsyncConnection, seq: int, at: datetime) -> None:
        await conn.execute(
            project_secrets.delete().where(
                project_secrets.c.project_slug == event.project_slug,
                project_secrets.c.name == event.name,
            )
        )

    @_apply.register
    async def _(
        self, event: DomainRegistered, conn: AsyncConnection, seq: int, at: datetime
    ) -> None:
        values = {
            "fqdn": event.fqdn,
            "project_slug": event.project_slug,
            "service_name": event.service_name,
            "status": DomainStatus.PENDING.value,
            "challenge_token": event.challenge_token,
            "last_failure": None,
            "version": seq,
            "created_at": at,
            "updated_at": at,
            "verified_at": None,
        }
        stmt = insert(domains).values(id=event.id, **values)
        await conn.execute(stmt.on_conflict_do_update(index_elements=[domains.c.id], set_=values))

    async def _domain(
        self, conn: AsyncConnection, domain_id: str, seq: int, at: datetime, **values: Any
    ) -> None:
        await conn.execute(
            domains.update()
            .where(domains.c.id == domain_id)
            .values(version=seq, updated_at=at, **values)
        )

    @_apply.register
    async def _(
        self, event: DomainVerificationRequested, conn: AsyncConnection, seq: int, at: datetime
    ) -> None:
        await self._domain(conn, event.id, seq, at, status=DomainStatus.VERIFYING.value)

    @_apply.register
    async def _(self, event: DomainVerified, conn: AsyncConnection, seq: int, at: datetime) -> None:
        await self._domain(
            conn,
            event.id,
            seq,
            at,
            status=DomainStatus.VERIFIED.value,
            verified_at=at,
            last_failure=None,
        )

    @_apply.register
    async def _(
        self, event: DomainVerificationFailed, conn: AsyncConnection, seq: int, at: datetime
    ) -> None:
        if event.final:
            await self._domain(
                conn, event.id, seq, at, status=DomainStatus.FAILED.value, last_failure=event.reason
            )
        else:
            await self._domain(conn, event.id, seq, at, last_failure=event.reason)

    @_apply.register
    async def _(
        self, event: DomainVerificationLost, conn: AsyncConnection, seq: int, at: datetime
    ) -> None:
        await self._domain(
            conn,
            event.id,
            seq,
            at,
            status=DomainStatus.FAILED.value,
            verified_at=None,
            last_failure=event.reason,
        )

    @_apply.register
    async def _(self, event: DomainDeleted, conn: AsyncConnection, seq: int, at: datetime) -> None:
        await conn.execute(domains.delete().where(domains.c.id == event.id))

    @_apply.register
    async def _(
        self, event: WebhookSubscribed, conn: AsyncConnection, seq: int, at: datetime
    ) -> None:
        values = {
            "url": event.url,
            "event_types": event.event_types,
            "project_slug": event.project_slug,
            "description": event.description,
            "status": "active",
            "pause_reason": None,
            "pause_detail": None,
            "paused_at_sequence": None,
            "secret_rotated_at": None,
            "previous_secret_expires_at": None,
            "version": seq,
            "created_at": at,
            "updated_at": at,
        }
        stmt = insert(webhooks).values(id=event.id, **values)
        await conn.execute(stmt.on_conflict_do_update(index_elements=[webhooks.c.id], set_=values))

    async def _webhook(
        self, conn: AsyncConnection, subscription_id: str, seq: int, at: datetime, **values: Any
    ) -> None:
        await conn.execute(
            webhooks.update()
            .where(webhooks.c.id == subscription_id)
            .values(version=seq, updated_at=at, **values)
        )

    @_apply.register
    async def _(self, event: WebhookUpdated, conn: AsyncConnection, seq: int, at: datetime) -> None:
        await self._webhook(
            conn,
            event.id,
            seq,
            at,
            url=event.url,
            event_types=event.event_types,
            description=event.description,
        )

    @_apply.register
    async def _(self, event: WebhookPaused, conn: AsyncConnection, seq: int, at: datetime) -> None:
        await self._webhook(
            conn,
            event.id,
            seq,
            at,
            status="paused",
            pause_reason=event.reason,
            pause_detail=event.detail,
            paused_at_sequence=event.at_sequence,
        )

    @_apply.register
    async def _(self, event: WebhookResumed, conn: AsyncConnection, seq: int, at: datetime) -> None:
        await self._webhook(
            conn,
            event.id,
            seq,
            at,
            status="active",
            pause_reason=None,
            pause_detail=None,
            paused_at_sequence=None,
        )

    @_apply.register
    async def _(
        self, event: WebhookSecretRotated, conn: AsyncConnection, seq: int, at: datetime
    ) -> None:
        await self._webhook(
            conn,
            event.id,
            seq,
            at,
            secret_rotated_at=at,
            previous_secret_expires_at=event.previous_expires_at,
        )

    @_apply.register
    async def _(self, event: WebhookDeleted, conn: AsyncConnection, seq: int, at: datetime) -> None:
        await conn.execute(webhooks.delete().where(webhooks.c.id == event.id))
