"""Looks up challenge TXT records and CNAMEs with `dns.asyncresolver`.

Used by the worker through the `ChallengeResolver` protocol (tests of the worker's logic
may pass another implementation). Resolver exceptions become `LookupFailed` reasons:

    dns.resolver.NXDOMAIN       → nxdomain   the name does not exist
    dns.resolver.NoAnswer       → no_record  the name exists, without TXT
    dns.exception.Timeout       → timeout    no answer within LC_DNS_TIMEOUT_S
    dns.resolver.NoNameservers  → servfail   every server failed (SERVFAIL, REFUSED, ...)
    other DNSException          → servfail

No cache: every check asks the servers, so a record published a moment ago is seen as
soon as the servers have it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import dns.asyncresolver
import dns.exception
import dns.name
import dns.nameserver
import dns.rdatatype
import dns.resolver

from lc_domain_verifier.domain.lookup import LookupFailed, TxtLookup, TxtRecords
from lc_domain_verifier.settings import Nameserver


class ChallengeResolver(Protocol):
    async def lookup_txt(self, name: str) -> TxtLookup: ...

    async def lookup_cname(self, name: str) -> str | None: ...


class ResolverConfigError(Exception):
    """The system resolver configuration cannot be read and no nameservers were given."""


class DnsChallengeResolver:
    """`ChallengeResolver` over real DNS: the configured servers, or the system's."""

    def __init__(self, nameservers: Sequence[Nameserver], timeout_s: float) -> None:
        if nameservers:
            resolver = dns.asyncresolver.Resolver(configure=False)
            resolver.nameservers = [
                dns.nameserver.Do53Nameserver(ns.host, ns.port) for ns in nameservers
            ]
        else:
            try:
                resolver = dns.asyncresolver.Resolver()
            except dns.resolver.NoResolverConfiguration:
                raise ResolverConfigError(
                    "no system DNS resolvers found; set LC_DNS_NAMESERVERS"
                ) from None
        resolver.lifetime = timeout_s
        # Leave time for a second try when a UDP datagram is lost.
        resolver.timeout = timeout_s / 2
        resolver.cache = None
        self._resolver = resolver

    async def lookup_txt(self, name: str) -> TxtLookup:
        try:
            answer = await self._resolver.resolve(
                dns.name.from_text(name), dns.rdatatype.TXT, search=False
            )
        except dns.resolver.NXDOMAIN:
            return LookupFailed("nxdomain")
        except dns.resolver.NoAnswer:
            return LookupFailed("no_record")
        except dns.exception.Timeout:
            return LookupFailed("timeout")
        except dns.exception.DNSException:
            return LookupFailed("servfail")
        return TxtRecords(tuple(tuple(getattr(rdata, "strings", ())) for rdata in answer))

    async def lookup_cname(self, name: str) -> str | None:
        """Where `name` CNAMEs to (lowercase, no trailing dot), or None if it does not
        or the lookup failed: the CNAME check is informational only."""
        try:
            answer = await self._resolver.resolve(
                dns.name.from_text(name), dns.rdatatype.CNAME, search=False
            )
        except dns.exception.DNSException:
            return None
        for rdata in answer:
            target = getattr(rdata, "target", None)
            if isinstance(target, dns.name.Name):
                return target.to_text(omit_final_dot=True).lower()
        return None
