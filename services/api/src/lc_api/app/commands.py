"""lcd's commands, one facade over the command modules of each aggregate.

- `command_loop`      the one load → decide → append loop, retried on a lost race
- `project_commands`  create and rename a project; ProjectDeleted itself
- `service_commands`  write services, checking their project on both sides of the append
- `domain_commands`   register (claiming the FQDN), verify and delete custom domains
- `webhook_commands`  webhook subscriptions: subscribe, change, pause, rotate, replay
- `deletion_cascade`  delete a project with its services and domains, then sweep
- `orphan_sweep`      (run by the runtime) withdraw what a dying writer left in a deleted project

Callers: the API routes (`lc_api.api.routes`) through `Runtime.commands`, the benchmark.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from lc_api.app.command_loop import CommandContext, CommandLoop, Contended, Written
from lc_api.app.deletion_cascade import DeletionCascade, ListDomains
from lc_api.app.domain_commands import DomainCommands
from lc_api.app.project_commands import ForeignNamespaceOf, ProjectCommands
from lc_api.app.secret_commands import SecretCommands
from lc_api.app.service_commands import ServiceCommands
from lc_api.app.webhook_commands import ListWebhooks, WebhookCommands
from lc_api.app.webhook_targets import WebhookTargets
from lc_api.domain import custom_domain, project, service
from lc_contracts.envelope import now
from lc_contracts.sealing import SecretKey
from lc_contracts.specs import DomainRegistration, ProjectSpec, ServiceSpec
from lc_eventstore import EventStore

__all__ = ["CommandContext", "Commands", "Contended", "Written"]


class Commands:
    def __init__(
        self,
        store: EventStore,
        *,
        source: str,
        attempts: int = 8,
        project_domains: ListDomains | None = None,
        clock: Callable[[], datetime] = now,
        platform_domain: str | None = None,
        claim_window: timedelta = custom_domain.VERIFICATION_WINDOW,
        secret_key: SecretKey | None = None,
        foreign_namespace_of: ForeignNamespaceOf = lambda slug: None,
        webhook_targets: WebhookTargets | None = None,
        project_webhooks: ListWebhooks | None = None,
    ) -> None:
        loop = CommandLoop(store, source=source, attempts=attempts)
        self.projects = ProjectCommands(loop, foreign_namespace_of)
        self.services = ServiceCommands(loop, self.projects)
        self.secrets = SecretCommands(loop, self.projects, secret_key)
        self.webhooks = WebhookCommands(
            loop,
            self.projects,
            secret_key,
            webhook_targets or WebhookTargets(),
            clock,
            project_webhooks,
        )
        self.domains = DomainCommands(
            loop,
            self.projects,
            self.services,
            clock,
            platform_domain=platform_domain,
            claim_window=claim_window,
        )
        self.cascade = DeletionCascade(
            loop, self.projects, self.services, self.domains, project_domains
        )

    # --- projects -------------------------------------------------------------------

    async def project_state(self, slug: str) -> project.ProjectState:
        return await self.projects.state(slug)

    async def create_project(self, spec: ProjectSpec, ctx: CommandContext) -> Written:
        return await self.projects.create(spec, ctx)

    async def rename_project(
        self, slug: str, name: str, if_match: int | None, ctx: CommandContext
    ) -> Written:
        return await self.projects.rename(slug, name, if_match, ctx)

    async def delete_project(
        self, slug: str, if_match: int | None, cascade: bool, ctx: CommandContext
    ) -> Written:
        written = await self.cascade.delete_project(slug, if_match, cascade, ctx)
        # A project created later under the same slug starts with no secrets, and no
        # subscription of this one receives its events.
        swept = await self.secrets.delete_all(slug, ctx.follow_up("secrets"))
        swept += await self.webhooks.delete_all(slug, ctx.follow_up("webhooks"))
        return Written(max([written.seq, *swept]), appended=written.appended or bool(swept))

    # --- services -------------------------------------------------------------------

    async def service_state(self, slug: str, name: str) -> service.ServiceState:
        return await self.services.state(slug, name)

    async def create_service(self, slug: str, spec: ServiceSpec, ctx: CommandContext) -> Written:
        return await self.services.create(slug, spec, ctx)

    async def apply_service(
        self, slug: str, name: str, spec: ServiceSpec, if_match: int | None, ctx: CommandContext
    ) -> Written:
        return await self.services.apply(slug, name, spec, if_match, ctx)

    async def patch_service(
        self,
        slug: str,
        name: str,
        changes: dict[str, Any],
        if_match: int | None,
        ctx: CommandContext,
    ) -> Written:
        return await self.services.patch(slug, name, changes, if_match, ctx)

    async def rollback_service(
        self, slug: str, name: str, revision: int, if_match: int | None, ctx: CommandContext
    ) -> Written:
        return await self.services.rollback(slug, name, revision, if_match, ctx)

    async def delete_service(
        self, slug: str, name: str, if_match: int | None, ctx: CommandContext
    ) -> Written:
        return await self.services.delete(slug, name, if_match, ctx)

    # --- domains --------------------------------------------------------------------

    async def domain_state(self, domain_id: str) -> custom_domain.DomainState:
        return await self.domains.state(domain_id)

    async def register_domain(
        self, registration: DomainRegistration, ctx: CommandContext
    ) -> tuple[str, Written]:
        return await self.domains.register(registration, ctx)

    async def verify_domain(self, domain_id: str, ctx: CommandContext) -> Written:
        return await self.domains.verify(domain_id, ctx)

    async def delete_domain(self, domain_id: str, ctx: CommandContext) -> Written:
        return await self.domains.delete(domain_id, ctx)
