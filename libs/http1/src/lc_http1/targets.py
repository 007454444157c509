"""A URL as `client` sends to it: where to connect, the request target and the `Host`
header. Pure; the client caches one per URL.

An origin is (tls, host, port): the key of a pool of kept-alive connections. The host is
the URL's name (or IP literal, without brackets), which is also the TLS server name.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote, urlsplit

# Characters a request target may carry as they are: RFC 3986's unreserved and reserved
# ones and "%" (escapes already made). Anything else (a space, a control character,
# non-ASCII) is percent-encoded, so a URL can never split the request line.
_TARGET_SAFE = "/?#[]@!$&'()*+,;=-._~:%"


@dataclass(frozen=True, slots=True)
class Origin:
    tls: bool
    host: str
    port: int


@dataclass(frozen=True, slots=True)
class Target:
    origin: Origin
    path: bytes
    """The request target: path and query, percent-encoded."""
    host_header: bytes
    """The URL's authority without user information (its port only if the URL has one)."""


def parse_target(url: str) -> Target | None:
    """`url`'s target, or None for a scheme other than http or https, or no host."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    tls = parts.scheme == "https"
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    authority = parts.netloc.rsplit("@", 1)[-1]
    try:
        host_header = authority.encode("idna")
    except UnicodeError:
        return None
    return Target(
        origin=Origin(tls, parts.hostname, port or (443 if tls else 80)),
        path=quote(path, safe=_TARGET_SAFE).encode("ascii"),
        host_header=host_header,
    )
