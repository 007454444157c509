"""Admin auth: every guarded route is 401 without credentials; sessions, Basic, rate limit."""

from __future__ import annotations

import asyncio
import re

import httpx
import pytest
from fastapi.routing import iter_route_contexts
from pydantic import ValidationError

from lc_api.server import create_app
from lc_api.settings import ApiSettings

from .conftest import ADMIN, DOCS_PROJECT, client_for

PUBLIC = {
    ("GET", "/api/healthz"),
    ("GET", "/api/readyz"),
    ("GET", "/api/v1/config"),
    ("POST", "/api/v1/auth/login"),
    ("POST", "/api/v1/auth/logout"),
}


def all_routes(settings: ApiSettings) -> list[tuple[str, str]]:
    app = create_app(settings)
    out = []
    for route in iter_route_contexts(app.routes):
        for method in sorted(route.methods or ()):
            out.append((method, re.sub(r"\{[^}]+\}", "x", route.path or "")))
    return out


async def test_every_route_but_health_config_and_login_needs_credentials(
    auth_settings: ApiSettings, auth_client: httpx.AsyncClient
) -> None:
    routes = all_routes(auth_settings)
    assert len(routes) >= 25
    assert {p for _, p in routes} >= {"/api/openapi.json", "/api/metrics", "/api/v1/events/stream"}
    for method, path in routes:
        response = await auth_client.request(method, path, json={})
        if (method, path) in PUBLIC:
            assert response.status_code != 401 or path.endswith("/login"), (method, path)
        else:
            assert response.status_code == 401, (method, path, response.status_code)
            assert response.json()["type"].endswith("/unauthorized")
            assert response.headers["www-authenticate"].startswith("Basic")
    assert (await auth_client.get("/api/healthz")).status_code == 200
    assert (await auth_client.get("/api/v1/config")).json()["authMode"] == "admin"


async def test_basic_auth_and_wrong_password(auth_client: httpx.AsyncClient) -> None:
    ok = await auth_client.post("/api/v1/projects", json=DOCS_PROJECT, auth=ADMIN)
    assert ok.status_code == 201
    events = (await auth_client.get("/api/v1/events", auth=ADMIN)).json()["items"]
    assert events[0]["actor"] == "admin"
    wrong = await auth_client.get("/api/v1/projects", auth=("admin", "nope-nope-nope"))
    assert wrong.status_code == 401
    wrong_user = await auth_client.get("/api/v1/projects", auth=("root", ADMIN[1]))
    assert wrong_user.status_code == 401
    console = await auth_client.get(
        "/api/v1/projects", headers={"X-Requested-With": "XMLHttpRequest"}
    )
    assert console.status_code == 401
    assert "www-authenticate" not in console.headers


async def test_session_cookie_login_me_logout(auth_client: httpx.AsyncClient) -> None:
    login = await auth_client.post(
        "/api/v1/auth/login", json={"username": ADMIN[0], "password": ADMIN[1]}
    )
    assert login.status_code == 200, login.text
    cookie = login.headers["set-cookie"]
    assert cookie.startswith("lc_session=")
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie or "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # plain http here; behind https it is set
    me = await auth_client.get("/api/v1/auth/me")
    assert me.json() == {"username": "admin", "authEnabled": True}
    assert (await auth_client.get("/api/v1/projects")).status_code == 200
    assert (await auth_client.post("/api/v1/auth/logout")).status_code == 204
    auth_client.cookies.clear()
    auth_client.cookies.set("lc_session", login.cookies["lc_session"])
    assert (await auth_client.get("/api/v1/auth/me")).status_code == 401  # revoked server-side


async def test_failed_logins_are_rate_limited(auth_client: httpx.AsyncClient) -> None:
    bad = {"username": "admin", "password": "wrong-password"}
    for _ in range(3):
        assert (await auth_client.post("/api/v1/auth/login", json=bad)).status_code == 401
    limited = await auth_client.post("/api/v1/auth/login", json=bad)
    assert limited.status_code == 429
    assert limited.json()["type"].endswith("/rate-limited")
    assert int(limited.headers["retry-after"]) >= 1
    # even the right password waits out the window, and so does Basic
    right = await auth_client.post(
        "/api/v1/auth/login", json={"username": ADMIN[0], "password": ADMIN[1]}
    )
    assert right.status_code == 429
    assert (await auth_client.get("/api/v1/projects", auth=ADMIN)).status_code == 429


