"""Commands on the Service aggregate (`lc.events.service.<slug>.<name>`).

A Service lives in a Project, a separate aggregate with no lock between them. The stream
orders every append, so a command that leaves a service live checks the project on both
sides of its append: before it for the common case, after it for a deletion that raced the
write. A service written after ProjectDeleted is withdrawn (deleted again) and the command
answers as if the project did not exist. The other side of the race is the deletion
cascade's sweep (`deletion_cascade`), and a writer that died between its append and its
check is finished by the orphan sweep (`orphan_sweep`).

Callers: the `Commands` facade, the deletion cascade, the orphan sweep.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

from lc_api.app.command_loop import CommandContext, CommandLoop, Written, events_of, fold
from lc_api.app.project_commands import ProjectCommands
from lc_api.domain import service
from lc_api.domain.errors import NotFound
from lc_contracts.events import Payload
from lc_contracts.specs import ServiceSpec
from lc_contracts.subjects import service_subject
from lc_eventstore import ConcurrencyConflict


def _orphaned(slug: str, name: str) -> NotFound:
    return NotFound(
        f"project '{slug}' was deleted while service '{name}' was being written, so the "
        "service was not kept; create the project again, then the service"
    )


class ServiceCommands:
    def __init__(self, loop: CommandLoop, projects: ProjectCommands) -> None:
        self._loop = loop
        self._projects = projects

    async def state(self, slug: str, name: str) -> service.ServiceState:
        return await self._loop.load(
            service_subject(slug, name), service.ServiceState(slug, name), service.evolve
        )

    async def create(self, slug: str, spec: ServiceSpec, ctx: CommandContext) -> Written:
        return await self._keep_live(slug, spec.name, lambda s: service.create(s, spec), ctx)

    async def apply(
        self, slug: str, name: str, spec: ServiceSpec, if_match: int | None, ctx: CommandContext
    ) -> Written:
        return await self._keep_live(slug, name, lambda s: service.apply(s, spec, if_match), ctx)

    async def patch(
        self,
        slug: str,
        name: str,
        changes: dict[str, Any],
        if_match: int | None,
        ctx: CommandContext,
    ) -> Written:
        return await self._keep_live(slug, name, lambda s: service.patch(s, changes, if_match), ctx)

    async def rollback(
        self, slug: str, name: str, revision: int, if_match: int | None, ctx: CommandContext
    ) -> Written:
        return await self._keep_live(
            slug, name, lambda s: service.rollback(s, revision, if_match), ctx
        )

    async def delete(
        self, slug: str, name: str, if_match: int | None, ctx: CommandContext
    ) -> Written:
        return await self._loop.run(
            service_subject(slug, name),
            service.ServiceState(slug, name),
            service.evolve,
            lambda s: service.delete(s, if_match),
            ctx,
        )

    async def _keep_live(
        self,
        slug: str,
        name: str,
        decide: Callable[[service.ServiceState], list[Payload]],
        ctx: CommandContext,
    ) -> Written:
        """Decide on one Service of an existing project, checking the project on both
        sides of the append."""
        try:
            await self._projects.require(slug)
        except NotFound:
            # A retry of a command whose first try wrote the service into a project deleted
            # meanwhile, and died before withdrawing it, finishes the withdrawal here.
            if await self._withdraw_own_write(slug, name, ctx):
                raise _orphaned(slug, name) from None
            raise
        written = await self._loop.run(
            service_subject(slug, name),
            service.ServiceState(slug, name),
            service.evolve,
            decide,
            ctx,
        )
        if not (await self._projects.state(slug)).exists:
            await self._withdraw_own_write(slug, name, ctx)
            raise _orphaned(slug, name)
        return written

    async def _withdraw_own_write(self, slug: str, name: str, ctx: CommandContext) -> bool:
        """Delete the service if this command's write is still its last event; whether
        the command wrote to it at all.

        The deletion expects the sequence of that write. Anything after it is a deletion
        (this withdrawal by an earlier try included) or another command's write, and every
        write that leaves a service live runs this same check after its own append.
        """
        subject = service_subject(slug, name)
        aggregate = await self._loop.store.load(subject)
        events = events_of(aggregate)
        ours = ctx.own_event_ids(subject)
        written = [e.seq for e in events if e.envelope.id in ours]
        if not written:
            return False
        if written[-1] == aggregate.version:
            state = fold(events, service.ServiceState(slug, name), service.evolve)
            envelopes = self._loop.envelopes(
                subject, service.delete(state, None), ctx.follow_up("withdrawal")
            )
            with contextlib.suppress(ConcurrencyConflict):
                await self._loop.store.append(subject, envelopes, aggregate.version)
        return True
