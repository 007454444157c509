"""lcd's command handlers.

Each handler loads the aggregate(s) it needs, asks the pure `decide` functions of
`lc_api.domain` for events, and appends them expecting the sequence it loaded. A lost race
(`ConcurrencyConflict`) reloads and decides again, a bounded number of times. Event ids
are derived from the command id, so a retried command (same Idempotency-Key) appends
nothing twice and is recognised as already applied.

A Service or a Domain lives in a Project, and they are separate aggregates with no lock
between them. The stream orders every append, so each side checks the other after its own
append: a service command or a domain registration re-reads the project after writing
(`_service_command`, `register_domain`), and a project deletion looks for the project's
services and domains again after writing ProjectDeleted (`_sweep_services`,
`_sweep_domains`). Whichever append comes second sees the first, so neither outlives
its project.

Callers: the API routes (`lc_api.api.routes`), the benchmark.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import secrets
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any, TypeVar

from lc_api.app.secret_commands import SecretCommands
from lc_api.domain import custom_domain, project, service
from lc_api.domain.errors import CommandRefused, Conflict, FieldError, InvalidCommand, NotFound
from lc_contracts.envelope import Envelope, now
from lc_contracts.errors import ContractError
from lc_contracts.events import Payload, ServiceDeleted, build
from lc_contracts.sealing import SecretKey
from lc_contracts.specs import DomainRegistration, ProjectSpec, ServiceSpec
from lc_contracts.subjects import (
    domain_subject,
    fqdn_claim_subject,
    project_services_filter,
    project_subject,
    service_subject,
)
from lc_eventstore import Aggregate, ConcurrencyConflict, EventStore, StoredEvent

log = logging.getLogger(__name__)

S = TypeVar("S")
COMMAND_NAMESPACE = uuid.UUID("6f1c7d0e-3a51-4d8e-9a0f-4c2b51d0e7a1")
MAX_EVENTS_PER_COMMAND = 16


class Contended(CommandRefused):
    """Lost the optimistic-concurrency race too many times; the client may retry."""


@dataclass(frozen=True)
class CommandContext:
    """Who asks, and the id that makes the command's events idempotent."""

    command_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    actor: str | None = None
    correlation_id: str | None = None

    def event_id(self, subject: str, index: int) -> str:
        return str(uuid.uuid5(COMMAND_NAMESPACE, f"{self.command_id}|{subject}|{index}"))

    def own_event_ids(self, subject: str) -> set[str]:
        """The ids this command's events on `subject` have, whichever of them it wrote."""
        return {self.event_id(subject, i) for i in range(MAX_EVENTS_PER_COMMAND)}

    def follow_up(self, purpose: str) -> CommandContext:
        """The context of events this command writes to repair a race it lost: their ids
        are as deterministic as the command's own (a retry finds them) but never equal to
        them, so a subject is not taken for done because the command wrote there before."""
        return CommandContext(
            command_id=f"{self.command_id}|{purpose}",
            actor=self.actor,
            correlation_id=self.correlation_id or self.command_id,
        )


@dataclass(frozen=True)
class Written:
    """The outcome of a command: the last stream sequence it wrote (or had written)."""

    seq: int
    appended: bool = True


def events_of(aggregate: Aggregate) -> list[StoredEvent]:
    out = []
    for message in aggregate.messages:
        try:
            out.append(message.event())
        except ContractError as exc:
            log.warning(
                "skipping unreadable event seq=%s on %s: %s", message.seq, aggregate.subject, exc
            )
    return out


def fold(events: list[StoredEvent], state: S, evolve: Callable[[Any, S, int], S]) -> S:
    for event in events:
        state = evolve(event.payload, state, event.seq)
    return state


ListDomains = Callable[[str], Awaitable[list[str]]]


def _orphaned(slug: str, name: str) -> NotFound:
    return NotFound(
        f"project '{slug}' was deleted while service '{name}' was being written, so the "
        "service was not kept; create the project again, then the service"
    )


