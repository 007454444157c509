"""Deleting a project: its services and domains first (with `cascade`), then ProjectDeleted,
then a sweep of whatever was written meanwhile.

A Service or a Domain lives in a Project, and they are separate aggregates with no lock
between them. The stream orders every append, so each side checks the other after its own
append: a service command or a domain registration re-reads the project after writing
(`service_commands`, `domain_commands`), and a project deletion looks for the project's
services and domains again after writing ProjectDeleted (`sweep_services`,
`sweep_domains`). Whichever append comes second sees the first, so neither outlives
its project.

Callers: the `Commands` facade.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable
from functools import partial

from lc_api.app.command_loop import CommandContext, CommandLoop, Contended, Written
from lc_api.app.domain_commands import DomainCommands
from lc_api.app.project_commands import ProjectCommands
from lc_api.app.service_commands import ServiceCommands
from lc_api.domain import project
from lc_api.domain.errors import Conflict, NotFound
from lc_contracts.errors import ContractError
from lc_contracts.events import ServiceDeleted
from lc_contracts.subjects import project_services_filter

log = logging.getLogger(__name__)

ListDomains = Callable[[str], Awaitable[list[str]]]


class DeletionCascade:
    def __init__(
        self,
        loop: CommandLoop,
        projects: ProjectCommands,
        services: ServiceCommands,
        domains: DomainCommands,
        project_domains: ListDomains | None,
    ) -> None:
        self._loop = loop
        self._projects = projects
        self._services = services
        self._domains = domains
        self._project_domains = project_domains

    async def live_services(self, slug: str) -> list[str]:
        """Names of the project's services that are not deleted, from the stream itself."""
        names = []
        for message in await self._loop.store.last_per_subject(project_services_filter(slug)):
            try:
                event = message.event()
            except ContractError:
                continue
            if not isinstance(event.payload, ServiceDeleted):
                names.append(message.subject.rsplit(".", 1)[-1])
        return sorted(names)

    async def delete_project(
        self, slug: str, if_match: int | None, cascade: bool, ctx: CommandContext
    ) -> Written:
        state = await self._projects.state(slug)
        project.require(state)
        project.check_version(state, if_match)
        services = await self.live_services(slug)
        domains = await self._project_domains(slug) if self._project_domains else []
        if (services or domains) and not cascade:
            held = [f"service '{n}'" for n in services] + [f"domain '{d}'" for d in domains]
            raise Conflict(
                f"project '{slug}' still holds {', '.join(held)}; delete them first or "
                "pass ?cascade=true"
            )
        for domain_id in domains:
            with contextlib.suppress(NotFound):
                await self._domains.delete(domain_id, ctx)
        for name in services:
            with contextlib.suppress(NotFound):
                await self._services.delete(slug, name, None, ctx)
        written = await self._projects.delete(slug, if_match, ctx)
        swept = await self.sweep_services(slug, ctx) + await self.sweep_domains(slug, ctx)
        return Written(max([written.seq, *swept]), appended=written.appended or bool(swept))

    async def sweep_domains(self, slug: str, ctx: CommandContext) -> list[int]:
        """Delete every domain of `slug` registered before ProjectDeleted but missed by the
        cascade's list; the sequences written.

        Domain subjects are named by id, not by project, so the list comes from the read
        models, which `project_domains` first brings up to the stream's end (ProjectDeleted
        included): every registration appended before ProjectDeleted is in it, and any
        later one meets the deleted project in the registration's own check.
        """
        if self._project_domains is None:
            return []
        sweep = ctx.follow_up("sweep")
        return await self._delete_leftovers(
            slug,
            "domain",
            {d: partial(self._domains.delete, d, sweep) for d in await self._project_domains(slug)},
        )

    async def sweep_services(self, slug: str, ctx: CommandContext) -> list[int]:
        """Delete every service of `slug` still live once ProjectDeleted is in the stream;
        the sequences written.

        The cascade works from a list taken before ProjectDeleted, so a service written
        between that list and ProjectDeleted would survive it. Here the service subjects
        come from the stream itself, after ProjectDeleted: every service append
        acknowledged before ProjectDeleted is seen, and any later one meets the deleted
        project in the check the service command makes after its own append. Runs without
        `cascade` too: the project is already gone, and a service left behind would come
        back with the next project of the same slug.
        """
        sweep = ctx.follow_up("sweep")
        names = [
            subject.rsplit(".", 1)[-1]
            for subject in await self._loop.store.subjects(project_services_filter(slug))
        ]
        return await self._delete_leftovers(
            slug,
            "service",
            {name: partial(self._services.delete, slug, name, None, sweep) for name in names},
        )

    async def _delete_leftovers(
        self, slug: str, kind: str, deletions: dict[str, Callable[[], Awaitable[Written]]]
    ) -> list[int]:
        """Run each deletion of a sweep; the sequences written. Already deleted → NotFound;
        still changing after every retry → Contended: whoever keeps writing it checks the
        project after their own append."""
        seqs = []
        for name, delete in deletions.items():
            with contextlib.suppress(NotFound, Contended):
                written = await delete()
                if written.appended:
                    log.warning(
                        "deleted %s '%s' of project '%s', written while the project was "
                        "being deleted",
                        kind,
                        name,
                        slug,
                    )
                    seqs.append(written.seq)
        return seqs
