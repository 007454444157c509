"""lcd's webhook subscription commands: subscribe, change, pause and resume, rotate the
secret, replay, send a test event, delete.

The URL is checked against the SSRF rules (`webhook_targets`) before anything is written;
a signing secret is made here, sealed with the platform key (`LC_SECRET_KEY`) before it
goes into an event, and answered once, in the clear, to the caller who asked for it.

Callers: `Commands.webhooks` (the API routes reach it as `runtime.commands.webhooks`).
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from functools import partial

from lc_api.app.command_loop import (
    COMMAND_NAMESPACE,
    CommandContext,
    CommandLoop,
    Written,
    events_of,
)
from lc_api.app.project_commands import ProjectCommands
from lc_api.app.secret_commands import SecretsDisabled
from lc_api.app.webhook_targets import WebhookTargets
from lc_api.domain import webhook
from lc_api.domain.errors import FieldError, InvalidCommand, NotFound
from lc_contracts.events import Payload
from lc_contracts.sealing import SealedValue, SecretKey
from lc_contracts.subjects import webhook_subject
from lc_contracts.webhooks import (
    ROTATION_OVERLAP_H,
    WebhookCreate,
    WebhookReplay,
    WebhookUpdate,
    new_secret,
    open_secret,
    seal_secret,
)

ListWebhooks = Callable[[str], Awaitable[list[str]]]


class WebhooksDisabled(SecretsDisabled):
    """lcd was started without LC_SECRET_KEY: signing secrets cannot be sealed (503, like
    project secrets)."""


class WebhookCommands:
    def __init__(
        self,
        loop: CommandLoop,
        projects: ProjectCommands,
        key: SecretKey | None,
        targets: WebhookTargets,
        clock: Callable[[], datetime],
        project_webhooks: ListWebhooks | None = None,
    ) -> None:
        self._loop = loop
        self._projects = projects
        self._key = key
        self._targets = targets
        self._clock = clock
        self._project_webhooks = project_webhooks

    def _sealing_key(self) -> SecretKey:
        if self._key is None:
            raise WebhooksDisabled(
                "webhooks are off: start lcd with LC_SECRET_KEY (lc up generates one into its "
                "data directory)"
            )
        return self._key

    async def _decide(
        self,
        subscription_id: str,
        decide: Callable[[webhook.WebhookState], list[Payload]],
        ctx: CommandContext,
    ) -> Written:
        return await self._loop.run(
            webhook_subject(subscription_id),
            webhook.WebhookState(subscription_id),
            webhook.evolve,
            decide,
            ctx,
        )

    async def state(self, subscription_id: str) -> webhook.WebhookState:
        return await self._loop.load(
            webhook_subject(subscription_id),
            webhook.WebhookState(subscription_id),
            webhook.evolve,
        )

    async def subscribe(
        self, request: WebhookCreate, ctx: CommandContext
    ) -> tuple[str, str, Written]:
        """(subscription id, signing secret, written): the secret is never shown again."""
        key = self._sealing_key()
        await self._targets.check(request.url)
        slug = request.project_slug
        if slug is not None and not (await self._projects.state(slug)).exists:
            raise InvalidCommand(
                f"project '{slug}' does not exist",
                [FieldError("/projectSlug", f"no project '{slug}'")],
            )
        subscription_id = str(uuid.uuid5(COMMAND_NAMESPACE, f"{ctx.command_id}|webhook"))
        secret = new_secret()
        sealed = seal_secret(key, subscription_id, secret)
        written = await self._decide(
            subscription_id, lambda s: webhook.subscribe(s, request, sealed), ctx
        )
        if slug is not None and not (await self._projects.state(slug)).exists:
            # The project was deleted between the check above and this append; its deletion
            # may have swept the project's subscriptions before this one landed.
            with contextlib.suppress(NotFound):
                await self.delete(subscription_id, ctx.follow_up("project-gone"))
            raise InvalidCommand(
                f"project '{slug}' was deleted",
                [FieldError("/projectSlug", f"no project '{slug}'")],
            )
        if not written.appended:  # a retry: the secret is the one the first attempt sealed
            secret = await self._written_secret(key, subscription_id, written.seq)
        return subscription_id, secret, written

    async def _written_secret(self, key: SecretKey, subscription_id: str, seq: int) -> str:
        """The secret sealed in this subscription's event at `seq` (subscribed or rotated)."""
        for event in events_of(await self._loop.store.load(webhook_subject(subscription_id))):
            sealed = getattr(event.payload, "sealed_secret", None)
            if event.seq == seq and isinstance(sealed, SealedValue):
                return open_secret(key, subscription_id, sealed)
        raise NotFound(f"webhook '{subscription_id}' has no secret at sequence {seq}")

    async def update(
        self, subscription_id: str, change: WebhookUpdate, ctx: CommandContext
    ) -> Written:
        if change.url is not None:
            await self._targets.check(change.url)
        return await self._decide(
            subscription_id,
            lambda s: webhook.update(
                s, change.url, change.event_types, change.description, change.enabled
            ),
            ctx,
        )

    async def pause(self, subscription_id: str, ctx: CommandContext) -> Written:
        return await self._decide(subscription_id, webhook.pause, ctx)

    async def resume(self, subscription_id: str, ctx: CommandContext) -> Written:
        return await self._decide(subscription_id, webhook.resume, ctx)

    async def rotate_secret(self, subscription_id: str, ctx: CommandContext) -> tuple[str, Written]:
        """(new secret, written): the previous secret keeps signing for the overlap."""
        key = self._sealing_key()
        secret = new_secret()
        sealed = seal_secret(key, subscription_id, secret)
        until = self._clock() + timedelta(hours=ROTATION_OVERLAP_H)
        written = await self._decide(
            subscription_id, lambda s: webhook.rotate(s, sealed, until), ctx
        )
        if not written.appended:
            secret = await self._written_secret(key, subscription_id, written.seq)
        return secret, written

    async def replay(
        self, subscription_id: str, request: WebhookReplay, ctx: CommandContext
    ) -> Written:
        return await self._decide(subscription_id, lambda s: webhook.replay(s, request), ctx)

    async def send_test(self, subscription_id: str, ctx: CommandContext) -> Written:
        return await self._decide(subscription_id, webhook.send_test, ctx)

    async def delete(self, subscription_id: str, ctx: CommandContext) -> Written:
        return await self._decide(subscription_id, webhook.delete, ctx)

    async def delete_all(self, slug: str, ctx: CommandContext) -> list[int]:
        """Delete every subscription scoped to a project being deleted, so that none
        receives the events of a project created later under the same slug; the sequences
        written. Runs after ProjectDeleted: a subscription appended later meets the deleted
        project in `subscribe`'s own check after its append. Each still receives the
        project's events up to its deletion (ProjectDeleted among them), then ends."""
        if self._project_webhooks is None:
            return []
        seqs = []
        for subscription_id in await self._project_webhooks(slug):
            with contextlib.suppress(NotFound):
                written = await self._decide(
                    subscription_id, partial(webhook.delete, with_project=True), ctx
                )
                if written.appended:
                    seqs.append(written.seq)
        return seqs
