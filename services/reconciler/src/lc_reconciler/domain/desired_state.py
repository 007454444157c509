"""The desired state of the cluster, folded from LC_EVENTS.

The reconciler rebuilds it from sequence 1 at every start (it never reads the API's
tables) and keeps folding as events arrive. `apply` says which projects and services an
event touched, so the caller reconciles only those; the periodic resync covers the rest.

What the stream says is gone is folded too, because only that may be pruned: services
whose `service.deleted` (or whose project's `project.deleted`) was read, and projects
deleted and not created again. A service that is neither live nor gone is unknown: its
objects are orphans, left in place until an operator's `orphan.deletion_requested` or
`orphan.adoption_requested` says what to do with them.

Also folded here, because they decide what the status reporter may append:
- the last phase announced by `service.status_changed` per service (so a restart does
  not announce a transition twice);
- the stream sequence of the last event on each service subject (the expected sequence
  of the next `service.status_changed` append).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

from lc_contracts.events import (
    DomainDeleted,
    DomainVerificationLost,
    DomainVerified,
    OrphanAdoptionRequested,
    OrphanDeletionRequested,
    OrphanDetected,
    Payload,
    ProjectCreated,
    ProjectDeleted,
    SecretDeleted,
    SecretSet,
    ServiceApplied,
    ServiceDeleted,
    ServiceStatusChanged,
)
from lc_contracts.specs import ServiceSpec
from lc_contracts.status import ManagedObject, ServicePhase
from lc_reconciler.domain.compiler import secret_refs

ServiceKey = tuple[str, str]
"""(project slug, service name)"""

OrphanId = tuple[str, str, str, str]
"""(apiVersion, kind, namespace, name) of an object, as orphan requests name it."""


def orphan_id(target: ManagedObject) -> OrphanId:
    return (target.api_version, target.kind, target.namespace, target.name)


@dataclass(frozen=True)
class ServiceRecord:
    project_slug: str
    spec: ServiceSpec
    revision: int

    @property
    def key(self) -> ServiceKey:
        return (self.project_slug, self.spec.name)


@dataclass(frozen=True)
class Touched:
    """What an event changed: the reconciler re-applies these."""

    projects: frozenset[str] = frozenset()
    services: frozenset[ServiceKey] = frozenset()

    def __bool__(self) -> bool:
        return bool(self.projects or self.services)


@dataclass
class DesiredState:
    position: int = 0
    projects: set[str] = field(default_factory=set)
    services: dict[ServiceKey, ServiceRecord] = field(default_factory=dict)
    # verified custom domains per service: domain id -> fqdn
    domains: dict[ServiceKey, dict[str, str]] = field(default_factory=dict)
    announced_phases: dict[ServiceKey, ServicePhase] = field(default_factory=dict)
    subject_seqs: dict[ServiceKey, int] = field(default_factory=dict)
    deleted_services: set[ServiceKey] = field(default_factory=set)
    deleted_projects: set[str] = field(default_factory=set)
    # orphans an operator chose to keep or to delete, and the (object, uid) pairs reported
    adopted: set[OrphanId] = field(default_factory=set)
    deletion_requested: set[OrphanId] = field(default_factory=set)
    reported_orphans: set[tuple[OrphanId, str]] = field(default_factory=set)
    # project secrets, still sealed: (project slug, secret name) -> its last value
    secrets: dict[tuple[str, str], SecretSet] = field(default_factory=dict)

    def restore(self, other: DesiredState) -> None:
        """Become `other` (a state decoded from a snapshot), in place: the reconciler's
        parts already hold this object."""
        for f in fields(self):
            setattr(self, f.name, getattr(other, f.name))

    def secrets_of(self, project_slug: str) -> list[SecretSet]:
        return [s for (slug, _), s in sorted(self.secrets.items()) if slug == project_slug]

    def secret_versions(self, project_slug: str) -> dict[str, int]:
        return {s.name: s.version for s in self.secrets_of(project_slug)}

    def _readers_of(self, project_slug: str, secret_name: str) -> frozenset[ServiceKey]:
        """The project's services whose containers read the secret."""
        return frozenset(
            key
            for key in self.services_of(project_slug)
            if secret_name in secret_refs(self.services[key].spec)
        )

    def services_of(self, project_slug: str) -> list[ServiceKey]:
        return [key for key in self.services if key[0] == project_slug]

    def verified_domains(self, key: ServiceKey) -> list[str]:
        return sorted(set(self.domains.get(key, {}).values()))

    def is_live(self, key: ServiceKey) -> bool:
        return key in self.services and key[0] in self.projects

    def is_gone(self, key: ServiceKey) -> bool:
        """Whether the stream said this service, or its project, was deleted (and no more)."""
        if key in self.services:
            return False
        return key in self.deleted_services or (
            key[0] in self.deleted_projects and key[0] not in self.projects
        )

    def is_known(self, key: ServiceKey) -> bool:
        """Whether the stream holds a history for this service: live or gone."""
        return self.is_live(key) or self.is_gone(key)

    def apply(self, seq: int, payload: Payload) -> Touched:
        """Fold one event (at stream sequence `seq`); events at or before `position` are ignored."""
        if seq <= self.position:
            return Touched()
        self.position = seq
        return self._evolve(seq, payload)

    def _evolve(self, seq: int, payload: Payload) -> Touched:
        match payload:
            case ProjectCreated(slug=slug):
                self.projects.add(slug)
                self.deleted_projects.discard(slug)
                return Touched(projects=frozenset({slug}))
            case ProjectDeleted(slug=slug):
                self.projects.discard(slug)
                self.deleted_projects.add(slug)
                for secret_key in [k for k in self.secrets if k[0] == slug]:
                    del self.secrets[secret_key]
                gone = self.services_of(slug)
                for key in gone:
                    self._forget(key)
                    self.deleted_services.add(key)
                return Touched(projects=frozenset({slug}), services=frozenset(gone))
            case ServiceApplied(project_slug=slug, revision=revision, spec=spec):
                key = (slug, spec.name)
                self.services[key] = ServiceRecord(slug, spec, revision)
                self.deleted_services.discard(key)
                self.subject_seqs[key] = seq
                return Touched(services=frozenset({key}))
            case ServiceDeleted(project_slug=slug, name=name):
                key = (slug, name)
                self._forget(key)
                self.deleted_services.add(key)
                self.subject_seqs[key] = seq
                return Touched(services=frozenset({key}))
            case ServiceStatusChanged(project_slug=slug, name=name, phase=phase):
                key = (slug, name)
                self.announced_phases[key] = phase
                self.subject_seqs[key] = seq
                return Touched()
            case SecretSet(project_slug=slug, name=name):
                self.secrets[(slug, name)] = payload
                return Touched(projects=frozenset({slug}), services=self._readers_of(slug, name))
            case SecretDeleted(project_slug=slug, name=name):
                self.secrets.pop((slug, name), None)
                return Touched(projects=frozenset({slug}), services=self._readers_of(slug, name))
            case DomainVerified(id=domain_id, fqdn=fqdn, project_slug=slug, service_name=name):
                key = (slug, name)
                self.domains.setdefault(key, {})[domain_id] = fqdn
                return Touched(services=frozenset({key}))
            case DomainVerificationLost(id=domain_id, project_slug=slug, service_name=name) | (
                DomainDeleted(id=domain_id, project_slug=slug, service_name=name)
            ):
                key = (slug, name)
                self.domains.get(key, {}).pop(domain_id, None)
                return Touched(services=frozenset({key}))
            case OrphanDetected(target=target):
                self.reported_orphans.add((orphan_id(target), target.uid))
                return Touched()
            case OrphanAdoptionRequested(target=target):
                self.adopted.add(orphan_id(target))
                self.deletion_requested.discard(orphan_id(target))
                return Touched(services=frozenset({(target.project_slug, target.service_name)}))
            case OrphanDeletionRequested(target=target):
                self.deletion_requested.add(orphan_id(target))
                self.adopted.discard(orphan_id(target))
                return Touched(services=frozenset({(target.project_slug, target.service_name)}))
        return Touched()

    def _forget(self, key: ServiceKey) -> None:
        self.services.pop(key, None)
        # A service created again under the same name starts with no announced phase.
        self.announced_phases.pop(key, None)
