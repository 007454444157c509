"""`lc up` refuses to open anything beyond loopback without the credentials it needs."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from lc_local.components import Wiring, http_apps
from lc_local.settings import LocalSettings
from lc_proxy.app import ProxyApp

ADMIN = {"auth_username": "admin", "auth_password": "correct horse battery staple"}
KEY = "lc-" + "k" * 40


@pytest.fixture(autouse=True)
def no_lc_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in [n for n in os.environ if n.startswith("LC_")]:
        monkeypatch.delenv(name)


def test_loopback_needs_nothing() -> None:
    assert LocalSettings(host="127.0.0.1").host == "127.0.0.1"


def test_another_address_needs_the_admin_login_and_proxy_keys(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with pytest.raises(ValidationError, match="admin credentials"):
        LocalSettings(host="0.0.0.0")
    with pytest.raises(ValidationError, match="LC_PROXY_API_KEYS"):
        LocalSettings(host="0.0.0.0", **ADMIN)
    monkeypatch.setenv("LC_PROXY_API_KEYS", KEY)
    assert LocalSettings(host="0.0.0.0", **ADMIN).host == "0.0.0.0"
    monkeypatch.delenv("LC_PROXY_API_KEYS")
    monkeypatch.setenv("LC_PROXY_ALLOW_ANONYMOUS", "true")
    assert LocalSettings(host="0.0.0.0", **ADMIN).host == "0.0.0.0"


def test_the_mounted_proxy_asks_for_the_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LC_PROXY_API_KEYS", KEY)
    wiring = Wiring(
        nats_url="nats://127.0.0.1:4222",
        database_url="postgresql+psycopg://postgres@127.0.0.1:5432/lc",
        kubeconfig="/nonexistent/kubeconfig",
        dns_nameservers="127.0.0.1:53",
        platform_domain="lc.localhost",
        bind_host="0.0.0.0",
        **ADMIN,
    )
    proxy = http_apps(wiring)["/v1"]
    assert isinstance(proxy, ProxyApp)
    assert proxy.api_keys.required
    assert proxy.api_keys.allows(f"Bearer {KEY}".encode())


@pytest.mark.parametrize("host", ["127.0.0.1", "0.0.0.0"])
def test_lcds_loopback_trust_is_refused(monkeypatch: pytest.MonkeyPatch, host: str) -> None:
    # The gateway reaches lcd from loopback: with the trust, every client would be admin.
    monkeypatch.setenv("LC_PROXY_API_KEYS", KEY)
    monkeypatch.setenv("LC_AUTH_TRUST_LOOPBACK", "true")
    with pytest.raises(ValidationError, match="LC_AUTH_TRUST_LOOPBACK is for lcd in a Kubernetes"):
        LocalSettings(host=host, **ADMIN)
    monkeypatch.setenv("LC_AUTH_TRUST_LOOPBACK", "false")
    assert LocalSettings(host=host, **ADMIN).host == host
