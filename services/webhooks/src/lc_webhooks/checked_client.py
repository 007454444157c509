"""The HTTP client every delivery goes through: kept-alive connections, each opened to an
address that was checked when it was opened.

At every new connection the receiver's host is resolved again and every address checked
(`lc_contracts.outbound`); the connection goes to the address that was checked, with the
name's `Host` header and TLS SNI. A name that resolves to a public address when
registered and to 169.254.169.254 a minute later (DNS rebinding) is refused at the next
connection. A connection kept alive stays with the address checked when it was opened.
An IP literal is checked at every request (no lookup to do). Redirects are never
followed.

Raises `RefusedTarget` for a refused target; the courier counts it like any failed
connection.

Callers: the worker (one client for every courier), the courier (`post`).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import aiohttp
import dns.asyncresolver
import dns.exception
import dns.nameserver
import dns.rdatatype
import dns.resolver
from aiohttp.abc import AbstractResolver, ResolveResult

from lc_contracts.outbound import (
    IPAddress,
    IPNetwork,
    TargetRefused,
    check_url,
    first_allowed,
)

KEEP_ALIVE_S = 30.0
MAX_PASSED = 10_000


class RefusedTarget(Exception):
    """The SSRF rules refused the receiver's address."""


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


class _CheckedResolver(AbstractResolver):
    """What aiohttp asks before each new connection to a name: the one checked address."""

    def __init__(self, resolver: Resolver, allowed: Sequence[IPNetwork]) -> None:
        self._resolver = resolver
        self._allowed = tuple(allowed)

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        try:
            address = first_allowed(await self._resolver.addresses(host), self._allowed)
        except TargetRefused as exc:
            raise RefusedTarget(f"refused: {exc}") from None
        inet = socket.AF_INET6 if address.version == 6 else socket.AF_INET
        return [
            ResolveResult(
                hostname=host, host=str(address), port=port, family=inet, proto=0, flags=0
            )
        ]

    async def close(self) -> None:
        return None


@dataclass(frozen=True)
class Answer:
    status_code: int
    headers: Mapping[str, str]
    body: bytes  # the first `keep` bytes at most


class CheckedClient:
    def __init__(
        self,
        resolver: Resolver,
        *,
        allowed: Sequence[IPNetwork] = (),
        allow_http: bool = False,
    ) -> None:
        self._allowed = tuple(allowed)
        self._allow_http = allow_http
        self._checked_resolver = _CheckedResolver(resolver, self._allowed)
        self._session: aiohttp.ClientSession | None = None
        self._passed: set[str] = set()  # URLs whose scheme and IP literal passed

    def _open_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(
                resolver=self._checked_resolver,
                use_dns_cache=False,
                limit=0,
                keepalive_timeout=KEEP_ALIVE_S,
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                timeout=aiohttp.ClientTimeout(total=None),
                auto_decompress=False,
                skip_auto_headers=("Accept", "Accept-Encoding"),
            )
        return self._session

    async def post(
        self, url: str, *, content: bytes, headers: Mapping[str, str] | None = None, keep: int = 0
    ) -> Answer:
        """POST `content`; the answer with its body's first `keep` bytes. Raises
        `RefusedTarget`, or `aiohttp.ClientError` / `OSError` for a failed connection."""
        if url not in self._passed:
            try:
                target = check_url(url, allow_http=self._allow_http)
                if target.literal is not None:
                    first_allowed([target.literal], self._allowed)
            except TargetRefused as exc:
                raise RefusedTarget(f"refused: {exc}") from None
            if len(self._passed) >= MAX_PASSED:
                self._passed.clear()
            self._passed.add(url)  # the check is pure: its answer for a URL never changes
        session = self._open_session()
        async with session.post(
            url, data=content, headers=headers, allow_redirects=False
        ) as response:
            kept = b""
            while len(kept) < keep:
                chunk = await response.content.read(keep - len(kept))
                if not chunk:
                    break
                kept += chunk
            return Answer(response.status, response.headers, kept)

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def __aenter__(self) -> CheckedClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


# What `post` raises for a target it could not reach or was refused.
CONNECTION_FAILURES = (RefusedTarget, aiohttp.ClientError, OSError)
