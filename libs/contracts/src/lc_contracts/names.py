"""Validation of the names users choose: DNS-1123 labels, env var names, image refs."""

from __future__ import annotations

import re
from typing import Annotated, Final

from pydantic import AfterValidator

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
RESERVED_SLUGS: Final = frozenset({"liquidcompute-system", "kube-system", "kube-public", "kube-node-lease"})


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
    if len(value) > 512 or not IMAGE_REF.match(value):
        raise ValueError("is not a valid container image reference")
    return value


SECRET_NAME_MAX: Final = 63


def _secret_name(value: str) -> str:
    return dns1123_label(value, max_length=SECRET_NAME_MAX)


ProjectSlug = Annotated[str, AfterValidator(_project_slug)]
SecretName = Annotated[str, AfterValidator(_secret_name)]
ServiceName = Annotated[str, AfterValidator(_service_name)]
EnvVarName = Annotated[str, AfterValidator(_env_var_name)]
ImageRef = Annotated[str, AfterValidator(_image_ref)]
