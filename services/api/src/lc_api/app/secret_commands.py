"""lcd's project secret commands: create, rotate, delete.

The value is sealed with the platform key (`LC_SECRET_KEY`) before anything is decided,
so the pure `lc_api.domain.secret` functions, the events and everything downstream only
ever hold ciphertext. Decisions run in the one command loop (`command_loop`); a secret
lives in a project, so the project is required before the write.

Callers: `Commands.secrets` (the API routes reach it as `runtime.commands.secrets`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

from lc_api.app.command_loop import CommandContext, CommandLoop, Written
from lc_api.app.project_commands import ProjectCommands
from lc_api.domain import secret
from lc_api.domain.errors import CommandRefused, NotFound
from lc_contracts.events import Payload
from lc_contracts.sealing import SecretKey
from lc_contracts.specs import SecretCreate
from lc_contracts.subjects import project_secrets_filter, secret_subject


class SecretsDisabled(CommandRefused):
    """lcd was started without LC_SECRET_KEY: secrets cannot be sealed."""


class SecretCommands:
    def __init__(self, loop: CommandLoop, projects: ProjectCommands, key: SecretKey | None) -> None:
        self._loop = loop
        self._projects = projects
        self._key = key

    def _sealing_key(self) -> SecretKey:
        if self._key is None:
            raise SecretsDisabled(
                "project secrets are off: start lcd with LC_SECRET_KEY (lc up generates one "
                "into its data directory)"
            )
        return self._key

    async def _decide(
        self,
        slug: str,
        name: str,
        decide: Callable[[secret.SecretState], list[Payload]],
        ctx: CommandContext,
    ) -> Written:
        return await self._loop.run(
            secret_subject(slug, name), secret.SecretState(slug, name), secret.evolve, decide, ctx
        )

    async def create(self, slug: str, request: SecretCreate, ctx: CommandContext) -> Written:
        sealed = self._sealing_key().seal(slug, request.name, request.value)
        await self._projects.require(slug)
        return await self._decide(slug, request.name, lambda s: secret.create(s, sealed), ctx)

    async def rotate(self, slug: str, name: str, value: str, ctx: CommandContext) -> Written:
        sealed = self._sealing_key().seal(slug, name, value)
        await self._projects.require(slug)
        return await self._decide(slug, name, lambda s: secret.rotate(s, sealed), ctx)

    async def delete(self, slug: str, name: str, ctx: CommandContext) -> Written:
        return await self._decide(slug, name, secret.delete, ctx)

    async def delete_all(self, slug: str, ctx: CommandContext) -> list[int]:
        """Delete every secret of a project being deleted, so a project created later under
        the same slug starts with none; the sequences written."""
        seqs = []
        for subject in await self._loop.store.subjects(project_secrets_filter(slug)):
            name = subject.rsplit(".", 1)[-1]
            with contextlib.suppress(NotFound):
                written = await self._decide(slug, name, secret.delete, ctx)
                if written.appended:
                    seqs.append(written.seq)
        return seqs
