"""Read the projections and shape the API's answers (`lc_api.views`).

Callers: the routes (after a write has been projected, or for plain GETs) and the tests.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from lc_api.db.projection import PROJECTION_NAME
from lc_api.db.tables import (
    audit_events,
    domains,
    project_secrets,
    projects,
    service_revisions,
    services,
    webhooks,
)
from lc_api.domain.custom_domain import DomainStatus
from lc_api.views import (
    DomainView,
    EventView,
    Page,
    ProjectView,
    QuarantinedEventView,
    RevisionView,
    SecretView,
    ServiceStatusView,
    ServiceView,
)
from lc_contracts.fqdn import challenge_record_name
from lc_contracts.specs import ServiceSpec, Tier
from lc_contracts.status import ServicePhase, ServiceStatus
from lc_eventstore.projection import quarantine

StatusLookup = Callable[[str, str], ServiceStatus | None]
MAX_PAGE = 1000
ProjectSort = Literal["slug", "name", "updated"]
_DIGITS = 20  # numbers in names are compared as if zero-padded to this width


def natural_key(column: sa.ColumnElement[str]) -> sa.ColumnElement[str]:
    """A sort key that orders "Team 2" before "Team 10": case folded, every run of digits
    left-padded with zeros to the same width, compared bytewise."""
    padded = sa.func.regexp_replace(column, "([0-9]+)", "0" * _DIGITS + "\\1", "g")
    trimmed = sa.func.regexp_replace(padded, f"0*([0-9]{{{_DIGITS}}})", "\\1", "g")
    return sa.func.lower(trimmed).collate("C")


def _project_order(sort: ProjectSort) -> list[sa.ColumnElement[Any]]:
    if sort == "name":
        return [natural_key(projects.c.name), projects.c.slug]
    if sort == "updated":
        return [projects.c.updated_at.desc(), projects.c.slug.desc()]
    return [projects.c.slug]


def _projects_after(sort: ProjectSort, slug: str) -> sa.ColumnElement[bool]:
    """Projects that come after the project `slug` in `sort` order (none if it is gone)."""
    if sort == "slug":
        return projects.c.slug > slug
    cursor = projects.alias("cursor")
    if sort == "name":
        later = sa.tuple_(natural_key(projects.c.name), projects.c.slug) > sa.tuple_(
            natural_key(cursor.c.name), cursor.c.slug
        )
    else:
        later = sa.tuple_(projects.c.updated_at, projects.c.slug) < sa.tuple_(
            cursor.c.updated_at, cursor.c.slug
        )
    return sa.exists().where(cursor.c.slug == slug, later)


def _contains(text: str) -> str:
    """An ILIKE pattern matching `text` anywhere, its wildcards taken literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


