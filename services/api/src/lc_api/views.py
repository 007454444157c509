"""What the API answers: the public (read) shapes of projects, services, domains, events.

camelCase on the wire, like the contracts. Built by `lc_api.db.queries` from the read
models, returned by the routes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from lc_api.domain.custom_domain import DomainStatus
from lc_contracts.specs import Endpoint, ServiceSpec
from lc_contracts.status import ServicePhase

T = TypeVar("T")


def _without_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value


def wire(view: BaseModel) -> Any:
    """The JSON body of a view. Specs read back as written: unset optional knobs are left out."""
    body = view.model_dump(mode="json", by_alias=True)
    items = (
        body["items"] if isinstance(body, dict) and isinstance(body.get("items"), list) else [body]
    )
    for item in items:
        if isinstance(item, dict) and isinstance(item.get("spec"), dict):
            item["spec"] = _without_nulls(item["spec"])
    return body


class View(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True)


class Page(View, Generic[T]):
    items: list[T]
    next: str | None = Field(default=None, description="Cursor for the next page (pass as ?after=)")


class ProjectView(View):
    slug: str
    name: str
    version: int = Field(description="Concurrency token: send it back in If-Match")
    service_count: int
    ready_count: int = Field(description="Services whose last reported phase is Ready")
    failed_count: int = Field(description="Services whose last reported phase is Failed")
    deploying_count: int = Field(description="Services neither Ready nor Failed yet")
    created_at: datetime
    updated_at: datetime


class SecretView(View):
    """A project secret as every answer shows it: its name and version, never its value."""

    project_slug: str
    name: str
    version: int = Field(description="1 for the first value; each new value adds one")
    created_at: datetime
    updated_at: datetime


class WebhookView(View):
    """A webhook subscription as every answer shows it: never its signing secret."""

    id: str
    url: str
    event_types: list[str]
    project_slug: str | None = None
    description: str = ""
    status: Literal["active", "paused"]
    pause_reason: str | None = Field(
        default=None, description="admin, retries_exhausted (schedule spent) or gone (410)"
    )
    pause_detail: str | None = None
    paused_at_sequence: int | None = Field(
        default=None, description="The event delivery stopped on; resuming starts there"
    )
    secret_rotated_at: datetime | None = None
    previous_secret_expires_at: datetime | None = Field(
        default=None, description="Until then, deliveries carry the previous signature too"
    )
    version: int
    created_at: datetime
    updated_at: datetime


class WebhookCreatedView(WebhookView):
    secret: str = Field(description="The signing secret (whsec_...): shown this once only")


class WebhookSecretView(View):
    id: str
    secret: str = Field(description="The new signing secret (whsec_...): shown this once only")
    previous_secret_expires_at: datetime | None = None


class WebhookDeliveryView(View):
    id: int
    event_id: str = Field(description="The webhook-id header the receiver saw")
    event_seq: int
    event_type: str
    attempt: int
    outcome: str = Field(description="delivered, failed, or skipped")
    status_code: int | None = None
    latency_ms: float | None = None
    error: str | None = None
    response_body: str | None = Field(default=None, description="The first 1 KiB of the answer")
    next_attempt_at: datetime | None = None
    attempted_at: datetime


class ServiceStatusView(View):
    phase: ServicePhase
    message: str = ""
    ready_replicas: int = 0
    endpoints: list[Endpoint] = Field(default_factory=list)
    observed_revision: int = 0
    observed_at: datetime | None = None


class ServiceView(View):
    project_slug: str
    name: str
    spec: ServiceSpec
    revision: int = Field(description="Concurrency token: send it back in If-Match")
    status: ServiceStatusView
    url: str | None
    domains: list[str] = Field(description="Verified custom domains routed to this service")
    created_at: datetime
    updated_at: datetime


class RevisionView(View):
    revision: int
    spec: ServiceSpec
    rollback_of: int | None = None
    created_at: datetime


class DomainView(View):
    id: str
    fqdn: str
    project_slug: str
    service_name: str
    status: DomainStatus
    challenge_rr: str = Field(alias="challengeRR")
    challenge_token: str
    cname_target: str
    last_failure: str | None = None
    created_at: datetime
    updated_at: datetime
    verified_at: datetime | None = None


class AcceptedView(View):
    """A write that is in the log but not yet visible in the read models (202)."""

    status: str = "accepted"
    seq: int
    location: str


class EventView(View):
    """A CloudEvent from the audit log, with its stream sequence."""

    model_config = ConfigDict(populate_by_name=True, frozen=True)

    seq: int
    specversion: str
    id: str
    source: str
    type: str
    subject: str
    time: datetime
    datacontenttype: str
    dataversion: int
    actor: str | None = None
    correlationid: str | None = None
    causationid: str | None = None
    data: dict[str, Any]


class MomentView(View):
    """A moment resolved to the log: every event up to `seq` (0: before the first)."""

    seq: int
    time: datetime | None = Field(description="Time of the event at `seq`")


class ServiceStateView(View):
    name: str
    tier: str
    spec: dict[str, Any]
    revision: int
    phase: str | None = None
    phase_message: str | None = None


class DomainStateView(View):
    id: str
    fqdn: str
    service_name: str
    status: str
    last_failure: str | None = None


class ProjectStateView(View):
    """A project, its services and its domains as they were at `asOf`."""

    as_of: MomentView
    slug: str
    name: str
    services: list[ServiceStateView]
    domains: list[DomainStateView]


class ServiceAtMomentView(ServiceStateView):
    as_of: MomentView
    project_slug: str


class CauseView(View):
    """An event that caused a change, as the audit log records it."""

    seq: int
    id: str
    type: str
    time: datetime
    actor: str | None = None
    correlation_id: str | None = None


class FieldChangeView(View):
    pointer: str = Field(description="RFC 6901 pointer into the object")
    old: Any = None
    new: Any = None


class ObjectChangeView(View):
    kind: str = Field(description="project, service or domain")
    project_slug: str
    key: str = Field(description="The slug, service name or domain id")
    change: str = Field(description="created, deleted or changed")
    fields: list[FieldChangeView]
    events: list[CauseView]


class DiffView(View):
    from_: MomentView = Field(alias="from")
    to: MomentView
    changes: list[ObjectChangeView]


class QuarantinedEventView(View):
    """An event the read models could not apply: passed over, with the reason.

    `type` is absent when the message could not even be read. The event itself stays in
    the stream (`lc events`); the read models go on without it.
    """

    seq: int
    subject: str
    type: str | None = None
    error: str
    quarantined_at: datetime
