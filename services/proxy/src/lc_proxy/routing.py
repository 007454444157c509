"""The routing table and the balancing decision: pure, synchronous, no I/O.

Who calls it: `routing_feed` applies every `ServiceStatus` snapshot read from LC_STATUS
with `RoutingTable.apply`; the request path (`forwarding`) calls `route` to pick a
replica, `RoutingTable.release` when the call ends and `record_success` /
`record_failure` to drive ejection.

What it owns:
- `modelName -> ready replicas`, pooled across every Service that serves the same model
  name (each replica remembers which endpoints its own Service enabled);
- least-outstanding-requests balancing, ties broken round-robin so that idle replicas
  share the load;
- ejection: a replica that failed `eject_after` times in a row is skipped for
  `cooldown_s` seconds. When every replica able to serve a request is ejected, the
  least-loaded of them is used anyway (failing open beats a certain 503).

Time is passed in (`now`, monotonic seconds) so tests control it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from lc_contracts.specs import Endpoint
from lc_contracts.status import ServicePhase, ServiceStatus


class RoutingError(Exception):
    """Why a request cannot be routed; the HTTP layer turns each into an OpenAI error."""


class ModelNotFound(RoutingError):
    def __init__(self, model: str) -> None:
        super().__init__(f"The model `{model}` does not exist or is not ready.")
        self.model = model


class EndpointNotEnabled(RoutingError):
    def __init__(self, model: str, endpoint: Endpoint) -> None:
        super().__init__(
            f"The model `{model}` does not serve {endpoint.path}; "
            "enable that endpoint on its Service to call it."
        )
        self.model = model
        self.endpoint = endpoint


@dataclass(eq=False)
class ReplicaState:
    """One upstream replica and its live balancing state (shared across snapshots)."""

    url: str
    name: str
    outstanding: int = 0
    consecutive_failures: int = 0
    ejected_until: float = 0.0
    ejections: int = 0

    def is_ejected(self, now: float) -> bool:
        return self.ejected_until > now


@dataclass(frozen=True)
class ModelRoute:
    """Everything the table knows about one model name."""

    model: str
    created: int
    owners: tuple[str, ...]
    """`<project>/<service>` of every Service serving the model, sorted."""
    endpoints: frozenset[Endpoint]
    """Union of the endpoints enabled by those Services."""
    replicas: tuple[tuple[ReplicaState, frozenset[Endpoint]], ...]
    """Each replica with the endpoints its own Service enabled."""


@dataclass
class RoutingTable:
    """Ready replicas per model name, rebuilt incrementally from status snapshots."""

    eject_after: int = 3
    cooldown_s: float = 10.0
    _services: dict[tuple[str, str], ServiceStatus] = field(default_factory=dict)
    _models: dict[str, ModelRoute] = field(default_factory=dict)
    _replicas: dict[str, ReplicaState] = field(default_factory=dict)
    _turn: int = 0
    version: int = 0
    """Bumped on every change, so a caller can wait for a snapshot to take effect."""

    # -- building --------------------------------------------------------------------

    def apply(self, status: ServiceStatus) -> None:
        """Take one snapshot into account: Ready services are routable, others are not."""
        key = (status.project_slug, status.service_name)
        previous = self._services.get(key)
        if is_routable(status):
            self._services[key] = status
        else:
            self._services.pop(key, None)
        touched = {m for m in (status.model_name, previous and previous.model_name) if m}
        for model in touched:
            self._rebuild(model)
        self.version += 1

    def _rebuild(self, model: str) -> None:
        serving = sorted(
            (s for s in self._services.values() if s.model_name == model),
            key=lambda s: (s.project_slug, s.service_name),
        )
        if not serving:
            self._models.pop(model, None)
            self._forget_unused_replicas()
            return
        per_url: dict[str, tuple[ReplicaState, set[Endpoint]]] = {}
        for status in serving:
            for replica in status.replicas:
                state = self._replicas.get(replica.url)
                if state is None:
                    state = self._replicas[replica.url] = ReplicaState(replica.url, replica.name)
                entry = per_url.setdefault(replica.url, (state, set()))
                entry[1].update(status.endpoints)
        self._models[model] = ModelRoute(
            model=model,
            created=int(min(s.observed_at for s in serving).timestamp()),
            owners=tuple(f"{s.project_slug}/{s.service_name}" for s in serving),
            endpoints=frozenset(e for s in serving for e in s.endpoints),
            replicas=tuple((state, frozenset(eps)) for state, eps in per_url.values()),
        )
        self._forget_unused_replicas()

    def _forget_unused_replicas(self) -> None:
        in_use = {state.url for route in self._models.values() for state, _ in route.replicas}
        for url in list(self._replicas):
            if url not in in_use:
                del self._replicas[url]

    # -- reading ---------------------------------------------------------------------

    def models(self) -> list[ModelRoute]:
        """Every routable model, sorted by name."""
        return [self._models[name] for name in sorted(self._models)]

    def get(self, model: str) -> ModelRoute | None:
        return self._models.get(model)

    def replica(self, url: str) -> ReplicaState | None:
        return self._replicas.get(url)

    # -- request accounting ----------------------------------------------------------

    def release(self, replica: ReplicaState) -> None:
        """A request routed to `replica` ended (whatever its outcome)."""
        if replica.outstanding > 0:
            replica.outstanding -= 1

    def record_success(self, replica: ReplicaState) -> None:
        replica.consecutive_failures = 0

    def record_failure(self, replica: ReplicaState, now: float) -> bool:
        """Count a failure; returns True when this one ejected the replica."""
        replica.consecutive_failures += 1
        if replica.consecutive_failures >= self.eject_after:
            replica.consecutive_failures = 0
            replica.ejected_until = now + self.cooldown_s
            replica.ejections += 1
            return True
        return False


def is_routable(status: ServiceStatus) -> bool:
    """Only a Ready Service with a model name and at least one replica takes traffic."""
    return (
        status.phase is ServicePhase.READY
        and bool(status.model_name)
        and bool(status.replicas)
        and status.ready_replicas > 0
    )


def route(
    table: RoutingTable,
    model: str,
    endpoint: Endpoint | None,
    now: float,
    exclude: Iterable[ReplicaState] = (),
) -> ReplicaState:
    """Pick the replica for one request and count it as outstanding.

    `endpoint` None means "any endpoint" (pass-through paths). `exclude` holds replicas
    already tried for this request; they are used again only if nothing else can serve.
    Raises ModelNotFound or EndpointNotEnabled.
    """
    entry = table._models.get(model)
    if entry is None:
        raise ModelNotFound(model)
    if endpoint is None:
        able = [state for state, _ in entry.replicas]
    else:
        if endpoint not in entry.endpoints:
            raise EndpointNotEnabled(model, endpoint)
        able = [state for state, eps in entry.replicas if endpoint in eps]
    excluded = set(map(id, exclude))
    candidates = [s for s in able if not s.is_ejected(now) and id(s) not in excluded]
    if not candidates:
        candidates = [s for s in able if id(s) not in excluded] or able
    chosen = _least_outstanding(candidates, table._turn)
    table._turn += 1
    chosen.outstanding += 1
    return chosen


def _least_outstanding(candidates: list[ReplicaState], turn: int) -> ReplicaState:
    """The first replica with the fewest outstanding requests, scanning from `turn`."""
    n = len(candidates)
    start = turn % n
    best = candidates[start]
    for i in range(1, n):
        state = candidates[(start + i) % n]
        if state.outstanding < best.outstanding:
            best = state
    return best
