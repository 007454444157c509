"""Names of emitted objects and hostnames, kept within Kubernetes' length limits.

A name that would exceed its limit is cut and given a short hash of the whole name (see
`lc_contracts.hostnames.fit`). The rules of the platform hostname and of a project's
namespace live in `lc_contracts`, because lcd shows the same URL and checks the same
namespace. Called by the compiler only.
"""

from __future__ import annotations

from lc_contracts.hostnames import DNS_LABEL_MAX, HASH_LEN, fit, namespace_name, platform_hostname

__all__ = [
    "DNS_LABEL_MAX",
    "HASH_LEN",
    "derived_name",
    "fit",
    "namespace_name",
    "object_name",
    "platform_hostname",
]


def object_name(service_name: str) -> str:
    """Name shared by every object of a Service.

    Kubernetes Service names must start with a letter (DNS-1035); a service name starting
    with a digit gets an `lc-` prefix so every object of the Service shares one name.
    """
    name = service_name if service_name[:1].isalpha() else f"lc-{service_name}"
    return fit(name)


def derived_name(service_name: str, suffix: str) -> str:
    return fit(f"{object_name(service_name)}-{suffix}")
