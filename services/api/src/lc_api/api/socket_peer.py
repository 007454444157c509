"""The address at the other end of a request's TCP connection, kept before any
`X-Forwarded-For` is believed, and whether LC_AUTH_TRUST_LOOPBACK lets it in as the admin.

uvicorn's proxy-header handling replaces the ASGI `client` with the address an
`X-Forwarded-For` names whenever the connection comes from LC_TRUSTED_PROXIES (loopback
by default). A header is the client's to write, so the loopback trust must rest on the
socket alone: `served_app` puts `SocketPeer` outside uvicorn's `ProxyHeadersMiddleware`,
and `SocketPeer` records the connection's peer in the scope before that middleware runs.
`peer_is_trusted` (pure) decides from the record; a request without one (lcd mounted in
`lc up`, a test's ASGI transport) is never trusted.

Callers: the `lcd` entry point (`served_app`), `lc_api.api.deps.require_admin`
(`socket_peer`, `peer_is_trusted`).
"""

from __future__ import annotations

import ipaddress
from typing import cast

from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

SOCKET_PEER = "lc.socket_peer"
"""The scope key holding the socket's peer address (a str), set only by `SocketPeer`."""


def peer_is_trusted(peer: str | None, trust_loopback: bool) -> bool:
    """Whether a request from the TCP peer `peer` is the admin without credentials: only
    with LC_AUTH_TRUST_LOOPBACK and a loopback IP address (127.0.0.0/8, ::1, or
    127.0.0.0/8 mapped into IPv6 by a dual-stack socket)."""
    if not trust_loopback or not peer:
        return False
    try:
        address = ipaddress.ip_address(peer)
    except ValueError:
        return False  # not an IP peer (a Unix socket, a name): nothing to trust
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped.is_loopback
    return address.is_loopback


def socket_peer(scope: Scope) -> str | None:
    """The peer `SocketPeer` recorded for this request, if it ran."""
    peer = scope.get(SOCKET_PEER)
    return peer if isinstance(peer, str) else None


class SocketPeer:
    """Records the ASGI server's `client` host (the socket's peer) under SOCKET_PEER.
    It must run before anything rewrites `client`: `served_app` puts it outermost."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            client = scope.get("client")
            scope[SOCKET_PEER] = str(client[0]) if client else None
        await self.app(scope, receive, send)


def served_app(app: ASGIApp, trusted_proxies: str) -> ASGIApp:
    """`app` as the `lcd` entry point serves it (uvicorn's own proxy headers off): the
    socket's peer recorded, then `X-Forwarded-For` believed from LC_TRUSTED_PROXIES."""
    # uvicorn types its middleware with its own ASGI TypedDicts; the protocol is the same.
    believing_proxies = ProxyHeadersMiddleware(app, trusted_hosts=trusted_proxies)  # type: ignore[arg-type]
    return SocketPeer(cast(ASGIApp, believing_proxies))
