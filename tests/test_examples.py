"""The examples run: the FastStream reader prints the log's events decoded with the
contracts, and continues after its last acknowledged event when restarted under the same
durable name; the webhook receiver accepts a delivery signed by the worker's signing code
and refuses a forged one."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import httpx
from nats.js import JetStreamContext

from lc_contracts.events import ProjectCreated, build
from lc_contracts.subjects import project_subject
from lc_contracts.webhooks import new_secret
from lc_eventstore import EventStore, provision_streams
from lc_testing import free_port
from lc_webhooks import signing

from .test_webhooks_e2e import EXAMPLES, start_receiver


def run_reader(nats_url: str, *args: str) -> list[dict[str, object]]:
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / "events_reader.py"), "--nats", nats_url, *args],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]


async def test_the_faststream_reader_reads_and_resumes(
    nats_url: str, jetstream: JetStreamContext
) -> None:
    await provision_streams(jetstream)
    store = EventStore(jetstream)
    for slug in ("r1", "r2", "r3"):
        event = build(
            ProjectCreated(slug=slug, name=slug), subject=project_subject(slug), source="t"
        )
        await store.append(project_subject(slug), [event], 0)
    first = run_reader(nats_url, "--durable", "ex", "--count", "2")
    assert [e["data"]["slug"] for e in first] == ["r1", "r2"]  # type: ignore[index]
    assert first[0]["type"] == "project.created"
    rest = run_reader(nats_url, "--durable", "ex", "--count", "1")
    assert [e["data"]["slug"] for e in rest] == ["r3"]  # type: ignore[index]


def test_the_receiver_verifies_signatures() -> None:
    secret, port = new_secret(), free_port()
    proc, lines = start_receiver(port, secret)
    try:
        body = b'{"type":"project.created","timestamp":"2026-11-30T00:00:00Z","data":{}}'
        now = int(time.time())
        good = signing.headers([secret], "evt-1", now, body)
        forged = signing.headers([new_secret()], "evt-2", now, body)
        url = f"http://127.0.0.1:{port}/"
        assert httpx.post(url, content=body, headers=forged).status_code == 400
        assert httpx.post(url, content=body, headers=good).status_code == 204
        assert httpx.post(url, content=body, headers=good).status_code == 204  # a repeat
        got = lines.until(lambda e: e.get("webhookId") == "evt-1", within=10)
        assert got["type"] == "project.created"
        assert [e.get("webhookId") for e in lines.seen if "webhookId" in e] == ["evt-1"]
    finally:
        proc.terminate()
        proc.wait(10)