class ReadModels:
    def __init__(
        self,
        engine: AsyncEngine,
        *,
        service_url: Callable[[str, str], str],
        cname_target: str,
        status_of: StatusLookup,
    ) -> None:
        self._engine = engine
        self._service_url = service_url
        self._cname_target = cname_target
        self._status_of = status_of

    # --- projects -------------------------------------------------------------------

    def _project_query(self) -> sa.Select[Any]:
        def count(*where: sa.ColumnElement[bool]) -> sa.ScalarSelect[Any]:
            return (
                sa.select(sa.func.count())
                .where(services.c.project_slug == projects.c.slug, *where)
                .scalar_subquery()
            )

        phase = sa.func.coalesce(services.c.phase, ServicePhase.PENDING.value)
        settled = (ServicePhase.READY.value, ServicePhase.FAILED.value)
        return sa.select(
            projects,
            count().label("service_count"),
            count(phase == ServicePhase.READY.value).label("ready_count"),
            count(phase == ServicePhase.FAILED.value).label("failed_count"),
            count(phase.not_in(settled)).label("deploying_count"),
        )

    @staticmethod
    def _project(row: Any) -> ProjectView:
        return ProjectView(
            slug=row.slug,
            name=row.name,
            version=row.version,
            service_count=row.service_count,
            ready_count=row.ready_count,
            failed_count=row.failed_count,
            deploying_count=row.deploying_count,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )

    async def project(self, slug: str) -> ProjectView | None:
        async with self._engine.connect() as conn:
            row = (await conn.execute(self._project_query().where(projects.c.slug == slug))).first()
        return self._project(row) if row else None

    async def projects(
        self,
        after: str | None,
        limit: int,
        search: str | None = None,
        sort: ProjectSort = "slug",
    ) -> Page[ProjectView]:
        """A page of projects in `sort` order; `after` is the slug of the previous page's last.

        `search` keeps projects whose name or slug contains it (any case). Every order ends
        on the slug, so the cursor is always a slug and pages never repeat or skip a project.
        """
        query = self._project_query().order_by(*_project_order(sort)).limit(limit + 1)
        if search:
            pattern = _contains(search)
            query = query.where(
                sa.or_(
                    projects.c.name.ilike(pattern, escape="\\"),
                    projects.c.slug.ilike(pattern, escape="\\"),
                )
            )
        if after:
            query = query.where(_projects_after(sort, after))
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        items = [self._project(r) for r in rows[:limit]]
        return Page[ProjectView](items=items, next=items[-1].slug if len(rows) > limit else None)

    # --- services -------------------------------------------------------------------

    def _service(self, row: Any, verified: list[str]) -> ServiceView:
        spec = ServiceSpec.model_validate(row.spec)
        observed = self._status_of(row.project_slug, row.name)
        if observed is not None:
            status = ServiceStatusView(
                phase=observed.phase,
                message=observed.message,
                ready_replicas=observed.ready_replicas,
                endpoints=observed.endpoints,
                observed_revision=observed.revision,
                observed_at=observed.observed_at,
            )
        else:
            status = ServiceStatusView(
                phase=ServicePhase(row.phase) if row.phase else ServicePhase.PENDING,
                message=row.phase_message or "",
            )
        return ServiceView(
            project_slug=row.project_slug,
            name=row.name,
            spec=spec,
            revision=row.revision,
            status=status,
            url=self._service_url(row.project_slug, row.name) if spec.exposed else None,
            domains=verified,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )

    async def _verified(
        self, conn: Any, slug: str, name: str | None = None
    ) -> dict[str, list[str]]:
        query = (
            sa.select(domains.c.service_name, domains.c.fqdn)
            .where(domains.c.project_slug == slug, domains.c.status == DomainStatus.VERIFIED.value)
            .order_by(domains.c.fqdn)
        )
        if name is not None:
            query = query.where(domains.c.service_name == name)
        out: dict[str, list[str]] = {}
        for row in (await conn.execute(query)).all():
            out.setdefault(row.service_name, []).append(row.fqdn)
        return out

    async def service(self, slug: str, name: str) -> ServiceView | None:
        async with self._engine.connect() as conn:
            row = (
                await conn.execute(
                    sa.select(services).where(
                        services.c.project_slug == slug, services.c.name == name
                    )
                )
            ).first()
            if row is None:
                return None
            verified = await self._verified(conn, slug, name)
        return self._service(row, verified.get(name, []))

    async def services(
        self,
        slug: str,
        after: str | None,
        limit: int,
        search: str | None = None,
        phases: Sequence[ServicePhase] = (),
        tiers: Sequence[Tier] = (),
    ) -> Page[ServiceView]:
        """A page of a project's services by name; filters: name contains `search`, last
        reported phase in `phases` (no report yet counts as Pending), tier in `tiers`."""
        query = (
            sa.select(services)
            .where(services.c.project_slug == slug)
            .order_by(services.c.name)
            .limit(limit + 1)
        )
        if search:
            query = query.where(services.c.name.ilike(_contains(search), escape="\\"))
        if phases:
            phase = sa.func.coalesce(services.c.phase, ServicePhase.PENDING.value)
            query = query.where(phase.in_([p.value for p in phases]))
        if tiers:
            query = query.where(services.c.tier.in_([t.value for t in tiers]))
        if after:
            query = query.where(services.c.name > after)
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
            verified = await self._verified(conn, slug)
        items = [self._service(r, verified.get(r.name, [])) for r in rows[:limit]]
        return Page[ServiceView](items=items, next=items[-1].name if len(rows) > limit else None)

    async def revisions(self, slug: str, name: str) -> list[RevisionView]:
        query = (
            sa.select(service_revisions)
            .where(service_revisions.c.project_slug == slug, service_revisions.c.name == name)
            .order_by(service_revisions.c.revision.desc())
        )
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [
            RevisionView(
                revision=r.revision,
                spec=ServiceSpec.model_validate(r.spec),
                rollback_of=r.rollback_of,
                created_at=r.created_at,
            )
            for r in rows
        ]

    # --- domains --------------------------------------------------------------------

    def _domain(self, row: Any) -> DomainView:
        return DomainView(
            id=row.id,
            fqdn=row.fqdn,
            project_slug=row.project_slug,
            service_name=row.service_name,
            status=row.status,
            challenge_rr=challenge_record_name(row.fqdn),
            challenge_token=row.challenge_token,
            cname_target=self._cname_target,
            last_failure=row.last_failure,
            created_at=row.created_at,
            updated_at=row.updated_at,
            verified_at=row.verified_at,
        )

    async def domain(self, domain_id: str) -> DomainView | None:
        async with self._engine.connect() as conn:
            row = (await conn.execute(sa.select(domains).where(domains.c.id == domain_id))).first()
        return self._domain(row) if row else None

    async def domains(self, project: str | None, after: str | None, limit: int) -> Page[DomainView]:
        query = sa.select(domains).order_by(domains.c.fqdn, domains.c.id).limit(limit + 1)
        if project:
            query = query.where(domains.c.project_slug == project)
        if after:
            query = query.where(domains.c.fqdn > after)
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        items = [self._domain(r) for r in rows[:limit]]
        return Page[DomainView](items=items, next=items[-1].fqdn if len(rows) > limit else None)

    async def project_domain_ids(self, slug: str) -> list[str]:
        return await self._project_ids(domains, slug)

    async def project_webhook_ids(self, slug: str) -> list[str]:
        return await self._project_ids(webhooks, slug)

    async def _project_ids(self, table: sa.Table, slug: str) -> list[str]:
        """The ids of `table`'s rows that belong to project `slug`."""
        query = sa.select(table.c.id).where(table.c.project_slug == slug).order_by(table.c.id)
        async with self._engine.connect() as conn:
            return list((await conn.execute(query)).scalars())

    # --- orphans --------------------------------------------------------------------

    async def orphaned_services(self) -> list[tuple[str, str]]:
        """(project slug, name) of every projected service whose project is not projected."""
        return await self._without_project(services, services.c.name)

    async def orphaned_domains(self) -> list[tuple[str, str]]:
        """(project slug, id) of every projected domain whose project is not projected."""
        return await self._without_project(domains, domains.c.id)

    async def _without_project(self, table: sa.Table, key: sa.Column[Any]) -> list[tuple[str, str]]:
        query = (
            sa.select(table.c.project_slug, key)
            .where(~sa.exists().where(projects.c.slug == table.c.project_slug))
            .order_by(table.c.project_slug, key)
        )
        async with self._engine.connect() as conn:
            return [(r[0], r[1]) for r in (await conn.execute(query)).all()]

    # --- secrets (names and versions only) -------------------------------------------

    @staticmethod
    def _secret(row: Any) -> SecretView:
        return SecretView(
            project_slug=row.project_slug,
            name=row.name,
            version=row.version,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )

    async def secret(self, slug: str, name: str) -> SecretView | None:
        query = sa.select(project_secrets).where(
            project_secrets.c.project_slug == slug, project_secrets.c.name == name
        )
        async with self._engine.connect() as conn:
            row = (await conn.execute(query)).first()
        return self._secret(row) if row else None

    async def secrets(self, slug: str) -> list[SecretView]:
        query = (
            sa.select(project_secrets)
            .where(project_secrets.c.project_slug == slug)
            .order_by(project_secrets.c.name)
        )
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [self._secret(r) for r in rows]

    # --- audit log ------------------------------------------------------------------

    async def events(
        self,
        after: int,
        limit: int,
        types: list[str],
        project: str | None,
        actor: str | None = None,
        order: Literal["asc", "desc"] = "asc",
    ) -> Page[EventView]:
        """A page of the audit log: oldest first after `after`, or (`desc`) newest first,
        below `after` when it is not 0."""
        query = sa.select(audit_events.c.seq, audit_events.c.envelope).limit(limit + 1)
        if order == "desc":
            query = query.order_by(audit_events.c.seq.desc())
            if after:
                query = query.where(audit_events.c.seq < after)
        else:
            query = query.order_by(audit_events.c.seq).where(audit_events.c.seq > after)
        if types:
            query = query.where(audit_events.c.type.in_(types))
        if project:
            query = query.where(audit_events.c.project_slug == project)
        if actor is not None:
            query = query.where(audit_events.c.envelope["actor"].astext == actor)
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        items = [EventView(seq=r.seq, **r.envelope) for r in rows[:limit]]
        return Page[EventView](items=items, next=str(items[-1].seq) if len(rows) > limit else None)

    async def quarantined(self, after: int, limit: int) -> Page[QuarantinedEventView]:
        """Events the read-model projection passed over, by stream sequence."""
        query = (
            sa.select(
                quarantine.c.seq,
                quarantine.c.subject,
                quarantine.c.type,
                quarantine.c.error,
                quarantine.c.quarantined_at,
            )
            .where(quarantine.c.projection == PROJECTION_NAME, quarantine.c.seq > after)
            .order_by(quarantine.c.seq)
            .limit(limit + 1)
        )
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        items = [QuarantinedEventView.model_validate(r._mapping) for r in rows[:limit]]
        return Page[QuarantinedEventView](
            items=items, next=str(items[-1].seq) if len(rows) > limit else None
        )
