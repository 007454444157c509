"""The verification worker: follows the domain events, checks DNS when due, appends outcomes.

Called by `main.run` (and by tests). State lives in memory and is derived only from
the events on `lc.events.domain.*`, read from the start of the stream (or from the end of
the snapshot it was restored from, `restore_state`) at every start, so a restart (even in
the middle of a check) rebuilds the same schedule and loses nothing. The state is exactly
the fold of the events: a quiet re-check (still verified, nothing to record) moves the
domain's next check in `_held_until`, beside the state, so a snapshot holds nothing that
a fold from sequence 1 would not.

Two loops share that state in one event loop:

- the reader applies each event (`evolve`) and wakes the scheduler;
- the scheduler finds domains whose check or expiry is due and runs each in a task: look
  up `TXT _lc-challenge.<fqdn>` (and, for information, the CNAME of `<fqdn>`), decide,
  append with the domain's last sequence as expectation. A `ConcurrencyConflict` means
  the aggregate moved on (the API appended, or another verifier did): reload it and
  decide again with the same lookup result.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Final

from lc_contracts.errors import ContractError
from lc_contracts.events import (
    DomainVerificationFailed,
    DomainVerificationLost,
    DomainVerified,
    Payload,
)
from lc_contracts.fqdn import challenge_record_name
from lc_contracts.subjects import EVENTS_PREFIX, domain_subject
from lc_domain_verifier.dns_lookup import ChallengeResolver
from lc_domain_verifier.domain.decisions import (
    Check,
    Decision,
    Expire,
    Wait,
    decide_check,
    decide_expiry,
    next_action,
)
from lc_domain_verifier.domain.lookup import CheckResult, classify, observe_cname
from lc_domain_verifier.domain.policy import VerificationPolicy
from lc_domain_verifier.domain.snapshot import decode_domains, encode_domains
from lc_domain_verifier.domain.state import DomainState, evolve
from lc_domain_verifier.envelopes import outcome_envelopes
from lc_eventstore import ConcurrencyConflict, EventStore, StoredEvent, StoredMessage
from lc_runtime.cancellation import raise_if_cancelled
from lc_runtime.logs import bind
from lc_runtime.probes import FoldProgress

DOMAIN_EVENTS: Final = f"{EVENTS_PREFIX}.domain.>"
CONFLICT_RETRIES: Final = 5
# After an unexpected error (NATS unreachable, ...) a domain waits this long before its
# next try, so a persistent failure does not spin.
ERROR_HOLD: Final = timedelta(seconds=5)
READ_RETRY_S: Final = 1.0
# The scheduler looks again at least this often, so a wall-clock jump cannot stall it.
MAX_IDLE_S: Final = 60.0

Clock = Callable[[], datetime]
log = logging.getLogger("lc_domain_verifier")


def utc_now() -> datetime:
    return datetime.now(UTC)


class VerificationWorker:
    def __init__(
        self,
        store: EventStore,
        resolver: ChallengeResolver,
        policy: VerificationPolicy,
        *,
        ingress_target: str | None = None,
        max_concurrent_checks: int = 32,
        clock: Clock = utc_now,
        progress: FoldProgress | None = None,
    ) -> None:
        self._store = store
        self._resolver = resolver
        self._policy = policy
        self._ingress_target = ingress_target
        self._clock = clock
        self._lookups = asyncio.Semaphore(max_concurrent_checks)
        self._domains: dict[str, DomainState] = {}
        self._in_flight: set[str] = set()
        self._held_until: dict[str, datetime] = {}
        self._position = 0
        self._wake = asyncio.Event()
        self._caught_up = asyncio.Event()
        self.progress = progress or FoldProgress()

    @property
    def position(self) -> int:
        """The last stream sequence read (and folded, unless it was unreadable)."""
        return self._position

    def encode_state(self) -> bytes:
        """The folded state for a snapshot (`domain.snapshot`)."""
        return encode_domains(self._position, self._domains, self._policy)

    def restore_state(self, data: bytes) -> int:
        """Start from a snapshot's state; returns its position. Raises UnreadableState (and
        changes nothing) for one that cannot be used. Before `run` only."""
        position, domains = decode_domains(data, self._policy)
        self._position, self._domains = position, domains
        self.progress.position = position
        return position

    def domain(self, domain_id: str) -> DomainState | None:
        """The current in-memory state of one domain (for diagnostics and tests)."""
        return self._domains.get(domain_id)

    @property
    def checks_in_flight(self) -> int:
        """Domains being checked right now."""
        return len(self._in_flight)

    async def caught_up(self) -> None:
        """Returns once the reader has applied every event present at start."""
        await self._caught_up.wait()

    async def run(self) -> None:
        """Follow the stream and check domains until cancelled."""
        async with asyncio.TaskGroup() as tasks:
            tasks.create_task(self._follow(), name="domain-events-reader")
            tasks.create_task(self._schedule(tasks), name="domain-check-scheduler")

    # -- reading ------------------------------------------------------------------------

    async def _follow(self) -> None:
        while True:
            try:
                async for batch in self._store.read(
                    self._position + 1, [DOMAIN_EVENTS], follow=True
                ):
                    if not batch:
                        if not self._caught_up.is_set():
                            log.info(
                                "domain state rebuilt from the stream",
                                extra={"domains": len(self._domains), "seq": self._position},
                            )
                        self._caught_up.set()
                        self.progress.caught_up = True
                    for message in batch:
                        self._apply_stored(message)
                        self._position = message.seq
                        self.progress.advance(message.seq)
                    self._wake.set()
            except Exception as exc:
                # The reader must outlive NATS hiccups: resume after the last applied event.
                log.warning(
                    "reading domain events failed; resuming",
                    extra={"seq": self._position, "error": type(exc).__name__},
                )
                await asyncio.sleep(READ_RETRY_S)

    def _apply_stored(self, message: StoredMessage) -> None:
        with bind(subject=message.subject, seq=message.seq):
            try:
                event = message.event()
            except ContractError as exc:
                # A poison message is logged and skipped, never retried, never blocking.
                log.warning("skipping unreadable event", extra={"error": str(exc)[:200]})
                return
            with bind(event_id=event.envelope.id):
                try:
                    self._apply(event)
                except Exception:
                    log.exception("skipping an event that could not be applied")

    def _apply(self, event: StoredEvent) -> None:
        payload, seq = event.payload, event.seq
        domain_id = getattr(payload, "id", None)
        if not isinstance(domain_id, str):
            return
        current = self._domains.get(domain_id)
        try:
            updated = evolve(current, event, policy=self._policy)
        except ValueError:
            log.warning(
                "ignoring a domain whose name cannot be checked",
                extra={"domain_id": domain_id, "seq": seq, "event_type": payload.TYPE},
            )
            return
        if updated is not None:
            self._domains[domain_id] = updated
            self._held_until.pop(domain_id, None)

    # -- scheduling ---------------------------------------------------------------------

    async def _schedule(self, tasks: asyncio.TaskGroup) -> None:
        await self._caught_up.wait()
        while True:
            self._wake.clear()
            now = self._clock()
            soonest: datetime | None = None
            for domain_id, state in list(self._domains.items()):
                if domain_id in self._in_flight:
                    continue
                held = self._held_until.get(domain_id)
                if held is not None and held > now:
                    soonest = held if soonest is None else min(soonest, held)
                    continue
                action = next_action(state, now, self._policy)
                if isinstance(action, Check | Expire):
                    self._in_flight.add(domain_id)
                    tasks.create_task(
                        self._handle(domain_id, action), name=f"domain-check-{domain_id}"
                    )
                elif isinstance(action, Wait):
                    soonest = action.until if soonest is None else min(soonest, action.until)
            timeout = MAX_IDLE_S
            if soonest is not None:
                timeout = min(MAX_IDLE_S, max(0.0, (soonest - now).total_seconds()))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)
            # A lost cancellation would start checks in a task group that is shutting down.
            raise_if_cancelled()

    async def _handle(self, domain_id: str, action: Check | Expire) -> None:
        try:
            result: CheckResult | None = None
            if isinstance(action, Check):
                state = self._domains[domain_id]
                result = await self._check(state)
            await self._record(domain_id, result)
        except Exception as exc:
            # One domain's trouble must not stop the others; this one is retried later.
            self._held_until[domain_id] = self._clock() + ERROR_HOLD
            log.warning(
                "domain check did not complete; will retry",
                extra={"domain_id": domain_id, "error": type(exc).__name__},
            )
        finally:
            self._in_flight.discard(domain_id)
            self._wake.set()

    async def _check(self, state: DomainState) -> CheckResult:
        async with self._lookups:
            txt, cname = await asyncio.gather(
                self._resolver.lookup_txt(challenge_record_name(state.fqdn)),
                self._resolver.lookup_cname(state.fqdn),
            )
        return classify(txt, state.token, observe_cname(cname, self._ingress_target))

    # -- recording ----------------------------------------------------------------------

    async def _record(self, domain_id: str, result: CheckResult | None) -> None:
        subject = domain_subject(domain_id)
        for _ in range(CONFLICT_RETRIES):
            state = self._domains.get(domain_id)
            if state is None:
                return
            now = self._clock()
            decision: Decision = (
                decide_expiry(state, now, self._policy)
                if result is None
                else decide_check(state, result, now, self._policy)
            )
            if not decision.events:
                if decision.quiet_state is not None and self._domains.get(domain_id) is state:
                    # Held, not folded: the next event on the domain sets its schedule anew.
                    quiet_until = decision.quiet_state.next_check_at
                    if quiet_until is not None:
                        self._held_until[domain_id] = quiet_until
                    log.debug("domain still verified", extra=_context(state))
                return
            envelopes = outcome_envelopes(subject, state.version, decision.events, now)
            try:
                seqs = await self._store.append(subject, envelopes, state.version)
            except ConcurrencyConflict:
                log.info("domain changed during its check; deciding again", extra=_context(state))
                await self._reload(domain_id)
                continue
            for envelope, payload, seq in zip(envelopes, decision.events, seqs, strict=True):
                self._apply(StoredEvent(seq=seq, envelope=envelope, payload=payload))
                _log_outcome(state, payload, seq)
            return
        raise RuntimeError(f"domain {domain_id} kept changing during {CONFLICT_RETRIES} appends")

    async def _reload(self, domain_id: str) -> None:
        aggregate = await self._store.load(domain_subject(domain_id))
        rebuilt: DomainState | None = None
        for message in aggregate.messages:
            try:
                event = message.event()
            except ContractError:
                continue
            rebuilt = evolve(rebuilt, event, policy=self._policy)
        current = self._domains.get(domain_id)
        if rebuilt is not None and (current is None or rebuilt.version >= current.version):
            self._domains[domain_id] = rebuilt


def _context(state: DomainState) -> dict[str, object]:
    return {
        "domain_id": state.domain_id,
        "fqdn": state.fqdn,
        "subject": domain_subject(state.domain_id),
        "status": state.status,
    }


def _log_outcome(state: DomainState, payload: Payload, seq: int) -> None:
    context = {**_context(state), "seq": seq, "event_type": payload.TYPE}
    if isinstance(payload, DomainVerified):
        log.info("domain verified", extra={**context, "cname_target": payload.cname_target})
    elif isinstance(payload, DomainVerificationFailed):
        log.info(
            "domain verification failed",
            extra={
                **context,
                "reason": payload.reason,
                "attempt": payload.attempt,
                "final": payload.final,
            },
        )
    elif isinstance(payload, DomainVerificationLost):
        log.warning("domain verification lost", extra={**context, "reason": payload.reason})
