"""The one command loop of lcd: load → decide → append, retried on a lost race.

A command names an aggregate subject, its initial state, a pure `evolve(state, event)`
and a `decide(state) -> payloads` (the domain functions of `lc_api.domain`). The loop folds
the subject's events, decides, and appends expecting the sequence it loaded; a lost race
(`ConcurrencyConflict`) reloads and decides again, a bounded number of times. Event ids are
derived from the command id, so a retried command (same Idempotency-Key) appends nothing
twice and is recognised as already applied.

Callers: the command modules of each aggregate (`project_commands`, `service_commands`,
`domain_commands`) and the deletion cascade.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import random
import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import TypeVar

from lc_api.domain.errors import CommandRefused
from lc_contracts.envelope import Envelope
from lc_contracts.errors import ContractError
from lc_contracts.events import Payload, build
from lc_eventstore import Aggregate, ConcurrencyConflict, EventStore, StoredEvent

log = logging.getLogger(__name__)

S = TypeVar("S")
Evolve = Callable[[S, StoredEvent], S]
Decide = Callable[[S], list[Payload] | Awaitable[list[Payload]]]

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


def fold(events: Iterable[StoredEvent], state: S, evolve: Evolve[S]) -> S:
    for event in events:
        state = evolve(state, event)
    return state


class CommandLoop:
    def __init__(self, store: EventStore, *, source: str, attempts: int = 8) -> None:
        self.store = store
        self._source = source
        self._attempts = attempts

    async def run(
        self,
        subject: str,
        initial: S,
        evolve: Evolve[S],
        decide: Decide[S],
        ctx: CommandContext,
    ) -> Written:
        """Decide on the aggregate at `subject` and append the events; what was written.

        `decide` may be async, for a decision that needs another aggregate's state (read
        again on every attempt).
        """
        ids = ctx.own_event_ids(subject)
        for attempt in range(self._attempts):
            if attempt:
                # Jittered back-off, so that racing writers stop meeting in lockstep.
                await asyncio.sleep(random.uniform(0, 0.002 * 2 ** min(attempt, 6)))
            aggregate = await self.store.load(subject)
            events = events_of(aggregate)
            done = [e.seq for e in events if e.envelope.id in ids]
            if done:
                return Written(max(done), appended=False)
            decision = decide(fold(events, initial, evolve))
            payloads = await decision if inspect.isawaitable(decision) else decision
            if not payloads:
                return Written(aggregate.version, appended=False)
            envelopes = self.envelopes(subject, payloads, ctx)
            try:
                seqs = await self.store.append(subject, envelopes, aggregate.version)
            except ConcurrencyConflict:
                continue
            return Written(seqs[-1])
        raise Contended(f"{subject} kept changing while this command was decided; retry")

    def envelopes(
        self, subject: str, payloads: list[Payload], ctx: CommandContext
    ) -> list[Envelope]:
        return [
            build(
                payload,
                subject=subject,
                source=self._source,
                actor=ctx.actor,
                correlation_id=ctx.correlation_id or ctx.command_id,
                causation_id=ctx.command_id,
                event_id=ctx.event_id(subject, i),
            )
            for i, payload in enumerate(payloads)
        ]

    async def load(self, subject: str, initial: S, evolve: Evolve[S]) -> S:
        return fold(events_of(await self.store.load(subject)), initial, evolve)
