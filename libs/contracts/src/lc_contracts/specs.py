"""What users ask for: Projects, Services and Domains, validated at the edge.

The API parses request bodies into these models; the reconciler compiles them; the
console mirrors their rules. Each rule lives here once.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Final, Literal, Self

from pydantic import AfterValidator, BeforeValidator, Field, StrictBool, model_validator

from lc_contracts.fqdn import Fqdn
from lc_contracts.names import (
    EnvVarName,
    ImageRef,
    ProjectSlug,
    SecretName,
    ServiceName,
    dns1123_label,
    dns1123_label_pattern,
)
from lc_contracts.storable import StorableContract


def _a_number(value: object) -> object:
    # pydantic's lax mode reads true as 1 and "3" as 3; JSON Schema's integer is neither.
    if isinstance(value, bool | str):
        raise ValueError("must be an integer")
    return value


JsonInt = Annotated[int, BeforeValidator(_a_number)]
"""An integer as JSON Schema means it: a number without a fraction (3 or 3.0)."""

MAX_REPLICAS: Final = 100
MAX_GPUS_PER_REPLICA: Final = 16
QUANTITY: Final = r"^[0-9]+(\.[0-9]+)?(m|k|M|G|T|P|Ki|Mi|Gi|Ti|Pi)?$"


class Tier(StrEnum):
    INFERENCE = "inference"
    CPU = "cpu"
    GPU = "gpu"


class Dtype(StrEnum):
    AUTO = "auto"
    FLOAT16 = "float16"
    BFLOAT16 = "bfloat16"
    FLOAT32 = "float32"
    FP8 = "fp8"
    INT8 = "int8"
    INT4 = "int4"


class Endpoint(StrEnum):
    """OpenAI API surfaces a Model can enable."""

    CHAT_COMPLETIONS = "chat_completions"
    COMPLETIONS = "completions"
    EMBEDDINGS = "embeddings"

    @property
    def path(self) -> str:
        return ENDPOINT_PATHS[self]


ENDPOINT_PATHS: Final = {
    Endpoint.CHAT_COMPLETIONS: "/v1/chat/completions",
    Endpoint.COMPLETIONS: "/v1/completions",
    Endpoint.EMBEDDINGS: "/v1/embeddings",
}


def _unique(values: list[Endpoint]) -> list[Endpoint]:
    if len(set(values)) != len(values):
        raise ValueError("must not repeat a value")
    return values


ModelName = Annotated[
    str, Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:/@+-]*$")
]
Quantity = Annotated[str, Field(pattern=QUANTITY, max_length=32)]


class ModelKind(StorableContract):
    """An inference Model served by the engine (compiled to a Model custom resource)."""

    model_name: ModelName
    dtype: Dtype = Dtype.AUTO
    endpoints: Annotated[
        list[Endpoint],
        Field(min_length=1, json_schema_extra={"uniqueItems": True}),
        AfterValidator(_unique),
    ] = Field(default_factory=lambda: [Endpoint.CHAT_COMPLETIONS, Endpoint.COMPLETIONS])
    gpus: Annotated[JsonInt, Field(ge=1, le=MAX_GPUS_PER_REPLICA)] | None = None
    replicas: Annotated[JsonInt, Field(ge=0, le=MAX_REPLICAS)] | None = None
    args: Annotated[list[Annotated[str, Field(max_length=1024)]], Field(max_length=64)] | None = (
        None
    )


PORT_NAME_MAX: Final = 15


def _port_name(value: str) -> str:
    return dns1123_label(value, max_length=PORT_NAME_MAX)


class PortSpec(StorableContract):
    port: Annotated[JsonInt, Field(ge=1, le=65535)]
    name: (
        Annotated[
            str,
            AfterValidator(_port_name),
            Field(json_schema_extra={"pattern": dns1123_label_pattern(PORT_NAME_MAX)}),
        ]
        | None
    ) = None
    protocol: Literal["TCP", "UDP"] = "TCP"


MAX_SECRET_BYTES: Final = 65536


class EnvVar(StorableContract):
    """A container variable: a plain `value`, or `secretRef`, the name of a project secret
    whose value the container gets (from a Kubernetes Secret) without it being written
    anywhere else."""

    name: EnvVarName
    value: Annotated[str, Field(max_length=32768)] = ""
    secret_ref: SecretName | None = None

    @model_validator(mode="after")
    def _value_or_secret(self) -> Self:
        if self.secret_ref is not None and self.value:
            raise ValueError("give either 'value' or 'secretRef', not both")
        return self


class SecretCreate(StorableContract):
    """A new project secret. The value is sealed at the edge and never answered back."""

    name: SecretName
    value: Annotated[str, Field(min_length=1, max_length=MAX_SECRET_BYTES)]


class SecretValue(StorableContract):
    """A new version of an existing project secret."""

    value: Annotated[str, Field(min_length=1, max_length=MAX_SECRET_BYTES)]


class Resources(StorableContract):
    cpu: Quantity | None = None
    memory: Quantity | None = None
    gpus: Annotated[JsonInt, Field(ge=1, le=MAX_GPUS_PER_REPLICA)] | None = None


class Storage(StorableContract):
    """The per-Service `/workspace` volume."""

    size: Quantity = "10Gi"
    storage_class: Annotated[str, Field(max_length=253)] | None = None


class ContainerKind(StorableContract):
    """A generic container workload (compiled to Deployment + Service + PVC)."""

    image: ImageRef
    command: (
        Annotated[list[Annotated[str, Field(max_length=4096)]], Field(max_length=64)] | None
    ) = None
    args: Annotated[list[Annotated[str, Field(max_length=4096)]], Field(max_length=64)] | None = (
        None
    )
    env: Annotated[list[EnvVar], Field(max_length=256)] | None = None
    ports: Annotated[list[PortSpec], Field(max_length=32)] = Field(default_factory=list)
    resources: Resources | None = None
    replicas: Annotated[JsonInt, Field(ge=0, le=MAX_REPLICAS)] = 1
    storage: Storage | None = None

    @model_validator(mode="after")
    def _check_uniques(self) -> Self:
        _unique_by("ports", [(p.port, p.protocol) for p in self.ports])
        _unique_by("ports", [p.name for p in self.ports if p.name])
        _unique_by("env", [e.name for e in self.env or []])
        return self

    @property
    def http_port(self) -> PortSpec | None:
        """The port a container Service is exposed on: its first TCP port."""
        return next((p for p in self.ports if p.protocol == "TCP"), None)


def _unique_by(field: str, keys: list[object]) -> None:
    if len(set(keys)) != len(keys):
        raise ValueError(f"{field} must be unique")


class ServiceKind(StorableContract):
    """Exactly one of `model` (tier inference) or `container` (tiers cpu and gpu)."""

    model: ModelKind | None = None
    container: ContainerKind | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Self:
        if (self.model is None) == (self.container is None):
            raise ValueError("kind must hold exactly one of 'model' or 'container'")
        return self


class ServiceSpec(StorableContract):
    """A Service as applied by a user. Server-owned fields (revision, status) are not here.

    Tier `inference` takes `kind.model`; tiers `cpu` and `gpu` take `kind.container`, and
    only `gpu` may ask for GPUs."""

    name: ServiceName
    tier: Tier
    kind: ServiceKind
    # Strict: JSON's true or false, not 0, 1 or "yes" (what the published schema says).
    expose: StrictBool = True

    @model_validator(mode="after")
    def _tier_matches_kind(self) -> Self:
        if self.tier is Tier.INFERENCE and self.kind.model is None:
            raise ValueError("tier 'inference' needs kind.model")
        if self.tier is not Tier.INFERENCE and self.kind.container is None:
            raise ValueError(f"tier '{self.tier}' needs kind.container")
        container = self.kind.container
        if (
            self.tier is Tier.CPU
            and container is not None
            and container.resources is not None
            and container.resources.gpus
        ):
            raise ValueError("tier 'cpu' cannot request GPUs; use tier 'gpu'")
        return self

    @property
    def exposed(self) -> bool:
        """Whether the Service gets an Ingress: inference always, containers on an HTTP port."""
        if not self.expose:
            return False
        return self.kind.model is not None or (
            self.kind.container is not None and self.kind.container.http_port is not None
        )

    def gpus_per_replica(self) -> int:
        if self.kind.model is not None:
            return self.kind.model.gpus or 1
        if self.tier is Tier.GPU:
            resources = self.kind.container.resources if self.kind.container else None
            return (resources.gpus if resources else None) or 1
        return 0


ProjectName = Annotated[str, Field(min_length=1, max_length=100)]


class ProjectSpec(StorableContract):
    name: ProjectName
    slug: ProjectSlug


class DomainRegistration(StorableContract):
    fqdn: Fqdn
    project_slug: ProjectSlug
    service_name: ServiceName
