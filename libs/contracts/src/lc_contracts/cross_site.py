"""Which requests a web page on another site (or a DNS-rebinding one) cannot make.

With auth off on loopback, any page the user visits could otherwise drive lcd and
lc-proxy from the browser. Three checks, in this order:

1. `Host` must be an allowed host (421): loopback names and addresses, the address the
   server binds to, and the names in `LC_ALLOWED_HOSTS`. A DNS-rebinding page reaches
   the server under its own name, which is none of these.
2. A browser's `Origin`, when sent, must be the server's own origin (403): the console is
   served on the same origin as `/api` and `/v1`, so it passes; a page elsewhere does
   not. Browsers send `Origin` on every cross-origin request and on every POST, PUT,
   PATCH and DELETE; SDKs and curl send none.
3. A state-changing request (POST, PUT, PATCH, DELETE) with a body, or with a declared
   `Content-Type`, must declare one of the accepted media types (415): JSON, which an
   HTML form cannot send without a CORS preflight (and multipart for uploads where the
   caller says so).

Who calls it: lcd's `RequestChecks` middleware (problem+json answers) and lc-proxy's
`request_checks` (OpenAI-shaped answers), with their settings' allowed hosts. Pure.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
WILDCARD_BINDS = frozenset({"", "0.0.0.0", "::", "*"})
JSON = "application/json"
MULTIPART = "multipart/form-data"
_DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True)
class Refusal:
    status: int
    reason: str  # stable slug: "misdirected-request", "cross-origin", "unsupported-media-type"
    detail: str


@dataclass(frozen=True)
class AllowedHosts:
    """Exact host names (lower case, no port) and `*.suffix` wildcards."""

    names: frozenset[str]
    suffixes: tuple[str, ...] = ()

    @classmethod
    def of(cls, configured: Iterable[str], bind_host: str | None = None) -> AllowedHosts:
        names = set(LOOPBACK_NAMES)
        if bind_host is not None and bind_host.strip("[]") not in WILDCARD_BINDS:
            names.add(bind_host.strip("[]").lower())
        suffixes: list[str] = []
        for item in configured:
            item = item.strip().lower().rstrip(".")
            if item.startswith("*."):
                suffixes.append(item[1:])
            elif item:
                names.add(item.strip("[]"))
        return cls(frozenset(names), tuple(suffixes))

    def allows(self, hostname: str) -> bool:
        if hostname in self.names or hostname.endswith(self.suffixes):
            return True
        try:
            return ipaddress.ip_address(hostname).is_loopback
        except ValueError:
            return False


def parse_host_list(raw: str) -> list[str]:
    """`LC_ALLOWED_HOSTS`: comma-separated names (`console.example.com`, `*.example.com`);
    ValueError for an entry that is not a host name."""
    items = [item.strip() for item in raw.split(",") if item.strip()]
    for item in items:
        name = item.removeprefix("*.").strip("[]")
        has_port = ":" in name and not _is_ip(name)
        if has_port or any(c in item for c in "/@ \\"):
            raise ValueError(
                f"LC_ALLOWED_HOSTS: {item!r} is not a host name; write e.g. "
                "'console.example.com' or '*.example.com' (no scheme, path or port)"
            )
    return items


def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def split_host(value: str) -> tuple[str, int | None] | None:
    """`("example.com", 8080)` for `Example.com:8080`, `("::1", None)` for `[::1]`;
    None when it is no host."""
    value = value.strip().lower()
    if not value:
        return None
    if value.startswith("["):
        end = value.find("]")
        if end < 0:
            return None
        name, rest = value[1:end], value[end + 1 :]
        if rest and not rest.startswith(":"):
            return None
        port_text = rest[1:] if rest else ""
    else:
        name, _, port_text = value.partition(":")
    if not name or any(c in name for c in "/@ \\"):
        return None
    if not port_text:
        return name.rstrip("."), None
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        return None
    return name.rstrip("."), int(port_text)


def media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def _accepted(media: str, accepted: frozenset[str]) -> bool:
    if media in accepted:
        return True
    # application/merge-patch+json and the like: JSON too, and never a form's encoding.
    return JSON in accepted and media.startswith("application/") and media.endswith("+json")


def check_request(
    method: str,
    host: str | None,
    origin: str | None,
    content_type: str | None,
    has_body: bool,
    allowed: AllowedHosts,
    accepted_media: frozenset[str] = frozenset({JSON}),
) -> Refusal | None:
    """None when the request may go on; otherwise why not, with the status to answer."""
    parsed_host = split_host(host or "")
    if parsed_host is None or not allowed.allows(parsed_host[0]):
        return Refusal(
            421,
            "misdirected-request",
            f"this server does not answer for host {host!r}; add the name you reach it by "
            "to LC_ALLOWED_HOSTS",
        )
    if origin is not None and not _same_origin(origin, parsed_host):
        return Refusal(
            403,
            "cross-origin",
            f"requests from origin {origin!r} are refused: only the console served by this "
            "server may call it from a browser",
        )
    if method in WRITE_METHODS and (has_body or content_type is not None):
        media = media_type(content_type)
        if not _accepted(media, accepted_media):
            names = " or ".join(sorted(accepted_media))
            return Refusal(
                415,
                "unsupported-media-type",
                f"send the request body as {names} (Content-Type was {content_type!r})",
            )
    return None


def _same_origin(origin: str, host: tuple[str, int | None]) -> bool:
    try:
        parts = urlsplit(origin.strip())
        origin_port = parts.port
    except ValueError:
        return False
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname or parts.path not in ("", "/"):
        return False
    default = _DEFAULT_PORTS[scheme]
    origin_name = parts.hostname.lower().rstrip(".")
    host_name, host_port = host
    return origin_name == host_name and (origin_port or default) == (host_port or default)


def has_request_body(headers: Iterable[tuple[bytes, bytes]]) -> bool:
    """Whether raw ASGI headers announce a body (a non-zero length, or chunks)."""
    for key, value in headers:
        if key == b"transfer-encoding":
            return True
        if key == b"content-length":
            return value.strip() not in (b"0", b"")
    return False


def check_asgi_request(
    scope: Mapping[str, Any],
    allowed: AllowedHosts,
    accepted_media: frozenset[str] = frozenset({JSON}),
) -> Refusal | None:
    """`check_request` on an ASGI HTTP scope's method and raw headers."""
    raw: list[tuple[bytes, bytes]] = list(scope.get("headers") or [])
    found: dict[bytes, str] = {}
    for key, value in raw:
        if key in (b"host", b"origin", b"content-type") and key not in found:
            found[key] = value.decode("latin-1")
    return check_request(
        str(scope.get("method", "GET")),
        found.get(b"host"),
        found.get(b"origin"),
        found.get(b"content-type"),
        has_request_body(raw),
        allowed,
        accepted_media,
    )
