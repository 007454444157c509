"""Names of emitted objects and hostnames, kept within Kubernetes' length limits.

A name that would exceed its limit is cut and given a short hash of the whole name, so
the result is deterministic (the same spec always yields the same name) and two long
names that share a prefix still differ. Called by the compiler only.
"""

from __future__ import annotations

import hashlib
from typing import Final

DNS_LABEL_MAX: Final = 63
HASH_LEN: Final = 8


def fit(name: str, limit: int = DNS_LABEL_MAX) -> str:
    """`name` itself when it fits, else a prefix of it + '-' + 8 hex of its sha256."""
    if len(name) <= limit:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:HASH_LEN]
    head = name[: limit - HASH_LEN - 1].rstrip("-")
    return f"{head}-{digest}"


def namespace_name(prefix: str, project_slug: str) -> str:
    return fit(f"{prefix}{project_slug}")


def object_name(service_name: str) -> str:
    """Name shared by every object of a Service.

    Kubernetes Service names must start with a letter (DNS-1035); a service name starting
    with a digit gets an `lc-` prefix so every object of the Service shares one name.
    """
    name = service_name if service_name[:1].isalpha() else f"lc-{service_name}"
    return fit(name)


def derived_name(service_name: str, suffix: str) -> str:
    return fit(f"{object_name(service_name)}-{suffix}")


def platform_hostname(service_name: str, project_slug: str, platform_domain: str) -> str:
    """`<service>-<project>.<domain>`; the first label is shortened to 63 characters."""
    return f"{fit(f'{service_name}-{project_slug}')}.{platform_domain}"
