"""Project secrets: created, listed by name and version, rotated and deleted; their values
never appear in the stream's raw bytes, the audit log, its live feed or the logs."""

from __future__ import annotations

import asyncio
import io
import json
import logging

import httpx
import pytest
from nats.js import JetStreamContext
from pydantic import ValidationError

from lc_api.cli_commands import print_events
from lc_api.settings import ApiSettings
from lc_contracts.sealing import generate_key
from lc_contracts.streams import EVENTS_STREAM

from .conftest import DOCS_PROJECT, client_for, make_settings, serve
from .test_events_and_replay import read_sse

VALUE = "hf_s3cr3t-" + "v" * 30
ROTATED = "hf_r0tated-" + "w" * 30
SECRETS = "/api/v1/projects/default/secrets"


@pytest.fixture
def keyed(nats_url: str, database_url: str) -> ApiSettings:
    return make_settings(nats_url, database_url, secret_key=generate_key())


async def raw_stream(js: JetStreamContext) -> bytes:
    info = await js.stream_info(EVENTS_STREAM.name)
    chunks = []
    for seq in range(info.state.first_seq, info.state.last_seq + 1):
        message = await js.get_msg(EVENTS_STREAM.name, seq)
        chunks.append((message.subject or "").encode() + (message.data or b""))
    return b"\n".join(chunks)


async def test_create_list_rotate_delete(keyed: ApiSettings) -> None:
    async with client_for(keyed) as client:
        assert (await client.post("/api/v1/projects", json=DOCS_PROJECT)).status_code == 201
        created = await client.post(SECRETS, json={"name": "hf-token", "value": VALUE})
        assert created.status_code == 201
        assert created.headers["location"] == f"{SECRETS}/hf-token"
        assert created.json()["name"] == "hf-token"
        assert created.json()["version"] == 1
        assert "value" not in created.json()
        again = await client.post(SECRETS, json={"name": "hf-token", "value": "other"})
        assert again.status_code == 409
        rotated = await client.put(f"{SECRETS}/hf-token", json={"value": ROTATED})
        assert rotated.status_code == 200
        assert rotated.json()["version"] == 2
        listed = (await client.get(SECRETS)).json()["items"]
        assert [(s["name"], s["version"]) for s in listed] == [("hf-token", 2)]
        assert (await client.delete(f"{SECRETS}/hf-token")).status_code == 204
        assert (await client.get(f"{SECRETS}/hf-token")).status_code == 404
        assert (await client.get(SECRETS)).json()["items"] == []
        assert (await client.put(f"{SECRETS}/hf-token", json={"value": "x"})).status_code == 404
        assert (await client.delete(f"{SECRETS}/hf-token")).status_code == 404
        # Versions go on counting after a deletion.
        back = await client.post(SECRETS, json={"name": "hf-token", "value": VALUE})
        assert back.json()["version"] == 3


async def test_bad_requests(keyed: ApiSettings) -> None:
    async with client_for(keyed) as client:
        missing = await client.post(
            "/api/v1/projects/nope/secrets", json={"name": "a", "value": "b"}
        )
        assert missing.status_code == 404
        assert (await client.get("/api/v1/projects/nope/secrets")).status_code == 404
        await client.post("/api/v1/projects", json=DOCS_PROJECT)
        for body, pointer in (
            ({"name": "Not_A_Label", "value": "x"}, "/name"),
            ({"name": "ok", "value": ""}, "/value"),
            ({"name": "ok"}, "/value"),
            ({"name": "ok", "value": "x", "version": 3}, "/version"),
        ):
            answer = await client.post(SECRETS, json=body)
            assert answer.status_code == 422, body
            assert pointer in [e["pointer"] for e in answer.json()["errors"]], body
        both = {
            "name": "app",
            "tier": "cpu",
            "kind": {
                "container": {
                    "image": "nginx:1.27",
                    "env": [{"name": "TOKEN", "value": "plain", "secretRef": "hf-token"}],
                }
            },
        }
        refused = await client.post("/api/v1/projects/default/services", json=both)
        assert refused.status_code == 422
        del both["kind"]["container"]["env"][0]["value"]  # type: ignore[index]
        accepted = await client.post("/api/v1/projects/default/services", json=both)
        assert accepted.status_code == 201
        env = accepted.json()["spec"]["kind"]["container"]["env"]
        assert env == [{"name": "TOKEN", "value": "", "secretRef": "hf-token"}]


