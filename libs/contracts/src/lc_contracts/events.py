"""Every event type the platform writes to LC_EVENTS, with its payload and version.

Event types are explicit strings, never derived from import paths. A breaking change to
a payload bumps its `dataversion` and registers an upcaster from the previous version, so
old events on the stream still read as the current model.

Callers: the API's command handlers (build events), the projector and every worker
(decode events with `decode`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, Final, Literal

from pydantic import Field, ValidationError

from lc_contracts.base import Contract
from lc_contracts.engine import GpuHealth
from lc_contracts.envelope import Envelope, new_event_id, now
from lc_contracts.errors import UnknownEventType
from lc_contracts.sealing import SealedValue
from lc_contracts.specs import ServiceSpec
from lc_contracts.status import ManagedObject, ServicePhase


class Payload(Contract):
    """Base of event payloads. Subclasses set TYPE and, after a breaking change, VERSION."""

    TYPE: ClassVar[str] = ""
    VERSION: ClassVar[int] = 1
    # Wire fields the audit log and its live feed leave out (sealed secret values).
    UNSHOWN: ClassVar[frozenset[str]] = frozenset()


class ProjectCreated(Payload):
    TYPE = "project.created"
    slug: str
    name: str


class ProjectUpdated(Payload):
    TYPE = "project.updated"
    slug: str
    name: str


class ProjectDeleted(Payload):
    TYPE = "project.deleted"
    slug: str


class ServiceApplied(Payload):
    TYPE = "service.applied"
    project_slug: str
    revision: int = Field(ge=1)
    spec: ServiceSpec
    rollback_of: int | None = None


class ServiceDeleted(Payload):
    TYPE = "service.deleted"
    project_slug: str
    name: str


class ServiceStatusChanged(Payload):
    TYPE = "service.status_changed"
    project_slug: str
    name: str
    phase: ServicePhase
    previous_phase: ServicePhase | None = None
    message: str = ""
    revision: int = 0


class OrphanDetected(Payload):
    """The reconciler found an object with our labels and no history; it left it in place."""

    TYPE = "orphan.detected"
    target: ManagedObject


class OrphanAdoptionRequested(Payload):
    """An operator keeps an orphan: it is no longer reported, and goes with its service."""

    TYPE = "orphan.adoption_requested"
    target: ManagedObject


class OrphanDeletionRequested(Payload):
    """An operator asks the reconciler to delete an orphan."""

    TYPE = "orphan.deletion_requested"
    target: ManagedObject


class SecretSet(Payload):
    """A project secret's new version. The value travels sealed (`lc_contracts.sealing`):
    only holders of LC_SECRET_KEY can read it; everything else shows name and version."""

    TYPE = "secret.set"
    UNSHOWN = frozenset({"sealed"})
    project_slug: str
    name: str
    version: int = Field(ge=1)
    sealed: SealedValue


class SecretDeleted(Payload):
    TYPE = "secret.deleted"
    project_slug: str
    name: str


class DomainRegistered(Payload):
    TYPE = "domain.registered"
    id: str
    fqdn: str
    project_slug: str
    service_name: str
    # The challenge is published in public DNS by design; it is not a credential.
    challenge_token: str


class DomainVerificationRequested(Payload):
    TYPE = "domain.verification_requested"
    id: str


VerificationFailure = Literal["nxdomain", "no_record", "mismatch", "timeout", "servfail", "expired"]


class DomainVerified(Payload):
    TYPE = "domain.verified"
    id: str
    fqdn: str
    project_slug: str
    service_name: str
    # Informational CNAME check of `fqdn` (never required for verification): the target
    # `fqdn` CNAMEs to when the check ran (None: no CNAME seen), and whether that is the
    # platform's ingress target (None: no target configured, or no CNAME seen).
    cname_target: str | None = None
    points_at_ingress: bool | None = None


class DomainVerificationFailed(Payload):
    TYPE = "domain.verification_failed"
    id: str
    reason: VerificationFailure
    attempt: int = Field(ge=1)
    final: bool = False
    # Same informational CNAME check as on DomainVerified.
    cname_target: str | None = None
    points_at_ingress: bool | None = None


class DomainVerificationLost(Payload):
    TYPE = "domain.verification_lost"
    id: str
    fqdn: str
    project_slug: str
    service_name: str
    reason: VerificationFailure


class DomainDeleted(Payload):
    TYPE = "domain.deleted"
    id: str
    fqdn: str
    project_slug: str
    service_name: str


class FqdnClaimed(Payload):
    """Reservation of an FQDN by one domain (appended with expected sequence)."""

    TYPE = "fqdn.claimed"
    fqdn: str
    domain_id: str
    project_slug: str


class FqdnReleased(Payload):
    TYPE = "fqdn.released"
    fqdn: str
    domain_id: str


class GpuHealthChanged(Payload):
    TYPE = "gpu.health_changed"
    node: str
    uuid: str
    index: int
    product: str
    previous: GpuHealth | None
    current: GpuHealth


# --- webhook subscriptions (lc.events.webhook.<id>) --------------------------------------

WebhookPauseReason = Literal["admin", "retries_exhausted", "gone"]


class WebhookSubscribed(Payload):
    """A subscription, delivering the events after this one. Its signing secret travels
    sealed (`lc_contracts.webhooks.seal_secret`), left out of the audit log and feeds."""

    TYPE = "webhook.subscribed"
    UNSHOWN = frozenset({"sealedSecret"})
    id: str
    url: str
    event_types: list[str]
    project_slug: str | None = None
    description: str = ""
    sealed_secret: SealedValue


class WebhookUpdated(Payload):
    """The subscription's settings after the change (the whole of them)."""

    TYPE = "webhook.updated"
    id: str
    url: str
    event_types: list[str]
    description: str = ""


