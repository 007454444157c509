"""lcd's process-wide runtime: connections, the projector and the status followers
(services, usage, the GPU fleet, the namespaces that are not ours).

Started in the FastAPI lifespan by `create_app` (and by the CLI commands, without the
HTTP part); stopped on shutdown. Nothing here exists before `Runtime.start`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial

import sqlalchemy as sa
from nats.aio.client import Client as NatsClient
from nats.js import JetStreamContext
from prometheus_client import CollectorRegistry, Gauge
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from lc_api.app.commands import Commands
from lc_api.app.orphan_sweep import OrphanSweep
from lc_api.app.webhook_targets import WebhookTargets, parse_nameservers
from lc_api.db.admin_auth import Authenticator, LoginLimiter
from lc_api.db.idempotency import IdempotencyRecords
from lc_api.db.migrate import migrate
from lc_api.db.projection import ReadModelProjection
from lc_api.db.queries import ReadModels
from lc_api.db.usage_history import UsageHistory
from lc_api.runtime.control import PAUSE_PROJECTOR
from lc_api.runtime.fleet_feed import FleetFeed
from lc_api.runtime.namespace_board import ForeignNamespaceBoard
from lc_api.runtime.status_board import StatusBoard
from lc_api.runtime.usage_board import HISTORY as USAGE_HISTORY
from lc_api.runtime.usage_board import UsageBoard
from lc_api.settings import ApiSettings
from lc_contracts.outbound import parse_networks
from lc_contracts.status import ServiceStatus
from lc_contracts.subjects import (
    FOREIGN_NAMESPACES_STATUS,
    SERVICE_STATUS,
    USAGE_STATUS,
    service_status_subject,
)
from lc_eventstore import EventStore, ProjectionRunner, connect, follow_status, provision_streams
from lc_eventstore.projection import read_checkpoint
from lc_runtime.supervision import run_restarting

log = logging.getLogger(__name__)

RESTART_DELAY_S = 1.0
PURGE_EVERY_S = 3600.0


async def connect_nats(settings: ApiSettings) -> NatsClient:
    return await connect(settings.nats_url, name="lcd")


def make_engine(settings: ApiSettings, pool_size: int = 20) -> AsyncEngine:
    return create_async_engine(
        settings.database_url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_recycle=1800,
        pool_pre_ping=True,  # a restarted PostgreSQL costs no failed request
    )


@dataclass
class Runtime:
    settings: ApiSettings
    nc: NatsClient
    js: JetStreamContext
    engine: AsyncEngine
    store: EventStore
    runner: ProjectionRunner
    commands: Commands
    read_models: ReadModels
    idempotency: IdempotencyRecords
    status_board: StatusBoard
    usage_board: UsageBoard
    usage_history: UsageHistory
    fleet: FleetFeed
    foreign_namespaces: ForeignNamespaceBoard
    limiter: LoginLimiter
    authenticator: Authenticator | None
    registry: CollectorRegistry
    startup_seq: int = 0
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    @classmethod
    async def start(cls, settings: ApiSettings, registry: CollectorRegistry) -> Runtime:
        await asyncio.to_thread(migrate, settings.database_url)
        nc = await connect_nats(settings)
        try:
            js = nc.jetstream()
            await provision_streams(js, replicas=settings.stream_replicas)
            engine = make_engine(settings)
        except BaseException:
            await nc.close()
            raise
        store = EventStore(js)
        runner = ProjectionRunner(engine, store, ReadModelProjection())
        status_board = StatusBoard()
        usage_board = UsageBoard()
        foreign_namespaces = ForeignNamespaceBoard()

        def status_of(slug: str, name: str) -> ServiceStatus | None:
            return status_board.get(service_status_subject(slug, name))

        read_models = ReadModels(
            engine,
            service_url=settings.service_url,
            cname_target=settings.cname_target,
            status_of=status_of,
        )
        limiter = LoginLimiter(engine, settings.login_max_failures, settings.login_window_s)
        authenticator = None
        if settings.auth_username is not None and settings.auth_password is not None:
            authenticator = Authenticator(
                settings.auth_username,
                settings.auth_password.get_secret_value(),
                engine,
                session_ttl_s=settings.session_ttl_s,
                limiter=limiter,
            )

        async def project_domains(slug: str) -> list[str]:
            # Ids of the project's domains, once the read models hold everything logged so far.
            await runner.wait_for(await store.last_seq(), settings.read_your_writes_timeout_s)
            return await read_models.project_domain_ids(slug)

        async def project_webhooks(slug: str) -> list[str]:
            # Ids of the project's subscriptions, the same way.
            await runner.wait_for(await store.last_seq(), settings.read_your_writes_timeout_s)
            return await read_models.project_webhook_ids(slug)

        runtime = cls(
            settings=settings,
            nc=nc,
            js=js,
            engine=engine,
            store=store,
            runner=runner,
            commands=Commands(
                store,
                source=settings.source,
                attempts=settings.command_attempts,
                project_domains=project_domains,
                project_webhooks=project_webhooks,
                platform_domain=settings.platform_domain,
                claim_window=timedelta(hours=settings.domain_expiry_h),
                secret_key=settings.sealing_key(),
                foreign_namespace_of=foreign_namespaces.foreign_namespace_of,
                webhook_targets=WebhookTargets(
                    allowed=parse_networks(settings.webhook_allow_networks),
                    allow_http=settings.webhook_allow_http,
                    nameservers=parse_nameservers(settings.dns_nameservers),
                ),
            ),
            read_models=read_models,
            idempotency=IdempotencyRecords(engine, settings.idempotency_ttl_s),
            status_board=status_board,
            usage_board=usage_board,
            usage_history=UsageHistory(engine),
            fleet=FleetFeed(),
            foreign_namespaces=foreign_namespaces,
            limiter=limiter,
            authenticator=authenticator,
            registry=registry,
        )
        runtime.startup_seq = await store.last_seq()
        runtime._metrics()
        runtime._start_tasks()
        return runtime

    def _metrics(self) -> None:
        position = Gauge(
            "lcd_projection_position",
            "Last stream sequence applied to the read models",
            registry=self.registry,
        )
        position.set_function(lambda: float(self.runner.position))
        skipped = Gauge(
            "lcd_projection_skipped",
            "Unreadable messages skipped by the projector",
            registry=self.registry,
        )
        skipped.set_function(lambda: float(self.runner.skipped))
        quarantined = Gauge(
            "lcd_projection_quarantined",
            "Events this process's projector could not apply and set aside "
            "(listed at /api/v1/events/quarantine)",
            registry=self.registry,
        )
        quarantined.set_function(lambda: float(self.runner.quarantined))
        active = Gauge(
            "lcd_projector_active",
            "1 when this process holds the projector lock",
            registry=self.registry,
        )
        active.set_function(lambda: 1.0 if self.runner.active else 0.0)

    def _start_tasks(self) -> None:
        if self.settings.projector_enabled:
            self._spawn("projector", self.runner.run)
            self.tasks.append(asyncio.create_task(self._listen_for_pause(), name="lcd-pause"))
        self._spawn("service-status", self._follow_service_status)
        self._spawn("usage", self._follow_usage)
        self._spawn("fleet", partial(self.fleet.follow, self.js))
        self._spawn("foreign-namespaces", self._follow_foreign_namespaces)
        self._spawn("expiry-purge", self._purge_expired)
        self._spawn("orphan-sweep", self._sweep_orphans)

    async def _listen_for_pause(self) -> None:
        """On a replay's request, drop the projector lock; the projector queues for it again."""
        sub = await self.nc.subscribe(PAUSE_PROJECTOR)
        try:
            async for message in sub.messages:
                if message.data.decode() != self.runner.projection.name:
                    continue
                projector = next((t for t in self.tasks if t.get_name() == "lcd-projector"), None)
                if projector is None:
                    continue
                projector.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await projector
                self.tasks.remove(projector)
                log.info("projector paused for a replay; standing by for the lock")
                self._spawn("projector", self.runner.run)
        finally:
            with contextlib.suppress(Exception):
                await sub.unsubscribe()

    def _spawn(self, name: str, run: Callable[[], Awaitable[None]]) -> None:
        supervised = run_restarting(name, run, delay_s=RESTART_DELAY_S, logger=log)
        self.tasks.append(asyncio.create_task(supervised, name=f"lcd-{name}"))

    async def _follow_service_status(self) -> None:
        async for batch in follow_status(self.js, SERVICE_STATUS):
            if not batch:
                self.status_board.bootstrapped = True
            self.status_board.update(batch)

    async def _follow_foreign_namespaces(self) -> None:
        async for batch in follow_status(self.js, FOREIGN_NAMESPACES_STATUS):
            self.foreign_namespaces.update(batch)

    async def _follow_usage(self) -> None:
        for snapshot in await self.usage_history.since(datetime.now(UTC) - USAGE_HISTORY):
            self.usage_board.add(snapshot)
        async for batch in follow_status(self.js, USAGE_STATUS):
            if not batch:
                self.usage_board.bootstrapped = True
            taken = self.usage_board.update(batch)
            try:
                await self.usage_history.record(taken)
            except (OSError, SQLAlchemyError) as exc:  # the live view goes on without it
                log.warning("usage history not recorded: %r", exc)

    async def _purge_expired(self) -> None:
        while True:
            purged = await self.idempotency.purge_expired()
            if purged:
                log.info("purged %d expired idempotency records", purged)
            await self.limiter.purge_expired()
            await self.usage_history.purge_older_than(datetime.now(UTC) - USAGE_HISTORY)
            await asyncio.sleep(PURGE_EVERY_S)

    async def _sweep_orphans(self) -> None:
        sweep = OrphanSweep(
            self.commands.projects,
            self.commands.services,
            self.commands.domains,
            orphaned_services=self.read_models.orphaned_services,
            orphaned_domains=self.read_models.orphaned_domains,
        )
        while True:
            await sweep.sweep()
            await asyncio.sleep(self.settings.orphan_sweep_interval_s)

    async def wait_projected(self, seq: int, timeout: float | None = None) -> bool:
        """True once the read models hold `seq`; False past the bound, or when PostgreSQL
        cannot say: the write landed either way, and its answer is a 202, not an error."""
        bound = self.settings.read_your_writes_timeout_s if timeout is None else timeout
        try:
            return await self.runner.wait_for(seq, bound)
        except (OSError, SQLAlchemyError) as exc:
            log.warning("cannot wait for seq %d to be projected: %r", seq, exc)
            return False

    async def checkpoint(self) -> int:
        async with self.engine.connect() as conn:
            return await read_checkpoint(conn, self.runner.projection.name)

    async def readiness(self) -> dict[str, str]:
        checks: dict[str, str] = {}
        checks["nats"] = "ok" if self.nc.is_connected else "disconnected"
        try:
            async with self.engine.connect() as conn:
                await conn.execute(sa.select(1))
            checks["postgres"] = "ok"
            position = await self.checkpoint()
            checks["projection"] = (
                "ok"
                if position >= self.startup_seq
                else f"catching up ({position}/{self.startup_seq})"
            )
        except Exception as exc:
            checks["postgres"] = f"unreachable: {type(exc).__name__}"
        checks["serviceStatus"] = "ok" if self.status_board.bootstrapped else "loading"
        return checks

    async def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        with contextlib.suppress(Exception):
            await self.nc.drain()
        await self.engine.dispose()
