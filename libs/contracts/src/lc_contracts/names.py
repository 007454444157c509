"""Validation of the names users choose: DNS-1123 labels, env var names, image refs."""

from __future__ import annotations

import re
from typing import Annotated, Any, Final

from pydantic import AfterValidator, Field
from pydantic.config import JsonDict

DNS1123_LABEL: Final = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
ENV_VAR_NAME: Final = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# A container image reference: [registry[:port]/]path[:tag][@digest]
IMAGE_REF: Final = re.compile(
    # The first component names a registry only when it looks like a host (has '.' or
    # ':', or is localhost), as in the Docker reference grammar.
    r"^(?:(?P<registry>localhost(?::[0-9]+)?|[a-zA-Z0-9-]+(?:\.[a-zA-Z0-9-]+)+(?::[0-9]+)?"
    r"|[a-zA-Z0-9-]+:[0-9]+)/)?"
    r"(?P<path>[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*)"
    r"(?::(?P<tag>[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}))?"
    r"(?:@(?P<digest>[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}))?$"
)

PROJECT_SLUG_MAX: Final = 40
SERVICE_NAME_MAX: Final = 40
RESERVED_SLUG_PREFIXES: Final = ("kube-",)
RESERVED_SLUGS: Final = frozenset(
    {"liquidcompute-system", "kube-system", "kube-public", "kube-node-lease"}
)


def dns1123_label_pattern(max_length: int) -> str:
    """The JSON Schema `pattern` of a DNS-1123 label of at most `max_length` characters."""
    return rf"^[a-z0-9]([-a-z0-9]{{0,{max_length - 2}}}[a-z0-9])?$"


# The same rules as the validators below, as JSON Schema patterns for the OpenAPI document
# (the validators keep their own messages, which say what is wrong).
PROJECT_SLUG_PATTERN: Final = (
    "^"
    + "".join(f"(?!{prefix})" for prefix in RESERVED_SLUG_PREFIXES)
    + "".join(
        f"(?!{slug}$)"
        for slug in sorted(RESERVED_SLUGS)
        if not slug.startswith(RESERVED_SLUG_PREFIXES)
    )
    + dns1123_label_pattern(PROJECT_SLUG_MAX)[1:]
)
IMAGE_REF_MAX: Final = 512


def dns1123_label(value: str, *, max_length: int) -> str:
    if not 1 <= len(value) <= max_length:
        raise ValueError(f"must be 1 to {max_length} characters long")
    if not DNS1123_LABEL.match(value):
        raise ValueError(
            "must be lowercase letters, digits and '-', starting and ending with a letter or digit"
        )
    return value


def _project_slug(value: str) -> str:
    dns1123_label(value, max_length=PROJECT_SLUG_MAX)
    if value in RESERVED_SLUGS or value.startswith(RESERVED_SLUG_PREFIXES):
        raise ValueError(f"'{value}' is reserved for the cluster or the platform")
    return value


def _service_name(value: str) -> str:
    return dns1123_label(value, max_length=SERVICE_NAME_MAX)


def _env_var_name(value: str) -> str:
    if not ENV_VAR_NAME.match(value):
        raise ValueError("must start with a letter or '_' and hold only letters, digits and '_'")
    return value


def _image_ref(value: str) -> str:
    if len(value) > IMAGE_REF_MAX or not IMAGE_REF.match(value):
        raise ValueError("is not a valid container image reference")
    return value


SECRET_NAME_MAX: Final = 63


def _secret_name(value: str) -> str:
    return dns1123_label(value, max_length=SECRET_NAME_MAX)


def _schema(pattern: str, max_length: int | None = None) -> Any:
    """Schema-only constraints: the validator, not pydantic, enforces them with its message."""
    extra: JsonDict = {"pattern": pattern}
    if max_length is not None:
        extra["maxLength"] = max_length
    return Field(json_schema_extra=extra)


ProjectSlug = Annotated[
    str, AfterValidator(_project_slug), _schema(PROJECT_SLUG_PATTERN, PROJECT_SLUG_MAX)
]
SecretName = Annotated[
    str,
    AfterValidator(_secret_name),
    _schema(dns1123_label_pattern(SECRET_NAME_MAX), SECRET_NAME_MAX),
]
ServiceName = Annotated[
    str,
    AfterValidator(_service_name),
    _schema(dns1123_label_pattern(SERVICE_NAME_MAX), SERVICE_NAME_MAX),
]
EnvVarName = Annotated[str, AfterValidator(_env_var_name), _schema(ENV_VAR_NAME.pattern)]
ImageRef = Annotated[
    str,
    AfterValidator(_image_ref),
    # ECMA-262 has no `(?P<name>...)`: the schema's copy groups without names.
    _schema(re.sub(r"\(\?P<\w+>", "(?:", IMAGE_REF.pattern), IMAGE_REF_MAX),
]