class WebhookDeleted(Payload):
    """A subscription deleted; `with_project` when its project was: it still receives
    the events before this one, the project's last ones, and then ends."""

    TYPE = "webhook.deleted"
    id: str
    with_project: bool = False


class WebhookSecretRotated(Payload):
    """A new signing secret; the previous one still signs until `previous_expires_at`."""

    TYPE = "webhook.secret_rotated"
    UNSHOWN = frozenset({"sealedSecret"})
    id: str
    sealed_secret: SealedValue
    previous_expires_at: datetime


class WebhookPaused(Payload):
    """Delivery stops; the subscription keeps its position. `at_sequence`: the event it
    stopped on (the one delivery failed for), when the worker paused it."""

    TYPE = "webhook.paused"
    id: str
    reason: WebhookPauseReason
    at_sequence: int | None = None
    detail: str = ""


class WebhookResumed(Payload):
    TYPE = "webhook.resumed"
    id: str


class WebhookReplayRequested(Payload):
    """Deliver again from a stream sequence or a time, up to an optional time."""

    TYPE = "webhook.replay_requested"
    id: str
    from_sequence: int | None = None
    since: datetime | None = None
    until: datetime | None = None


class WebhookTest(Payload):
    """A test event for one subscription only, delivered like any other."""

    TYPE = "webhook.test"
    id: str
    message: str = "a test event from LiquidCompute"


# --- batches (lc.events.batch.<id>) --------------------------------------------------------


class BatchCreated(Payload):
    """A Batch API batch was accepted by lc-proxy (it validates next)."""

    TYPE = "batch.created"
    batch_id: str
    endpoint: str
    input_file_id: str


class BatchInProgress(Payload):
    TYPE = "batch.in_progress"
    batch_id: str
    total: int = Field(ge=0)


class _BatchEnded(Payload):
    batch_id: str
    total: int = Field(ge=0)
    completed: int = Field(ge=0)
    failed: int = Field(ge=0)
    prompt_tokens: int = Field(default=0, ge=0)
    completion_tokens: int = Field(default=0, ge=0)
    output_file_id: str | None = None
    error_file_id: str | None = None


class BatchCompleted(_BatchEnded):
    TYPE = "batch.completed"


class BatchExpired(_BatchEnded):
    TYPE = "batch.expired"


