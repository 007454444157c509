"""Addresses of this machine, for tests that must connect from somewhere other than
loopback."""

from __future__ import annotations

import ipaddress
import socket


def other_address() -> str | None:
    """An address of this machine that is not loopback (the one it would send from), if any."""
    for target in ("192.0.2.1", "10.255.255.255", "8.8.8.8"):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            try:
                probe.connect((target, 9))  # UDP: nothing is sent
            except OSError:
                continue
            address = str(probe.getsockname()[0])
        if not ipaddress.ip_address(address).is_loopback and address != "0.0.0.0":
            return address
    return None
