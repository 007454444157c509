"""The platform hostname of a Service, a project's namespace, and names cut to
Kubernetes' length limits. Pure.

Callers: the reconciler (Ingress and Certificate hosts, object and namespace names) and
lcd (the URL it shows, the namespace a new project would take), so both always name the
same host and namespace.

The hostname is `<service>-<project>.<platformDomain>`, the product docs' form
(`whisper-prod.example.com`), whenever that form can be read back one way only: the
project slug holds no '-' and is not all digits, so the project is the part after the
last '-'. Otherwise the first label ends with `-<n>`, `n` the length of the service
name: service `a` of project `b-c` is `a-b-c-1`, service `a-b` of project `c` stays
`a-b-c`. A label ending in digits only is never of the first form, so no two
(service, project) pairs share a hostname. A label longer than 63 characters is cut and
ends with a hash of the whole (see `fit`).
"""

from __future__ import annotations

import hashlib
from typing import Final

DNS_LABEL_MAX: Final = 63
HASH_LEN: Final = 8


def fit(name: str, limit: int = DNS_LABEL_MAX) -> str:
    """`name` itself when it fits, else a prefix of it + '-' + 8 hex of its sha256.

    Deterministic (the same spec always yields the same name), and two long names that
    share a prefix still differ.
    """
    if len(name) <= limit:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:HASH_LEN]
    head = name[: limit - HASH_LEN - 1].rstrip("-")
    return f"{head}-{digest}"


def namespace_name(prefix: str, project_slug: str) -> str:
    """The namespace of project `project_slug` (`prefix` is the platform's setting)."""
    return fit(f"{prefix}{project_slug}")


def platform_label(service_name: str, project_slug: str) -> str:
    """The first label of the service's platform hostname (see the module docstring)."""
    if "-" in project_slug or project_slug.isdigit():
        return fit(f"{service_name}-{project_slug}-{len(service_name)}")
    return fit(f"{service_name}-{project_slug}")


def platform_hostname(service_name: str, project_slug: str, platform_domain: str) -> str:
    return f"{platform_label(service_name, project_slug)}.{platform_domain}"
