"""The SSRF check of a webhook URL at registration: its form, then every address its host
resolves to (`lc_contracts.outbound`), through the configured DNS servers or the system's.

The webhooks worker checks again at every connection and connects to the address it
checked; this check only refuses, early and with a clear answer, what would never be
delivered.

Callers: `webhook_commands` (subscribe, and a PATCH that changes the URL).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

import dns.asyncresolver
import dns.exception
import dns.nameserver
import dns.rdatatype
import dns.resolver

from lc_api.domain.errors import FieldError, InvalidCommand
from lc_contracts.outbound import (
    IPAddress,
    IPNetwork,
    TargetRefused,
    check_url,
    first_allowed,
)


def parse_nameservers(text: str) -> list[tuple[str, int]]:
    """`host:port` (or `host`) items separated by commas: LC_DNS_NAMESERVERS."""
    out = []
    for item in text.split(","):
        item = item.strip()
        if item:
            host, _, port = item.rpartition(":") if item.count(":") == 1 else (item, "", "53")
            out.append((host, int(port)))
    return out


class WebhookTargets:
    def __init__(
        self,
        *,
        allowed: Sequence[IPNetwork] = (),
        allow_http: bool = False,
        nameservers: Sequence[tuple[str, int]] = (),
        timeout_s: float = 5.0,
    ) -> None:
        self._allowed = tuple(allowed)
        self._allow_http = allow_http
        self._nameservers = list(nameservers)
        self._timeout_s = timeout_s

    def _resolver(self) -> dns.asyncresolver.Resolver:
        if self._nameservers:
            resolver = dns.asyncresolver.Resolver(configure=False)
            resolver.nameservers = [
                dns.nameserver.Do53Nameserver(host, port) for host, port in self._nameservers
            ]
        else:
            resolver = dns.asyncresolver.Resolver()
        resolver.lifetime = self._timeout_s
        resolver.cache = None
        return resolver

    async def _resolve(self, host: str) -> list[IPAddress]:
        if host == "localhost":
            return [ipaddress.ip_address("127.0.0.1")]
        resolver = self._resolver()
        found: list[IPAddress] = []
        for rdtype in (dns.rdatatype.A, dns.rdatatype.AAAA):
            try:
                answer = await resolver.resolve(host, rdtype, search=False)
            except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
                continue
            except dns.exception.DNSException as exc:
                raise TargetRefused(f"the host {host} could not be resolved: {exc}") from None
            found.extend(ipaddress.ip_address(r.to_text()) for r in answer)
        return found

    async def check(self, url: str) -> None:
        """InvalidCommand (422 on /url) for a URL the platform will not deliver to."""
        try:
            target = check_url(url, allow_http=self._allow_http)
            addresses = [target.literal] if target.literal else await self._resolve(target.host)
            first_allowed(addresses, self._allowed)
        except TargetRefused as exc:
            raise InvalidCommand(
                f"webhook URL refused: {exc}", [FieldError("/url", str(exc))]
            ) from None
