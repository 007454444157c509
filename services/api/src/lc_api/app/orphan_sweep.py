"""Withdraw services and domains that outlived their project, in the background.

A service or domain written while its project was deleted is withdrawn by its own writer,
which checks the project after its append (`service_commands`, `domain_commands`), or by
the deletion's sweep (`deletion_cascade`). A writer that died between its append and that
check leaves it behind until the same command is retried; this sweep finishes the job
without a retry. lcd's runtime runs `sweep` every `orphan_sweep_interval_s`.

Candidates come from the read models (services and domains whose project is not there);
each is confirmed against the stream before it is deleted. Every lcd replica may sweep at
once: a deletion's event id is derived from the version it deletes, and it expects that
version, so racing sweeps write it once and the others find it done or already deleted.

Callers: `lc_api.runtime.lcd.Runtime`.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable

from lc_api.app.command_loop import CommandContext, Contended
from lc_api.app.domain_commands import DomainCommands
from lc_api.app.project_commands import ProjectCommands
from lc_api.app.service_commands import ServiceCommands
from lc_api.domain.errors import NotFound, PreconditionFailed

log = logging.getLogger(__name__)

FindOrphans = Callable[[], Awaitable[list[tuple[str, str]]]]
ACTOR = "lcd:orphan-sweep"


class OrphanSweep:
    def __init__(
        self,
        projects: ProjectCommands,
        services: ServiceCommands,
        domains: DomainCommands,
        *,
        orphaned_services: FindOrphans,
        orphaned_domains: FindOrphans,
    ) -> None:
        self._projects = projects
        self._services = services
        self._domains = domains
        self._orphaned_services = orphaned_services
        self._orphaned_domains = orphaned_domains

    async def sweep(self) -> int:
        """Delete every service and domain of a project that does not exist; how many."""
        withdrawn = 0
        for slug, name in await self._orphaned_services():
            withdrawn += await self._withdraw_service(slug, name)
        for slug, domain_id in await self._orphaned_domains():
            withdrawn += await self._withdraw_domain(slug, domain_id)
        return withdrawn

    async def _withdraw_service(self, slug: str, name: str) -> int:
        if (await self._projects.state(slug)).exists:
            return 0  # the read models lag behind a new project of the same slug
        state = await self._services.state(slug, name)
        if not state.exists:
            return 0
        ctx = CommandContext(command_id=f"orphan-sweep|{slug}|{name}|{state.version}", actor=ACTOR)
        # If-Match on the revision seen: a service written again meanwhile is left to the
        # check its own writer makes.
        with contextlib.suppress(NotFound, PreconditionFailed, Contended):
            written = await self._services.delete(slug, name, state.revision, ctx)
            if written.appended:
                log.warning("withdrew service '%s' of deleted project '%s'", name, slug)
                return 1
        return 0

    async def _withdraw_domain(self, slug: str, domain_id: str) -> int:
        if (await self._projects.state(slug)).exists:
            return 0
        state = await self._domains.state(domain_id)
        if not state.exists:
            return 0
        ctx = CommandContext(command_id=f"orphan-sweep|{domain_id}|{state.version}", actor=ACTOR)
        with contextlib.suppress(NotFound, Contended):
            written = await self._domains.delete(domain_id, ctx)
            if written.appended:
                log.warning("withdrew domain '%s' of deleted project '%s'", state.fqdn, slug)
                return 1
        return 0
