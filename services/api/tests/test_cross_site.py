"""Cross-site and DNS-rebinding requests are refused before any route runs; the console
(same origin) and API clients (no Origin, JSON bodies) go on working."""

from __future__ import annotations

import httpx

from .conftest import client_for, make_settings

PROJECT = {"name": "Default", "slug": "default"}


async def _no_project(client: httpx.AsyncClient) -> None:
    assert (await client.get("/api/v1/projects/default")).status_code == 404


async def test_a_text_plain_write_is_415_and_changes_nothing(client: httpx.AsyncClient) -> None:
    # What an HTML form or a no-cors fetch can send without a CORS preflight.
    for content_type in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data"):
        answer = await client.post(
            "/api/v1/projects",
            content=b'{"name":"Default","slug":"default"}',
            headers={"Content-Type": content_type},
        )
        assert answer.status_code == 415, content_type
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.json()["type"].endswith("/unsupported-media-type")
    await _no_project(client)


async def test_a_write_without_a_content_type_is_415(client: httpx.AsyncClient) -> None:
    answer = await client.post(
        "/api/v1/projects", content=b'{"name":"Default","slug":"default"}', headers={}
    )
    assert answer.status_code == 415
    await _no_project(client)


async def test_an_unknown_host_is_421_for_reads_and_writes(client: httpx.AsyncClient) -> None:
    # A DNS-rebinding page reaches lcd's address under the attacker's name.
    rebound = {"Host": "attacker.example:8080"}
    read = await client.get("/api/v1/projects", headers=rebound)
    assert read.status_code == 421
    assert read.json()["type"].endswith("/misdirected-request")
    write = await client.post("/api/v1/projects", json=PROJECT, headers=rebound)
    assert write.status_code == 421
    await _no_project(client)
    for loopback in ("127.0.0.1:8080", "localhost", "[::1]:8080"):
        assert (await client.get("/api/v1/projects", headers={"Host": loopback})).status_code == 200


async def test_a_browser_on_another_origin_is_403(client: httpx.AsyncClient) -> None:
    for origin in ("https://attacker.example", "http://127.0.0.1:8081", "null"):
        answer = await client.post("/api/v1/projects", json=PROJECT, headers={"Origin": origin})
        assert answer.status_code == 403, origin
        assert answer.json()["type"].endswith("/cross-origin")
    await _no_project(client)


async def test_the_console_on_its_own_origin_works(client: httpx.AsyncClient) -> None:
    created = await client.post(
        "/api/v1/projects", json=PROJECT, headers={"Origin": "http://127.0.0.1"}
    )
    assert created.status_code == 201
    # A bodiless write (as curl -X DELETE sends it) needs no Content-Type.
    deleted = await client.delete(
        "/api/v1/projects/default", headers={"Origin": "http://127.0.0.1"}
    )
    assert deleted.status_code in (200, 202, 204)


async def test_behind_an_ingress_the_console_host_is_allowed(
    nats_url: str, database_url: str
) -> None:
    settings = make_settings(nats_url, database_url, allowed_hosts="console.acme.com")
    async with client_for(settings) as client:
        console = {"Host": "console.acme.com", "Origin": "https://console.acme.com"}
        created = await client.post("/api/v1/projects", json=PROJECT, headers=console)
        assert created.status_code == 201
        other = {"Host": "other.acme.com"}
        assert (await client.get("/api/v1/projects", headers=other)).status_code == 421
