"""LC_AUTH_TRUST_LOOPBACK: which TCP peers are the admin without credentials (pure), and
that the peer it decides on is the socket's, whatever `X-Forwarded-For` says.

The end-to-end check (lcd started with the chart's environment, reached from loopback and
from another address) is `deploy/helm/tests/test_chart_port_forward.py`.
"""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from lc_api.api.socket_peer import peer_is_trusted, served_app, socket_peer
from lc_api.settings import ApiSettings

from .conftest import ADMIN

LOOPBACK_PEERS = ["127.0.0.1", "127.8.9.10", "::1", "::ffff:127.0.0.1"]
OTHER_PEERS = [
    "192.0.2.2",
    "10.244.1.7",  # a pod's address: another pod, the ingress controller, the kubelet
    "0.0.0.0",
    "::",
    "::ffff:10.0.0.1",
    "fe80::1",
    "fd00::2",
    "localhost",  # a name is not a peer address
    "",
    None,
]


@pytest.mark.parametrize("peer", LOOPBACK_PEERS)
def test_a_loopback_peer_is_trusted_only_when_the_setting_is_on(peer: str) -> None:
    assert peer_is_trusted(peer, trust_loopback=True)
    assert not peer_is_trusted(peer, trust_loopback=False)


@pytest.mark.parametrize("peer", OTHER_PEERS)
def test_any_other_peer_is_never_trusted(peer: str | None) -> None:
    assert not peer_is_trusted(peer, trust_loopback=True)
    assert not peer_is_trusted(peer, trust_loopback=False)


async def _seen(app_scope: dict[str, Any], trusted_proxies: str) -> dict[str, Any]:
    """The scope the application sees behind `served_app` for a request with `app_scope`."""
    seen: dict[str, Any] = {}

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.update(scope)

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Any) -> None:
        pass

    await served_app(app, trusted_proxies)(app_scope, receive, send)
    return seen


def _request(client: str, forwarded_for: str) -> dict[str, Any]:
    return {
        "type": "http",
        "method": "GET",
        "path": "/api/v1/fleet",
        "headers": [(b"x-forwarded-for", forwarded_for.encode())],
        "client": (client, 40000),
    }


async def test_forwarded_for_cannot_make_a_peer_loopback() -> None:
    # An ingress controller in LC_TRUSTED_PROXIES forwards a client that claims loopback:
    # the client address believed for the login limit is the claim, the peer is not.
    seen = await _seen(_request("10.244.1.7", "127.0.0.1"), "10.244.0.0/16")
    assert seen["client"][0] == "127.0.0.1"
    assert socket_peer(seen) == "10.244.1.7"
    assert not peer_is_trusted(socket_peer(seen), trust_loopback=True)


async def test_forwarded_for_cannot_hide_a_loopback_peer() -> None:
    # A port-forward's curl adds a header naming another client: the peer is still loopback.
    seen = await _seen(_request("127.0.0.1", "203.0.113.9"), "127.0.0.1,::1")
    assert seen["client"][0] == "203.0.113.9"
    assert socket_peer(seen) == "127.0.0.1"


def test_without_the_recording_middleware_nothing_is_trusted() -> None:
    # lcd mounted in `lc up`, or driven through an ASGI transport: no peer is recorded.
    assert socket_peer({"type": "http", "client": ("127.0.0.1", 1)}) is None


def test_the_setting_needs_the_admin_login() -> None:
    base = {"nats_url": "nats://127.0.0.1:4222", "database_url": "postgresql://db/lc"}
    with pytest.raises(ValidationError, match="LC_AUTH_TRUST_LOOPBACK=true needs"):
        ApiSettings(**base, auth_trust_loopback=True)
    on = ApiSettings(
        **base,
        bind_host="0.0.0.0",
        auth_username=ADMIN[0],
        auth_password=ADMIN[1],
        auth_trust_loopback=True,
    )
    assert on.auth_trust_loopback
    assert not ApiSettings(**base).auth_trust_loopback
