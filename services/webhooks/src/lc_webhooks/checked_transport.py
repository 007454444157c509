"""The HTTP transport every delivery goes through: resolve the receiver's host once,
check every address (`lc_contracts.outbound`), connect to the address that was checked,
with the name's `Host` header and TLS SNI. A name that resolves to a public address when
registered and to 169.254.169.254 a minute later (DNS rebinding) is refused at that
connection; redirects are never followed (the client is built without them).

Raises `TargetRefused` (an httpx.TransportError subclass here, `RefusedTarget`) for a
refused target, so the courier counts it like any failed connection.

Callers: the courier's httpx client.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

import dns.asyncresolver
import dns.exception
import dns.nameserver
import dns.rdatatype
import dns.resolver
import httpx

from lc_contracts.outbound import (
    IPAddress,
    IPNetwork,
    TargetRefused,
    check_url,
    first_allowed,
)


class RefusedTarget(httpx.TransportError):
    """The SSRF rules refused the receiver's address at connect time."""


class Resolver:
    """A and AAAA lookups through the given servers, or the system's; no cache."""

    def __init__(self, nameservers: Sequence[tuple[str, int]] = (), timeout_s: float = 5.0) -> None:
        if nameservers:
            resolver = dns.asyncresolver.Resolver(configure=False)
            resolver.nameservers = [dns.nameserver.Do53Nameserver(h, p) for h, p in nameservers]
        else:
            resolver = dns.asyncresolver.Resolver()
        resolver.lifetime = timeout_s
        resolver.cache = None
        self._resolver = resolver

    async def addresses(self, host: str) -> list[IPAddress]:
        if host == "localhost":
            return [ipaddress.ip_address("127.0.0.1")]
        found: list[IPAddress] = []
        for rdtype in (dns.rdatatype.A, dns.rdatatype.AAAA):
            try:
                answer = await self._resolver.resolve(host, rdtype, search=False)
            except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
                continue
            except dns.exception.DNSException as exc:
                raise TargetRefused(f"{host} could not be resolved: {exc}") from None
            found.extend(ipaddress.ip_address(r.to_text()) for r in answer)
        return found


class CheckedTransport(httpx.AsyncBaseTransport):
    def __init__(
        self,
        resolver: Resolver,
        *,
        allowed: Sequence[IPNetwork] = (),
        allow_http: bool = False,
        inner: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._resolver = resolver
        self._allowed = tuple(allowed)
        self._allow_http = allow_http
        self._inner = inner or httpx.AsyncHTTPTransport(retries=0)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            target = check_url(str(request.url), allow_http=self._allow_http)
            addresses = (
                [target.literal] if target.literal else await self._resolver.addresses(target.host)
            )
            address = first_allowed(addresses, self._allowed)
        except TargetRefused as exc:
            raise RefusedTarget(f"refused: {exc}", request=request) from None
        request.headers["Host"] = request.url.netloc.decode("ascii")
        request.url = request.url.copy_with(host=str(address))
        if target.scheme == "https":
            request.extensions = {**request.extensions, "sni_hostname": target.host}
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()