async def test_the_failure_count_is_shared_by_every_lcd_replica(
    auth_settings: ApiSettings, auth_client: httpx.AsyncClient
) -> None:
    bad = {"username": "admin", "password": "wrong-password"}
    for _ in range(3):
        assert (await auth_client.post("/api/v1/auth/login", json=bad)).status_code == 401
    async with client_for(auth_settings) as other_replica:
        limited = await other_replica.get("/api/v1/projects", auth=ADMIN)
        assert limited.status_code == 429
        assert int(limited.headers["retry-after"]) >= 1


async def test_parallel_guesses_cannot_outrun_the_limit(auth_client: httpx.AsyncClient) -> None:
    # Each check takes an Argon2 verification; all ten start before any of them ends.
    bad = {"username": "admin", "password": "wrong-password"}
    answers = await asyncio.gather(
        *(auth_client.post("/api/v1/auth/login", json=bad) for _ in range(10))
    )
    codes = sorted(a.status_code for a in answers)
    assert codes == [401] * 3 + [429] * 7


async def test_a_success_clears_the_count_and_remembered_basic_skips_the_limit(
    auth_client: httpx.AsyncClient,
) -> None:
    bad = {"username": "admin", "password": "wrong-password"}
    for _ in range(2):
        assert (await auth_client.post("/api/v1/auth/login", json=bad)).status_code == 401
    assert (await auth_client.get("/api/v1/projects", auth=ADMIN)).status_code == 200
    for _ in range(2):
        assert (await auth_client.post("/api/v1/auth/login", json=bad)).status_code == 401
    # Credentials verified a moment ago are not checked again, so they are not limited.
    for _ in range(5):
        assert (await auth_client.get("/api/v1/projects", auth=ADMIN)).status_code == 200
    assert (await auth_client.post("/api/v1/auth/login", json=bad)).status_code == 401
    assert (await auth_client.post("/api/v1/auth/login", json=bad)).status_code == 429


async def test_login_validation_and_malformed_basic(auth_client: httpx.AsyncClient) -> None:
    assert (
        await auth_client.post("/api/v1/auth/login", json={"username": "admin"})
    ).status_code == 422
    assert (
        await auth_client.post(
            "/api/v1/auth/login", content=b"{nope", headers={"Content-Type": "application/json"}
        )
    ).status_code == 400
    for header in ("Basic !!!", "Basic " + "YWRtaW4=", "Bearer abc", "Basic"):
        response = await auth_client.get("/api/v1/projects", headers={"Authorization": header})
        assert response.status_code in (401, 429)


def test_settings_refuse_unsafe_auth_configurations(nats_url: str, database_url: str) -> None:
    base = {"nats_url": nats_url, "database_url": database_url}
    with pytest.raises(ValidationError, match="not loopback"):
        ApiSettings(**base, bind_host="0.0.0.0")
    with pytest.raises(ValidationError, match="placeholder"):
        ApiSettings(**base, auth_username="admin", auth_password="<generate-a-password>")
    with pytest.raises(ValidationError, match="both"):
        ApiSettings(**base, auth_username="admin")
    with pytest.raises(ValidationError, match="postgresql"):
        ApiSettings(nats_url=nats_url, database_url="mysql://x")
    ok = ApiSettings(**base, bind_host="0.0.0.0", auth_username="admin", auth_password=ADMIN[1])
    assert ok.auth_enabled
    assert ApiSettings(**base, bind_host="::1").bind_host == "::1"


def test_trusted_proxies_must_be_addresses_or_networks(nats_url: str, database_url: str) -> None:
    base = {"nats_url": nats_url, "database_url": database_url}
    ok = ApiSettings(**base, trusted_proxies=" 10.0.0.0/8, fd00::1 ,127.0.0.1")
    assert ok.trusted_proxies == "10.0.0.0/8,fd00::1,127.0.0.1"
    with pytest.raises(ValidationError, match="any client"):
        ApiSettings(**base, trusted_proxies="*")
    with pytest.raises(ValidationError, match="not an IP address"):
        ApiSettings(**base, trusted_proxies="ingress-nginx")
