"""The HTTP client every delivery goes through: kept-alive connections, each opened to an
address that was checked when it was opened (`lc_http1`).

At every new connection the receiver's host is resolved again and every address checked
(`lc_contracts.outbound`); the connection goes to the address that was checked, with the
name's `Host` header and TLS SNI (the default verifying context). A name that resolves to
a public address when registered and to 169.254.169.254 a minute later (DNS rebinding) is
refused at the next connection. A connection kept alive stays with the address checked
when it was opened; one the receiver closed is opened again, and checked again. An IP
literal is checked with its URL and at every new connection (no lookup to do). Redirects
are never followed (a 3xx is an answer). The answer's body is read up to what the caller
keeps (a little more to keep the connection: `lc_http1.connection.DRAIN_LIMIT`).

Raises `RefusedTarget` for a refused target; the courier counts it like any failed
connection.

Callers: the worker (one client for every courier), the courier (`post`).
"""

from __future__ import annotations

import ipaddress
import ssl
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import dns.asyncresolver
import dns.exception
import dns.nameserver
import dns.rdatatype
import dns.resolver

from lc_contracts.outbound import (
    IPAddress,
    IPNetwork,
    TargetRefused,
    check_url,
    first_allowed,
)
from lc_http1 import Http1Client, Http1Error

KEEP_ALIVE_S = 30.0
MAX_PASSED = 10_000
# Idle connections kept per receiver: one per subscription to it delivering at once.
MAX_IDLE = 256


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
        timeout_s: float = 15.0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        """`timeout_s` bounds the connection and each silence of the receiver (the courier
        bounds the whole request); `ssl_context` replaces the default verifying one."""
        self._resolver = resolver
        self._allowed = tuple(allowed)
        self._allow_http = allow_http
        self._http = Http1Client(
            connect_timeout_s=timeout_s,
            read_timeout_s=timeout_s,
            address=self._checked_address,
            ssl_context=ssl_context,
            max_idle=MAX_IDLE,
            idle_timeout_s=KEEP_ALIVE_S,
        )
        self._passed: set[str] = set()  # URLs whose scheme and IP literal passed

    async def _checked_address(self, host: str) -> str:
        """Before each new connection: the one address to connect to, checked."""
        try:
            literal = ipaddress.ip_address(host)
        except ValueError:
            literal = None
        try:
            if literal is not None:
                return str(first_allowed([literal], self._allowed))
            return str(first_allowed(await self._resolver.addresses(host), self._allowed))
        except TargetRefused as exc:
            raise RefusedTarget(f"refused: {exc}") from None

    async def post(
        self, url: str, *, content: bytes, headers: Mapping[str, str] | None = None, keep: int = 0
    ) -> Answer:
        """POST `content`; the answer with its body's first `keep` bytes. Raises
        `RefusedTarget`, or `lc_http1.Http1Error` for a failed connection."""
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
        answer = await self._http.post(url, headers.items() if headers else (), content, keep=keep)
        answer.release()
        found: dict[str, str] = {}
        for name, value in answer.raw_headers:
            found.setdefault(name.decode("latin-1").lower(), value.decode("latin-1"))
        return Answer(answer.status, found, answer.body)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> CheckedClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


# What `post` raises for a target it could not reach or was refused.
CONNECTION_FAILURES = (RefusedTarget, Http1Error, OSError)
