"""Commands on custom domains (`lc.events.domain.<id>`) and the FQDN claims that keep an
FQDN with one domain at a time (`lc.events.fqdn.<fqdn>`).

A registration claims the FQDN first (deleting a holder whose claim has lapsed: never
verified within the verification window), then writes the domain, then checks its project
again: a project deleted meanwhile gets the domain withdrawn (deleted, its claim
released), as for services (`service_commands`). The other side of that race is the
deletion cascade's sweep (`deletion_cascade`).

Callers: the `Commands` facade, the deletion cascade.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

from lc_api.app.command_loop import COMMAND_NAMESPACE, CommandContext, CommandLoop, Written
from lc_api.app.project_commands import ProjectCommands
from lc_api.app.service_commands import ServiceCommands
from lc_api.domain import custom_domain
from lc_api.domain.errors import FieldError, InvalidCommand, NotFound
from lc_contracts.events import Payload
from lc_contracts.specs import DomainRegistration
from lc_contracts.subjects import domain_subject, fqdn_claim_subject

log = logging.getLogger(__name__)


class DomainCommands:
    def __init__(
        self,
        loop: CommandLoop,
        projects: ProjectCommands,
        services: ServiceCommands,
        clock: Callable[[], datetime],
        *,
        platform_domain: str | None = None,
        claim_window: timedelta = custom_domain.VERIFICATION_WINDOW,
    ) -> None:
        self._loop = loop
        self._projects = projects
        self._services = services
        self._clock = clock
        self._platform_domain = platform_domain
        self._claim_window = claim_window

    async def state(self, domain_id: str) -> custom_domain.DomainState:
        return await self._loop.load(
            domain_subject(domain_id), custom_domain.DomainState(domain_id), custom_domain.evolve
        )

    async def register(
        self, registration: DomainRegistration, ctx: CommandContext
    ) -> tuple[str, Written]:
        slug, name = registration.project_slug, registration.service_name
        custom_domain.check_fqdn(registration.fqdn, self._platform_domain)
        domain_id = str(uuid.uuid5(COMMAND_NAMESPACE, f"{ctx.command_id}|domain"))
        if not (await self._projects.state(slug)).exists:
            # A retry of a registration that was written after its project's deletion,
            # and died before withdrawing it, finishes the withdrawal.
            await self.withdraw(domain_id, ctx)
            raise InvalidCommand(
                f"project '{slug}' does not exist",
                [FieldError("/projectSlug", f"no project '{slug}'")],
            )
        if not (await self._services.state(slug, name)).exists:
            raise InvalidCommand(
                f"project '{slug}' has no service '{name}'",
                [FieldError("/serviceName", f"no service '{name}' in project '{slug}'")],
            )
        await self._lapse_holder(registration.fqdn, domain_id, ctx)
        await self._claim(registration.fqdn, domain_id, slug, ctx)
        token = secrets.token_urlsafe(32)  # 256 bits
        written = await self._loop.run(
            domain_subject(domain_id),
            custom_domain.DomainState(domain_id),
            custom_domain.evolve,
            lambda s: custom_domain.register(s, registration, token),
            ctx,
        )
        if not (await self._projects.state(slug)).exists:
            # Deleted while this registration was written (see `DeletionCascade`).
            await self.withdraw(domain_id, ctx)
            raise InvalidCommand(
                f"project '{slug}' was deleted while the domain was being registered",
                [FieldError("/projectSlug", f"no project '{slug}'")],
            )
        return domain_id, written

    async def _lapse_holder(self, fqdn: str, domain_id: str, ctx: CommandContext) -> None:
        """Delete the domain holding `fqdn` if its claim has lapsed, and release the claim,
        so that it can never be verified and the FQDN is free for `domain_id`.

        The deletion decides on the holder as it is when appended: one verified meanwhile
        is kept (and the claim then refuses the registration).
        """
        claim = await self._loop.load(
            fqdn_claim_subject(fqdn), custom_domain.FqdnClaim(fqdn), custom_domain.claim_evolve
        )
        holder_id = claim.holder
        if holder_id is None or holder_id == domain_id:
            return
        now, window = self._clock(), self._claim_window
        if not custom_domain.lapsed(await self.state(holder_id), now, window):
            return
        lapsing = ctx.follow_up(f"lapse|{holder_id}")
        written = await self._loop.run(
            domain_subject(holder_id),
            custom_domain.DomainState(holder_id),
            custom_domain.evolve,
            lambda s: custom_domain.lapse(s, now, window),
            lapsing,
        )
        if written.appended:
            log.info("domain %s lapsed unverified; '%s' is claimed again", holder_id, fqdn)
        if (await self.state(holder_id)).deleted:
            await self._loop.run(
                fqdn_claim_subject(fqdn),
                custom_domain.FqdnClaim(fqdn),
                custom_domain.claim_evolve,
                lambda s: custom_domain.release(s, holder_id),
                lapsing,
            )

    async def _claim(self, fqdn: str, domain_id: str, slug: str, ctx: CommandContext) -> None:
        """Reserve `fqdn` for `domain_id`; Conflict while another live domain holds it."""

        async def decide(claim: custom_domain.FqdnClaim) -> list[Payload]:
            holder = (
                await self.state(claim.holder)
                if claim.holder and claim.holder != domain_id
                else None
            )
            return custom_domain.claim(claim, domain_id, slug, holder, self._clock())

        await self._loop.run(
            fqdn_claim_subject(fqdn),
            custom_domain.FqdnClaim(fqdn),
            custom_domain.claim_evolve,
            decide,
            ctx,
        )

    async def withdraw(self, domain_id: str, ctx: CommandContext) -> None:
        """Delete a domain this command registered, with its claim on the FQDN, so that a
        project of the same slug created later does not inherit them."""
        with contextlib.suppress(NotFound):
            await self.delete(domain_id, ctx.follow_up("withdrawal"))

    async def verify(self, domain_id: str, ctx: CommandContext) -> Written:
        return await self._loop.run(
            domain_subject(domain_id),
            custom_domain.DomainState(domain_id),
            custom_domain.evolve,
            custom_domain.request_verification,
            ctx,
        )

    async def delete(self, domain_id: str, ctx: CommandContext) -> Written:
        state = await self.state(domain_id)
        written = await self._loop.run(
            domain_subject(domain_id),
            custom_domain.DomainState(domain_id),
            custom_domain.evolve,
            custom_domain.delete,
            ctx,
        )
        fqdn = state.fqdn  # kept in the state after a deletion too (a retried delete)
        if fqdn:
            await self._loop.run(
                fqdn_claim_subject(fqdn),
                custom_domain.FqdnClaim(fqdn),
                custom_domain.claim_evolve,
                lambda s: custom_domain.release(s, domain_id),
                ctx,
            )
        return written