class Commands:
    def __init__(
        self,
        store: EventStore,
        *,
        source: str,
        attempts: int = 8,
        project_domains: ListDomains | None = None,
        clock: Callable[[], datetime] = now,
        secret_key: SecretKey | None = None,
    ) -> None:
        self._store = store
        self._source = source
        self._attempts = attempts
        self._project_domains = project_domains
        self._clock = clock
        self.secrets = SecretCommands(
            self._run, self._require_project, secret_key, self._store.subjects
        )

    async def _run(
        self,
        subject: str,
        initial: S,
        evolve: Callable[[Any, S, int], S],
        decide: Callable[[S], list[Payload]],
        ctx: CommandContext,
    ) -> Written:
        ids = ctx.own_event_ids(subject)
        for attempt in range(self._attempts):
            if attempt:
                # Jittered back-off, so that racing writers stop meeting in lockstep.
                await asyncio.sleep(random.uniform(0, 0.002 * 2 ** min(attempt, 6)))
            aggregate = await self._store.load(subject)
            events = events_of(aggregate)
            done = [e.seq for e in events if e.envelope.id in ids]
            if done:
                return Written(max(done), appended=False)
            payloads = decide(fold(events, initial, evolve))
            if not payloads:
                return Written(aggregate.version, appended=False)
            envelopes = self._envelopes(subject, payloads, ctx)
            try:
                seqs = await self._store.append(subject, envelopes, aggregate.version)
            except ConcurrencyConflict:
                continue
            return Written(seqs[-1])
        raise Contended(f"{subject} kept changing while this command was decided; retry")

    def _envelopes(
        self, subject: str, payloads: list[Payload], ctx: CommandContext
    ) -> list[Envelope]:
        return [
            build(
                payload,
                subject=subject,
                source=self._source,
                actor=ctx.actor,
                correlation_id=ctx.correlation_id or ctx.command_id,
                event_id=ctx.event_id(subject, i),
            )
            for i, payload in enumerate(payloads)
        ]

    async def _load(self, subject: str, initial: S, evolve: Callable[[Any, S, int], S]) -> S:
        return fold(events_of(await self._store.load(subject)), initial, evolve)

    async def project_state(self, slug: str) -> project.ProjectState:
        return await self._load(project_subject(slug), project.ProjectState(slug), project.evolve)

    async def service_state(self, slug: str, name: str) -> service.ServiceState:
        return await self._load(
            service_subject(slug, name), service.ServiceState(slug, name), service.evolve
        )

    async def domain_state(self, domain_id: str) -> custom_domain.DomainState:
        return await self._load(
            domain_subject(domain_id), custom_domain.DomainState(domain_id), custom_domain.evolve
        )

    async def _require_project(self, slug: str) -> None:
        project.require(await self.project_state(slug))

    # --- projects -------------------------------------------------------------------

    async def create_project(self, spec: ProjectSpec, ctx: CommandContext) -> Written:
        return await self._run(
            project_subject(spec.slug),
            project.ProjectState(spec.slug),
            project.evolve,
            lambda s: project.create(s, spec),
            ctx,
        )

    async def rename_project(
        self, slug: str, name: str, if_match: int | None, ctx: CommandContext
    ) -> Written:
        return await self._run(
            project_subject(slug),
            project.ProjectState(slug),
            project.evolve,
            lambda s: project.rename(s, name, if_match),
            ctx,
        )

    async def live_services(self, slug: str) -> list[str]:
        """Names of the project's services that are not deleted, from the stream itself."""
        names = []
        for message in await self._store.last_per_subject(project_services_filter(slug)):
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
        state = await self.project_state(slug)
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
                await self.delete_domain(domain_id, ctx)
        for name in services:
            with contextlib.suppress(NotFound):
                await self.delete_service(slug, name, None, ctx)
        written = await self._run(
            project_subject(slug),
            project.ProjectState(slug),
            project.evolve,
            lambda s: project.delete(s, if_match),
            ctx,
        )
        swept = await self._sweep_services(slug, ctx) + await self._sweep_domains(slug, ctx)
        swept += await self.secrets.delete_all(slug, ctx.follow_up("secrets"))
        return Written(max([written.seq, *swept]), appended=written.appended or bool(swept))

    async def _sweep_domains(self, slug: str, ctx: CommandContext) -> list[int]:
        """Delete every domain of `slug` registered before ProjectDeleted but missed by the
        cascade's list; the sequences written.

        Domain subjects are named by id, not by project, so the list comes from the read
        models, which `project_domains` first brings up to the stream's end (ProjectDeleted
        included): every registration appended before ProjectDeleted is in it, and any
        later one meets the deleted project in `register_domain`'s own check.
        """
        if self._project_domains is None:
            return []
        sweep = ctx.follow_up("sweep")
        return await self._delete_leftovers(
            slug,
            "domain",
            {d: partial(self.delete_domain, d, sweep) for d in await self._project_domains(slug)},
        )

    async def _sweep_services(self, slug: str, ctx: CommandContext) -> list[int]:
        """Delete every service of `slug` still live once ProjectDeleted is in the stream;
        the sequences written.

        The cascade above works from a list taken before ProjectDeleted, so a service
        written between that list and ProjectDeleted would survive it. Here the service
        subjects come from the stream itself, after ProjectDeleted: every service append
        acknowledged before ProjectDeleted is seen, and any later one meets the deleted
        project in the check `_service_command` makes after its own append. Runs without
        `cascade` too: the project is already gone, and a service left behind would come
        back with the next project of the same slug.
        """
        sweep = ctx.follow_up("sweep")
        names = [
            subject.rsplit(".", 1)[-1]
            for subject in await self._store.subjects(project_services_filter(slug))
        ]
        return await self._delete_leftovers(
            slug,
            "service",
            {name: partial(self.delete_service, slug, name, None, sweep) for name in names},
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

    # --- services -------------------------------------------------------------------

    async def _service_command(
        self,
        slug: str,
        name: str,
        decide: Callable[[service.ServiceState], list[Payload]],
        ctx: CommandContext,
    ) -> Written:
        """Decide on one Service of an existing project.

        Every decision here leaves the service live, so the project is checked on both
        sides of the append: before it for the common case, after it for a deletion that
        raced the write. A service written after ProjectDeleted is withdrawn (deleted again)
        and the command answers as if the project did not exist.
        """
        try:
            await self._require_project(slug)
        except NotFound:
            # A retry of a command whose first try wrote the service into a project deleted
            # meanwhile, and died before withdrawing it, finishes the withdrawal here.
            if await self._withdraw_own_write(slug, name, ctx):
                raise _orphaned(slug, name) from None
            raise
        written = await self._run(
            service_subject(slug, name), service.ServiceState(slug, name), service.evolve, decide, ctx
        )
        if not (await self.project_state(slug)).exists:
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
        aggregate = await self._store.load(subject)
        events = events_of(aggregate)
        ours = ctx.own_event_ids(subject)
        written = [e.seq for e in events if e.envelope.id in ours]
        if not written:
            return False
        if written[-1] == aggregate.version:
            state = fold(events, service.ServiceState(slug, name), service.evolve)
            envelopes = self._envelopes(
                subject, service.delete(state, None), ctx.follow_up("withdrawal")
            )
            with contextlib.suppress(ConcurrencyConflict):
                await self._store.append(subject, envelopes, aggregate.version)
        return True

    async def create_service(self, slug: str, spec: ServiceSpec, ctx: CommandContext) -> Written:
        return await self._service_command(slug, spec.name, lambda s: service.create(s, spec), ctx)

    async def apply_service(
        self, slug: str, name: str, spec: ServiceSpec, if_match: int | None, ctx: CommandContext
    ) -> Written:
        return await self._service_command(slug, name, lambda s: service.apply(s, spec, if_match), ctx)

    async def patch_service(
        self,
        slug: str,
        name: str,
        changes: dict[str, Any],
        if_match: int | None,
        ctx: CommandContext,
    ) -> Written:
        return await self._service_command(slug, name, lambda s: service.patch(s, changes, if_match), ctx)

    async def rollback_service(
        self, slug: str, name: str, revision: int, if_match: int | None, ctx: CommandContext
    ) -> Written:
        return await self._service_command(slug, name, lambda s: service.rollback(s, revision, if_match), ctx)

    async def delete_service(
        self, slug: str, name: str, if_match: int | None, ctx: CommandContext
    ) -> Written:
        return await self._run(
            service_subject(slug, name),
            service.ServiceState(slug, name),
            service.evolve,
            lambda s: service.delete(s, if_match),
            ctx,
        )

    # --- domains --------------------------------------------------------------------

    async def register_domain(
        self, registration: DomainRegistration, ctx: CommandContext
    ) -> tuple[str, Written]:
        slug, name = registration.project_slug, registration.service_name
        domain_id = str(uuid.uuid5(COMMAND_NAMESPACE, f"{ctx.command_id}|domain"))
        if not (await self.project_state(slug)).exists:
            # A retry of a registration that was written after its project's deletion,
            # and died before withdrawing it, finishes the withdrawal.
            await self._withdraw_domain(domain_id, ctx)
            raise InvalidCommand(
                f"project '{slug}' does not exist",
                [FieldError("/projectSlug", f"no project '{slug}'")],
            )
        if not (await self.service_state(slug, name)).exists:
            raise InvalidCommand(
                f"project '{slug}' has no service '{name}'",
                [FieldError("/serviceName", f"no service '{name}' in project '{slug}'")],
            )
        fqdn = registration.fqdn
        claim_subject = fqdn_claim_subject(fqdn)

        for _ in range(self._attempts):
            claim_aggregate = await self._store.load(claim_subject)
            claim = custom_domain.FqdnClaim(fqdn)
            for event in events_of(claim_aggregate):
                at = event.envelope.time
                claim = custom_domain.claim_evolve(claim, event.payload, event.seq, at)
            holder = (
                await self.domain_state(claim.holder)
                if claim.holder and claim.holder != domain_id
                else None
            )
            payloads = custom_domain.claim(claim, domain_id, slug, holder, self._clock())
            if not payloads:
                break
            envelopes = self._envelopes(claim_subject, payloads[:1], ctx)
            try:
                await self._store.append(claim_subject, envelopes, claim_aggregate.version)
            except ConcurrencyConflict:
                continue
            break
        else:
            raise Contended(f"the claim on '{fqdn}' kept changing; retry")

        token = secrets.token_urlsafe(32)  # 256 bits
        written = await self._run(
            domain_subject(domain_id),
            custom_domain.DomainState(domain_id),
            custom_domain.evolve,
            lambda s: custom_domain.register(s, registration, token),
            ctx,
        )
        if not (await self.project_state(slug)).exists:
            # Deleted while this registration was written (see `_sweep_domains`).
            await self._withdraw_domain(domain_id, ctx)
            raise InvalidCommand(
                f"project '{slug}' was deleted while the domain was being registered",
                [FieldError("/projectSlug", f"no project '{slug}'")],
            )
        return domain_id, written

    async def _withdraw_domain(self, domain_id: str, ctx: CommandContext) -> None:
        """Delete a domain this command registered, with its claim on the FQDN, so that a
        project of the same slug created later does not inherit them."""
        with contextlib.suppress(NotFound):
            await self.delete_domain(domain_id, ctx.follow_up("withdrawal"))

    async def verify_domain(self, domain_id: str, ctx: CommandContext) -> Written:
        return await self._run(
            domain_subject(domain_id),
            custom_domain.DomainState(domain_id),
            custom_domain.evolve,
            custom_domain.request_verification,
            ctx,
        )

    async def delete_domain(self, domain_id: str, ctx: CommandContext) -> Written:
        state = await self.domain_state(domain_id)
        written = await self._run(
            domain_subject(domain_id),
            custom_domain.DomainState(domain_id),
            custom_domain.evolve,
            custom_domain.delete,
            ctx,
        )
        fqdn = state.fqdn  # kept in the state after a deletion too (a retried delete)
        if fqdn:
            claim_subject = fqdn_claim_subject(fqdn)

            def evolve_claim(
                event: Payload, st: custom_domain.FqdnClaim, seq: int
            ) -> custom_domain.FqdnClaim:
                return custom_domain.claim_evolve(st, event, seq, self._clock())

            await self._run(
                claim_subject,
                custom_domain.FqdnClaim(fqdn),
                evolve_claim,
                lambda s: custom_domain.release(s, domain_id),
                ctx,
            )
        return written
