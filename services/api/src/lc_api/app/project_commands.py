"""Commands on the Project aggregate (`lc.events.project.<slug>`): create, rename, and the
ProjectDeleted event itself (the deletion with its cascade is `deletion_cascade`).

Callers: the `Commands` facade; the service and domain commands, which check the project.
"""

from __future__ import annotations

from collections.abc import Callable

from lc_api.app.command_loop import CommandContext, CommandLoop, Written
from lc_api.domain import project
from lc_contracts.specs import ProjectSpec
from lc_contracts.subjects import project_subject

ForeignNamespaceOf = Callable[[str], str | None]
"""The namespace a project of this slug would take, when it is known not to be ours."""


class ProjectCommands:
    def __init__(
        self, loop: CommandLoop, foreign_namespace_of: ForeignNamespaceOf = lambda slug: None
    ) -> None:
        self._loop = loop
        self._foreign_namespace_of = foreign_namespace_of

    async def state(self, slug: str) -> project.ProjectState:
        return await self._loop.load(
            project_subject(slug), project.ProjectState(slug), project.evolve
        )

    async def require(self, slug: str) -> None:
        """NotFound unless the project exists now."""
        project.require(await self.state(slug))

    async def create(self, spec: ProjectSpec, ctx: CommandContext) -> Written:
        return await self._loop.run(
            project_subject(spec.slug),
            project.ProjectState(spec.slug),
            project.evolve,
            lambda s: project.create(s, spec, self._foreign_namespace_of(spec.slug)),
            ctx,
        )

    async def rename(
        self, slug: str, name: str, if_match: int | None, ctx: CommandContext
    ) -> Written:
        return await self._loop.run(
            project_subject(slug),
            project.ProjectState(slug),
            project.evolve,
            lambda s: project.rename(s, name, if_match),
            ctx,
        )

    async def delete(self, slug: str, if_match: int | None, ctx: CommandContext) -> Written:
        """Append ProjectDeleted, nothing else (see `DeletionCascade.delete_project`)."""
        return await self._loop.run(
            project_subject(slug),
            project.ProjectState(slug),
            project.evolve,
            lambda s: project.delete(s, if_match),
            ctx,
        )
