"""Single-active workers: leader election on a lease, with fencing.

Who calls it: the reconciler, the domain verifier and the fleet aggregator (through
`lc_runtime.kube_lease`, which stores the lease as a Kubernetes `coordination.k8s.io/v1`
Lease); tests drive the pure core directly.

The rules are client-go's (`leaderelection`); the default timings are shorter than its
15 s / 10 s / 2 s (10 s / 7 s / 1 s), so a standby takes over within about 12 s of a
leader's death:

- `decide` is the pure core: given the lease as read, what we last observed of it and
  when (by our own monotonic clock, never another machine's wall clock), it answers
  acquire, renew or stand by, and the record to write. A lease held by another is taken
  only once it has not changed for its whole duration, as measured by us.
- Writes are compare-and-swap on the record's version (Kubernetes' resourceVersion): two
  candidates that decide to acquire at once cannot both win.
- Fencing: a leader that has not renewed within `renew_deadline_s` of the start of its
  last successful renewal cancels its work, and only then reports that it lost the lease.
  Since `renew_deadline_s < lease_duration_s`, it has stopped writing before any standby
  can see the lease expire, so two writers never overlap (the margin, 3 s by default,
  covers the cancellation and a write already in flight).

`Leadership` is the plain state a probe server or a log line reads: leader or not, the
holder, the term (the lease's transitions), and how many times this process took over.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Protocol

from lc_runtime.cancellation import cancel_until_done

log = logging.getLogger("lc_runtime.leadership")


@dataclass(frozen=True)
class LeaseTiming:
    """How long a lease lasts, how long a leader keeps trying to renew it, how often."""

    lease_duration_s: float = 15.0
    renew_deadline_s: float = 10.0
    retry_period_s: float = 2.0

    def __post_init__(self) -> None:
        if not 0 < self.retry_period_s < self.renew_deadline_s < self.lease_duration_s:
            raise ValueError(
                "leader election needs 0 < retry period < renew deadline < lease duration "
                f"(got {self.retry_period_s} s, {self.renew_deadline_s} s, "
                f"{self.lease_duration_s} s)"
            )


@dataclass(frozen=True)
class LeaseRecord:
    """A lease as stored. `version` is the store's compare-and-swap token ("" before the
    first write)."""

    holder: str | None
    lease_duration_s: float
    acquired_at: datetime | None
    renewed_at: datetime | None
    transitions: int
    version: str = ""


@dataclass(frozen=True)
class Observation:
    """The record as we last saw it, and when (our monotonic clock) it last changed."""

    record: LeaseRecord | None
    since: float


class Action(enum.Enum):
    ACQUIRE = "acquire"
    RENEW = "renew"
    STAND_BY = "stand by"


@dataclass(frozen=True)
class Decision:
    action: Action
    write: LeaseRecord | None
    """The record to store (compare-and-swap on `write.version`); None when standing by."""
    observation: Observation


def decide(
    current: LeaseRecord | None,
    observed: Observation | None,
    *,
    me: str,
    now: float,
    wall_now: datetime,
    timing: LeaseTiming,
) -> Decision:
    """Acquire, renew or stand by, from the lease as just read. Pure."""
    if observed is None or observed.record != current:
        observed = Observation(current, now)
    if current is None:
        fresh = LeaseRecord(me, timing.lease_duration_s, wall_now, wall_now, 0)
        return Decision(Action.ACQUIRE, fresh, observed)
    if current.holder == me:
        renewed = replace(current, renewed_at=wall_now, lease_duration_s=timing.lease_duration_s)
        return Decision(Action.RENEW, renewed, observed)
    expired = observed.since + current.lease_duration_s <= now
    if current.holder and not expired:
        return Decision(Action.STAND_BY, None, observed)
    taken = replace(
        current,
        holder=me,
        lease_duration_s=timing.lease_duration_s,
        acquired_at=wall_now,
        renewed_at=wall_now,
        transitions=current.transitions + 1,
    )
    return Decision(Action.ACQUIRE, taken, observed)


class LeaseConflict(Exception):
    """The lease changed since it was read (or already exists): read it again."""


class LeaseStore(Protocol):
    """Where the lease lives; `create` and `replace` raise LeaseConflict on a lost race."""

    async def get(self) -> LeaseRecord | None: ...
    async def create(self, record: LeaseRecord) -> LeaseRecord: ...
    async def replace(self, record: LeaseRecord) -> LeaseRecord: ...


@dataclass
class Leadership:
    """What this process knows of its lease, for probes, metrics and logs."""

    identity: str
    lease: str
    leader: bool = False
    holder: str | None = None
    term: int = 0
    takeovers: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "lease": self.lease,
            "identity": self.identity,
            "leader": self.leader,
            "holder": self.holder,
            "term": self.term,
            "takeovers": self.takeovers,
        }


class LeaderElector:
    """Runs a piece of work only while this process holds the lease."""

    def __init__(
        self,
        store: LeaseStore,
        *,
        identity: str,
        lease: str,
        timing: LeaseTiming | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        logger: logging.Logger = log,
    ) -> None:
        self._store = store
        self.timing = timing or LeaseTiming()
        self._clock = clock
        self._wall_clock = wall_clock
        self._log = logger
        self._observed: Observation | None = None
        self.state = Leadership(identity=identity, lease=lease)

    async def _round(self) -> bool:
        """Read the lease and acquire or renew it if we may; True when we hold it now."""
        current = await self._store.get()
        decision = decide(
            current,
            self._observed,
            me=self.state.identity,
            now=self._clock(),
            wall_now=self._wall_clock(),
            timing=self.timing,
        )
        self._observed = decision.observation
        if current is not None:
            self.state.holder, self.state.term = current.holder, current.transitions
        if decision.write is None:
            return False
        write = self._store.create if current is None else self._store.replace
        try:
            stored = await write(decision.write)
        except LeaseConflict:
            return False
        self._observed = Observation(stored, self._clock())
        self.state.holder, self.state.term = stored.holder, stored.transitions
        return True

    async def _acquire(self) -> None:
        while True:
            try:
                if await self._round():
                    return
            except Exception as exc:
                self._log.warning("lease %s unreadable: %r", self.state.lease, exc)
            await asyncio.sleep(self.timing.retry_period_s)

    async def _keep(self) -> None:
        """Renew every retry period; return once the renew deadline has passed without one."""
        renewed_from = self._clock()  # start of the last successful acquire or renewal
        while True:
            await asyncio.sleep(self.timing.retry_period_s)
            started = self._clock()
            left = renewed_from + self.timing.renew_deadline_s - started
            if left <= 0:
                return
            try:
                held = await asyncio.wait_for(self._round(), left)
            except Exception as exc:
                self._log.warning("lease %s not renewed: %r", self.state.lease, exc)
                continue
            if held:
                renewed_from = started
            elif self.state.holder != self.state.identity:
                return  # someone else holds it (it was taken, or deleted and taken)

    async def _release(self) -> None:
        """Hand the lease back at once (a clean stop), so a standby need not wait it out."""
        with contextlib.suppress(Exception):
            async with asyncio.timeout(self.timing.retry_period_s):
                await self._hand_back()

    async def _hand_back(self) -> None:
        current = await self._store.get()
        if current is not None and current.holder == self.state.identity:
            await self._store.replace(replace(current, holder=None, renewed_at=self._wall_clock()))
            self.state.holder = None

    async def run(self, work: Callable[[], Awaitable[None]]) -> None:
        """Stand by until elected, run `work` while leading; when the lease is lost,
        cancel `work` first, then stand by again. Returns (or raises) when `work` does.
        The lease is handed back when `work` ends or this is cancelled (a clean stop),
        so a standby need not wait it out."""
        try:
            while not await self._lead(work):
                self._log.warning(
                    "lost lease %s (holder now %s); stopped working, standing by",
                    self.state.lease,
                    self.state.holder,
                )
        except asyncio.CancelledError:
            await self._release()
            raise
        await self._release()

    async def _lead(self, work: Callable[[], Awaitable[None]]) -> bool:
        """One term: acquire, run `work` while renewing. True when `work` ended (its
        exception raised), False when the lease was lost (and `work` cancelled)."""
        await self._acquire()
        self.state.leader = True
        self.state.takeovers += 1
        self._log.info(
            "leading %s as %s (term %d, takeover %d)",
            self.state.lease,
            self.state.identity,
            self.state.term,
            self.state.takeovers,
        )
        working = asyncio.ensure_future(work())
        keeping = asyncio.ensure_future(self._keep())
        try:
            await asyncio.wait({working, keeping}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            # Fencing: the work has stopped before anyone may read the lease as free.
            await cancel_until_done(working, keeping)
            self.state.leader = False
        if working.cancelled():
            return False
        if (error := working.exception()) is not None:
            await self._release()
            raise error
        return True