class BatchCancelled(_BatchEnded):
    TYPE = "batch.cancelled"


class BatchFailed(Payload):
    """Validation failed: `errors` lines were wrong (the first `message` is kept)."""

    TYPE = "batch.failed"
    batch_id: str
    errors: int = Field(ge=0)
    message: str


Upcaster = Callable[[dict[str, Any]], dict[str, Any]]


@dataclass(frozen=True)
class EventDef:
    name: str
    model: type[Payload]
    version: int
    # upcasters[v] turns data of version v into version v + 1
    upcasters: Mapping[int, Upcaster]


def _defs(*models: type[Payload]) -> dict[str, EventDef]:
    return {m.TYPE: EventDef(m.TYPE, m, m.VERSION, {}) for m in models}


EVENT_TYPES: Final[Mapping[str, EventDef]] = _defs(
    ProjectCreated,
    ProjectUpdated,
    ProjectDeleted,
    ServiceApplied,
    ServiceDeleted,
    ServiceStatusChanged,
    OrphanDetected,
    OrphanAdoptionRequested,
    OrphanDeletionRequested,
    SecretSet,
    SecretDeleted,
    DomainRegistered,
    DomainVerificationRequested,
    DomainVerified,
    DomainVerificationFailed,
    DomainVerificationLost,
    DomainDeleted,
    FqdnClaimed,
    FqdnReleased,
    GpuHealthChanged,
    WebhookSubscribed,
    WebhookUpdated,
    WebhookDeleted,
    WebhookSecretRotated,
    WebhookPaused,
    WebhookResumed,
    WebhookReplayRequested,
    WebhookTest,
    BatchCreated,
    BatchInProgress,
    BatchCompleted,
    BatchFailed,
    BatchExpired,
    BatchCancelled,
)


def build(
    payload: Payload,
    *,
    subject: str,
    source: str,
    actor: str | None = None,
    correlation_id: str | None = None,
    causation_id: str | None = None,
    event_id: str | None = None,
) -> Envelope:
    """Wrap a payload in a fresh envelope. Every event names who caused it: the actor
    given (the admin, an API key's id), else the component that writes it (`source`)."""
    return Envelope(
        id=event_id or new_event_id(),
        source=source,
        type=payload.TYPE,
        subject=subject,
        time=now(),
        dataversion=payload.VERSION,
        actor=actor or source,
        correlationid=correlation_id,
        causationid=causation_id,
        data=payload.to_wire(),
    )


def shown(envelope: Envelope) -> Envelope:
    """The envelope as the audit log and its live feed show it: without `UNSHOWN` fields."""
    definition = EVENT_TYPES.get(envelope.type)
    hidden = definition.model.UNSHOWN if definition is not None else frozenset()
    if not hidden.intersection(envelope.data):
        return envelope
    data = {k: v for k, v in envelope.data.items() if k not in hidden}
    return envelope.model_copy(update={"data": data})


def decode(envelope: Envelope) -> Payload:
    """The current-version payload of an envelope, upcasting older versions.

    Raises UnknownEventType for a type or version this code cannot read.
    """
    return decode_data(envelope.type, envelope.dataversion, envelope.data)


def decode_data(event_type: str, dataversion: int, data: Mapping[str, Any]) -> Payload:
    """`decode` of an envelope's type, `dataversion` and `data`."""
    definition = EVENT_TYPES.get(event_type)
    if definition is None:
        raise UnknownEventType(f"unknown event type {event_type!r}")
    current, version = dict(data), dataversion
    if version > definition.version:
        raise UnknownEventType(
            f"{event_type} dataversion {version} is newer than this code ({definition.version})"
        )
    while version < definition.version:
        upcast = definition.upcasters.get(version)
        if upcast is None:
            raise UnknownEventType(f"no upcaster for {event_type} from dataversion {version}")
        current, version = upcast(current), version + 1
    try:
        return definition.model.model_validate(current)
    except ValidationError as exc:
        raise UnknownEventType(f"{event_type} payload does not validate: {exc}") from None
