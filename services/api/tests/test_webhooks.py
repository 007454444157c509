"""Webhook subscriptions in lcd: the secret shown once and nowhere else, every bad input a
problem+json 4xx, pause/resume/rotate/replay/test written to the log, and the SSRF rules
at registration (each refused range, names that resolve to loopback or cloud metadata
through the simulator's DNS zone)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx
import pytest
from nats.js import JetStreamContext

from lc_api.settings import ApiSettings
from lc_clustersim.dns_zone import DnsZone
from lc_contracts.sealing import generate_key
from lc_contracts.webhooks import secret_bytes

from .conftest import DOCS_PROJECT, client_for, make_settings
from .test_secrets import raw_stream

HOOKS = "/api/v1/webhooks"
RECEIVER = "http://127.0.0.1:9/hook"


@pytest.fixture
async def dns_zone() -> AsyncIterator[DnsZone]:
    zone = DnsZone()
    await zone.start()
    try:
        yield zone
    finally:
        await zone.stop()


@pytest.fixture
def hook_settings(nats_url: str, database_url: str, dns_zone: DnsZone) -> ApiSettings:
    return make_settings(
        nats_url,
        database_url,
        secret_key=generate_key(),
        webhook_allow_networks="127.0.0.0/8",
        dns_nameservers=f"127.0.0.1:{dns_zone.port}",
    )


@pytest.fixture
async def hooks(hook_settings: ApiSettings) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(hook_settings) as c:
        yield c


async def subscribe(client: httpx.AsyncClient, **body: object) -> httpx.Response:
    return await client.post(HOOKS, json={"url": RECEIVER, "eventTypes": ["service.*"], **body})


def assert_problem(response: httpx.Response, status: int, pointer: str | None = None) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    if pointer is not None:
        assert pointer in [e["pointer"] for e in response.json().get("errors", [])]


async def test_the_secret_is_shown_once_and_never_again(
    hooks: httpx.AsyncClient, jetstream: JetStreamContext
) -> None:
    created = await subscribe(hooks, description="CI")
    assert created.status_code == 201, created.text
    body = created.json()
    secret = body["secret"]
    assert secret.startswith("whsec_")
    assert 24 <= len(secret_bytes(secret)) <= 64
    assert body["status"] == "active"
    assert body["eventTypes"] == ["service.*"]
    assert created.headers["Location"] == f"{HOOKS}/{body['id']}"

    one = await hooks.get(f"{HOOKS}/{body['id']}")
    assert one.status_code == 200
    listed = await hooks.get(HOOKS)
    events = await hooks.get("/api/v1/events")
    rotated = await hooks.post(f"{HOOKS}/{body['id']}/rotate-secret")
    assert rotated.status_code == 200, rotated.text
    new_secret = rotated.json()["secret"]
    assert new_secret.startswith("whsec_")
    assert new_secret != secret
    assert rotated.json()["previousSecretExpiresAt"]
    after = await hooks.get(f"{HOOKS}/{body['id']}")
    audit = await hooks.get("/api/v1/events")
    raw = await raw_stream(jetstream)
    for text in (one.text, listed.text, events.text, after.text, audit.text, raw.decode()):
        for value in (secret, new_secret, secret.removeprefix("whsec_")):
            assert value not in text
    assert "secret" not in one.json()
    types = [e["type"] for e in audit.json()["items"]]
    assert "webhook.subscribed" in types
    assert "webhook.secret_rotated" in types
    assert "sealedSecret" not in audit.text
    assert after.json()["secretRotatedAt"]


async def test_change_pause_resume_replay_test_and_delete(hooks: httpx.AsyncClient) -> None:
    hook = (await subscribe(hooks)).json()
    url = f"{HOOKS}/{hook['id']}"
    changed = await hooks.patch(url, json={"eventTypes": ["domain.verified", "*"]})
    assert changed.status_code == 200, changed.text
    assert changed.json()["eventTypes"] == ["*", "domain.verified"]
    assert changed.json()["url"] == RECEIVER

    paused = await hooks.post(f"{url}/pause")
    assert paused.json()["status"] == "paused"
    assert paused.json()["pauseReason"] == "admin"
    resumed = await hooks.patch(url, json={"enabled": True})
    assert resumed.json()["status"] == "active"
    assert resumed.json()["pauseReason"] is None
    disabled = await hooks.patch(url, json={"enabled": False})
    assert disabled.json()["status"] == "paused"
    assert (await hooks.post(f"{url}/resume")).json()["status"] == "active"

    replay = await hooks.post(f"{url}/replay", json={"fromSequence": 1})
    assert replay.status_code == 202, replay.text
    assert replay.headers["Location"] == f"{url}/deliveries"
    since = await hooks.post(f"{url}/replay", json={"since": "2026-11-30T00:00:00Z"})
    assert since.status_code == 202
    test = await hooks.post(f"{url}/test")
    assert test.status_code == 202
    deliveries = await hooks.get(f"{url}/deliveries")
    assert deliveries.status_code == 200
    assert deliveries.json()["items"] == []

    assert (await hooks.delete(url)).status_code == 204
    assert_problem(await hooks.get(url), 404)
    assert_problem(await hooks.post(f"{url}/test"), 404)
    assert_problem(await hooks.get(f"{url}/deliveries"), 404)


async def test_project_scope_needs_the_project(hooks: httpx.AsyncClient) -> None:
    assert_problem(await subscribe(hooks, projectSlug="default"), 422, "/projectSlug")
    assert (await hooks.post("/api/v1/projects", json=DOCS_PROJECT)).status_code == 201
    scoped = await subscribe(hooks, projectSlug="default")
    assert scoped.status_code == 201
    assert (await hooks.get(HOOKS, params={"project": "default"})).json()["items"][0]["id"] == (
        scoped.json()["id"]
    )


async def test_a_projects_subscriptions_go_with_it(hooks: httpx.AsyncClient) -> None:
    """A project created later under the same slug is another team's: no subscription of
    the deleted one may receive its events."""
    assert (await hooks.post("/api/v1/projects", json=DOCS_PROJECT)).status_code == 201
    scoped = (await subscribe(hooks, projectSlug="default")).json()["id"]
    everywhere = (await subscribe(hooks)).json()["id"]
    deleted = await hooks.delete("/api/v1/projects/default")
    assert deleted.status_code in (200, 202, 204), deleted.text
    assert (await hooks.get(f"{HOOKS}/{scoped}")).status_code == 404
    assert (await hooks.get(f"{HOOKS}/{everywhere}")).status_code == 200
    assert (await hooks.post("/api/v1/projects", json=DOCS_PROJECT)).status_code == 201
    assert (await hooks.get(HOOKS, params={"project": "default"})).json()["items"] == []


@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        ({"url": RECEIVER, "eventTypes": []}, "/eventTypes"),
        ({"url": RECEIVER, "eventTypes": ["Service Applied"]}, "/eventTypes"),
        ({"url": RECEIVER, "eventTypes": ["webhook.*"]}, "/eventTypes"),
        ({"url": RECEIVER}, "/eventTypes"),
        ({"url": RECEIVER, "eventTypes": ["*"], "secret": "x"}, "/secret"),
        ({"url": RECEIVER, "eventTypes": ["*"], "projectSlug": "Not A Slug"}, "/projectSlug"),
        ({"url": "ftp://example.com/x", "eventTypes": ["*"]}, "/url"),
        ({"url": "http://example.com/x", "eventTypes": ["*"]}, "/url"),
        ({"url": "https://user:pw@example.com/x", "eventTypes": ["*"]}, "/url"),
        ({"url": "https:///nohost", "eventTypes": ["*"]}, "/url"),
        ({"url": "https://example.com:99999/", "eventTypes": ["*"]}, "/url"),
    ],
)
async def test_bad_subscriptions_are_refused(
    hooks: httpx.AsyncClient, body: dict[str, object], pointer: str
) -> None:
    assert_problem(await hooks.post(HOOKS, json=body), 422, pointer)


@pytest.mark.parametrize(
    "host",
    [
        "10.1.2.3",  # private
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",  # link-local: cloud metadata
        "100.64.0.1",  # carrier-grade NAT
        "224.0.0.1",  # multicast
        "240.0.0.1",  # reserved
        "0.0.0.0",
        "[::1]",  # loopback, not in the test's allow-list
        "[fe80::1]",  # link-local
        "[fd00::1]",  # unique local
        "[::ffff:10.0.0.1]",  # IPv4-mapped private
        "[::ffff:169.254.169.254]",
        "[64:ff9b::a9fe:a9fe]",  # NAT64 of the metadata address
    ],
)
async def test_every_refused_range_at_registration(hooks: httpx.AsyncClient, host: str) -> None:
    refused = await hooks.post(HOOKS, json={"url": f"https://{host}/hook", "eventTypes": ["*"]})
    assert_problem(refused, 422, "/url")


async def test_names_resolving_to_refused_addresses(
    hooks: httpx.AsyncClient, dns_zone: DnsZone
) -> None:
    dns_zone.set_record("A", "metadata.attacker.test", "169.254.169.254")
    dns_zone.set_record("A", "mixed.attacker.test", ["93.184.216.34", "10.0.0.7"])
    dns_zone.set_record("AAAA", "mapped.attacker.test", "::ffff:192.168.0.1")
    dns_zone.set_record("A", "public.example.test", "93.184.216.34")
    for name in ("metadata", "mixed", "mapped"):
        refused = await hooks.post(
            HOOKS, json={"url": f"https://{name}.attacker.test/x", "eventTypes": ["*"]}
        )
        assert_problem(refused, 422, "/url")
        assert "refused address" in refused.json()["detail"]
    missing = await hooks.post(
        HOOKS, json={"url": "https://nx.attacker.test/", "eventTypes": ["*"]}
    )
    assert_problem(missing, 422, "/url")
    public = await hooks.post(
        HOOKS, json={"url": "https://public.example.test/x", "eventTypes": ["*"]}
    )
    assert public.status_code == 201, public.text


async def test_a_name_resolving_to_loopback_needs_the_allow_list(
    nats_url: str, database_url: str, dns_zone: DnsZone
) -> None:
    dns_zone.set_record("A", "rebind.attacker.test", "127.0.0.1")
    body = {"url": "https://rebind.attacker.test/x", "eventTypes": ["*"]}
    closed = make_settings(
        nats_url,
        database_url,
        secret_key=generate_key(),
        dns_nameservers=f"127.0.0.1:{dns_zone.port}",
    )
    async with client_for(closed) as client:
        assert_problem(await client.post(HOOKS, json=body), 422, "/url")
        assert_problem(await subscribe(client), 422, "/url")  # 127.0.0.1 itself


async def test_bad_changes_and_replays(hooks: httpx.AsyncClient) -> None:
    url = f"{HOOKS}/{(await subscribe(hooks)).json()['id']}"
    assert_problem(await hooks.patch(url, json={"url": "https://10.0.0.1/"}), 422, "/url")
    assert_problem(await hooks.patch(url, json={"status": "active"}), 422, "/status")
    assert_problem(await hooks.patch(url, json={"eventTypes": ["nope"]}), 422, "/eventTypes")
    assert_problem(await hooks.patch(url, content=b"{", headers=JSON), 400)
    for body in (
        {},
        {"fromSequence": 1, "since": "2026-11-30T00:00:00Z"},
        {"fromSequence": 0},
        {"since": "2026-11-30T00:00:00"},
        {"since": "2026-11-30T01:00:00Z", "until": "2026-11-30T00:00:00Z"},
    ):
        assert_problem(await hooks.post(f"{url}/replay", json=body), 422)
    assert_problem(await hooks.get(f"{url}/deliveries", params={"before": 0}), 422)
    assert_problem(await hooks.get(f"{HOOKS}/not_an_id!"), 404)
    assert_problem(await hooks.patch(f"{HOOKS}/nope", json={"enabled": False}), 404)


JSON = {"content-type": "application/json"}


async def test_without_the_platform_key_webhooks_answer_503(settings: ApiSettings) -> None:
    async with client_for(settings) as client:
        refused = await subscribe(client)
        assert_problem(refused, 503)
        assert "LC_SECRET_KEY" in refused.json()["detail"]
        assert json.loads(refused.text)["type"].endswith("secrets-disabled")


async def test_a_retried_create_answers_the_same_secret_and_stores_it_nowhere(
    hooks: httpx.AsyncClient, hook_settings: ApiSettings
) -> None:
    import sqlalchemy as sa
    from sqlalchemy.ext.asyncio import create_async_engine

    headers = {"Idempotency-Key": "create-hook-1"}
    body = {"url": RECEIVER, "eventTypes": ["*"]}
    first = await hooks.post(HOOKS, json=body, headers=headers)
    again = await hooks.post(HOOKS, json=body, headers=headers)
    assert first.status_code == 201
    assert again.status_code in (200, 201)
    assert first.headers["Cache-Control"] == "no-store"
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["secret"] == first.json()["secret"]
    rotate_key = {"Idempotency-Key": "rotate-hook-1"}
    url = f"{HOOKS}/{first.json()['id']}/rotate-secret"
    rotated = await hooks.post(url, headers=rotate_key)
    rotated_again = await hooks.post(url, headers=rotate_key)
    assert rotated_again.json()["secret"] == rotated.json()["secret"]
    engine = create_async_engine(hook_settings.database_url)
    try:
        async with engine.connect() as conn:
            stored = (await conn.execute(sa.text("SELECT body FROM idempotency_records"))).all()
    finally:
        await engine.dispose()
    dumped = b"".join(row[0] or b"" for row in stored)
    for secret in (first.json()["secret"], rotated.json()["secret"]):
        assert secret.encode() not in dumped
    listed = (await hooks.get(HOOKS)).json()["items"]
    assert len(listed) == 1