async def test_without_a_key_secrets_are_refused_clearly(settings: ApiSettings) -> None:
    assert settings.secret_key is None
    async with client_for(settings) as client:
        await client.post("/api/v1/projects", json=DOCS_PROJECT)
        refused = await client.post(SECRETS, json={"name": "hf-token", "value": VALUE})
        assert refused.status_code == 503
        assert refused.json()["type"].endswith("/secrets-disabled")
        assert "LC_SECRET_KEY" in refused.json()["detail"]
        assert "retry-after" not in refused.headers
        assert (await client.get(SECRETS)).json()["items"] == []


def test_a_malformed_key_refuses_to_start(nats_url: str, database_url: str) -> None:
    for bad in ("short", "x" * 44, ""):
        with pytest.raises(ValidationError, match="LC_SECRET_KEY must be 32 random bytes"):
            make_settings(nats_url, database_url, secret_key=bad)
    key = generate_key()
    assert key not in repr(make_settings(nats_url, database_url, secret_key=key))


async def test_values_never_appear_outside_the_seal(
    keyed: ApiSettings, jetstream: JetStreamContext, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with serve(keyed) as base, httpx.AsyncClient(base_url=base, timeout=10) as client:
        await client.post("/api/v1/projects", json=DOCS_PROJECT)
        async with client.stream("GET", "/api/v1/events/stream", params={"after": 0}) as feed:
            reader = asyncio.ensure_future(read_sse(feed, 4))
            assert (
                await client.post(SECRETS, json={"name": "hf-token", "value": VALUE})
            ).status_code == 201
            assert (
                await client.put(f"{SECRETS}/hf-token", json={"value": ROTATED})
            ).status_code == 200
            assert (await client.delete(f"{SECRETS}/hf-token")).status_code == 204
            frames = await asyncio.wait_for(reader, 10)
        assert [f["event"] for f in frames] == [
            "project.created",
            "secret.set",
            "secret.set",
            "secret.deleted",
        ]
        shown = json.loads(frames[2]["data"])["data"]
        assert shown == {"projectSlug": "default", "name": "hf-token", "version": 2}
        audit = await client.get("/api/v1/events", params={"limit": 1000})
        audit_text = audit.text
        assert '"secret.set"' in audit_text
        printed = io.StringIO()
        await print_events(keyed, as_json=True, out=printed)
    raw = await raw_stream(jetstream)
    assert b"secret.set" in raw
    for value in (VALUE, ROTATED):
        assert value.encode() not in raw
        assert value not in audit_text
        assert value not in "".join(f["data"] for f in frames)
        assert value not in printed.getvalue()
        assert value not in caplog.text
    # The sealed form stays on the stream, for the reconciler alone.
    assert "sealed" not in audit_text
    assert "sealed" not in printed.getvalue()


async def test_a_deleted_project_takes_its_secrets_along(keyed: ApiSettings) -> None:
    async with client_for(keyed) as client:
        await client.post("/api/v1/projects", json=DOCS_PROJECT)
        await client.post(SECRETS, json={"name": "hf-token", "value": VALUE})
        assert (await client.delete("/api/v1/projects/default")).status_code == 204
        await client.post("/api/v1/projects", json=DOCS_PROJECT)
        assert (await client.get(SECRETS)).json()["items"] == []
        assert (await client.get(f"{SECRETS}/hf-token")).status_code == 404
