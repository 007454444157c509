"""Facts about addresses that every service's settings share."""

from __future__ import annotations

import ipaddress


def is_loopback(host: str) -> bool:
    """Whether binding to `host` keeps a server on this machine only."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
