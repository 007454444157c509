"""Where the platform may send an HTTP request on a user's behalf (webhooks): the SSRF rules.

Pure decisions, no I/O. A target URL is first checked for its form (`check_url`: scheme,
host, no credentials), then every address its host resolves to is checked
(`address_refusal`) at registration and again at every connection, and the connection
goes to the very address that was checked. Refused unless a configured network allows it:
loopback, private (RFC 1918, fc00::/7), link-local (169.254/16 with cloud metadata,
fe80::/10), CGNAT 100.64/10, multicast, unspecified, reserved and documentation ranges,
and IPv4 addresses hidden in IPv6 forms (mapped, NAT64, 6to4, Teredo).

Callers: lcd's webhook commands (at registration), the webhooks worker's connection
transport (at every connection).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

MAX_URL_LENGTH: Final = 2048

# Ranges that `ipaddress`' own flags do not all cover, named for the error message.
_NAMED: Final[tuple[tuple[str, IPNetwork], ...]] = (
    ("carrier-grade NAT", ipaddress.ip_network("100.64.0.0/10")),
    ("link-local (cloud metadata)", ipaddress.ip_network("169.254.0.0/16")),
    ("link-local", ipaddress.ip_network("fe80::/10")),
    ("benchmarking", ipaddress.ip_network("198.18.0.0/15")),
    ("this network", ipaddress.ip_network("0.0.0.0/8")),
    ("IETF protocol assignments", ipaddress.ip_network("192.0.0.0/24")),
    ("reserved", ipaddress.ip_network("240.0.0.0/4")),
    ("unique local", ipaddress.ip_network("fc00::/7")),
)
_NAT64: Final = ipaddress.ip_network("64:ff9b::/96")


class TargetRefused(ValueError):
    """A webhook target the platform will not connect to; the message says why."""


@dataclass(frozen=True)
class Target:
    """A checked URL's parts: the scheme, the host as written (for Host and SNI) and port."""

    scheme: str
    host: str
    port: int
    literal: IPAddress | None  # the host, when it is an IP address

    @property
    def is_loopback_name(self) -> bool:
        return self.host == "localhost" or (self.literal is not None and self.literal.is_loopback)


def parse_networks(text: str | Iterable[str]) -> tuple[IPNetwork, ...]:
    """An allow-list setting: networks separated by commas (`127.0.0.0/8,::1/128`)."""
    items = text.split(",") if isinstance(text, str) else list(text)
    out = []
    for item in items:
        if item.strip():
            try:
                out.append(ipaddress.ip_network(item.strip(), strict=False))
            except ValueError:
                raise ValueError(f"{item.strip()!r} is not a network like 10.0.0.0/8") from None
    return tuple(out)


def check_url(url: str, *, allow_http: bool = False) -> Target:
    """The target of `url`, or TargetRefused: only http(s) with a host, no credentials, and
    `https` unless `allow_http` or the host is loopback (a receiver on this machine)."""
    if len(url) > MAX_URL_LENGTH:
        raise TargetRefused(f"the URL is longer than {MAX_URL_LENGTH} characters")
    if any(c.isspace() or ord(c) < 0x20 for c in url):
        raise TargetRefused("the URL holds whitespace or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise TargetRefused(f"the URL does not parse: {exc}") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise TargetRefused("the URL must start with https:// (or http:// where allowed)")
    if parts.username is not None or parts.password is not None:
        raise TargetRefused("the URL must not carry credentials (user:password@)")
    host = (parts.hostname or "").rstrip(".").lower()
    if not host:
        raise TargetRefused("the URL has no host")
    literal = _literal(host)
    target = Target(scheme, host, port or (443 if scheme == "https" else 80), literal)
    if scheme == "http" and not allow_http and not target.is_loopback_name:
        raise TargetRefused("the URL must use https:// (plain http is allowed to loopback only)")
    return target


def _literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def _embedded_v4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 form carries (mapped, NAT64, 6to4, Teredo), if any."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    return None


def address_refusal(address: IPAddress, allowed: Sequence[IPNetwork] = ()) -> str | None:
    """Why the platform will not connect to `address` (None: it may). A network in
    `allowed` opens the addresses in it, whatever kind they are."""
    if any(address.version == net.version and address in net for net in allowed):
        return None
    if isinstance(address, ipaddress.IPv6Address):
        inner = _embedded_v4(address)
        if inner is not None:
            why = address_refusal(inner, allowed)
            return f"{why} (inside the IPv6 address {address})" if why else None
    for name, net in _NAMED:
        if address.version == net.version and address in net:
            return f"{address} is a {name} address"
    for flag, name in (
        ("is_loopback", "loopback"),
        ("is_multicast", "multicast"),
        ("is_unspecified", "unspecified"),
        ("is_link_local", "link-local"),
        ("is_private", "private"),
        ("is_reserved", "reserved"),
    ):
        if getattr(address, flag):
            return f"{address} is a {name} address"
    if not address.is_global:
        return f"{address} is not a public address"
    return None


def first_allowed(addresses: Sequence[IPAddress], allowed: Sequence[IPNetwork] = ()) -> IPAddress:
    """The address to connect to: every address a name resolves to must be allowed (a name
    with one private address among public ones is refused), else TargetRefused."""
    if not addresses:
        raise TargetRefused("the host resolves to no address")
    for address in addresses:
        why = address_refusal(address, allowed)
        if why is not None:
            raise TargetRefused(f"the host resolves to a refused address: {why}")
    return addresses[0]
