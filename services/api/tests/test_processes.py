"""Real processes and sockets: 1,000 concurrent creates, and a crash between append and projection."""

from __future__ import annotations

import asyncio
import collections
import contextlib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from nats.js import JetStreamContext

from lc_api.cli_commands import replay
from lc_api.settings import ApiSettings
from lc_eventstore import EventStore

from .processes import LcdProcess
from .test_events_and_replay import every_get

RETRIABLE = {409, 503}


@pytest.fixture
def lcd(nats_url: str, database_url: str, tmp_path: Path) -> Iterator[LcdProcess]:
    process = LcdProcess(nats_url, database_url, log=tmp_path / "lcd.log")
    try:
        yield process
    finally:
        process.stop()


async def stream_events(jetstream: JetStreamContext) -> list[tuple[int, str, dict[str, object]]]:
    out = []
    async for batch in EventStore(jetstream).read():
        for message in batch:
            envelope = message.envelope()
            out.append((message.seq, envelope.type, envelope.data))
    return out


async def test_a_thousand_concurrent_creates(
    lcd: LcdProcess, nats_url: str, database_url: str, jetstream: JetStreamContext
) -> None:
    lcd.start()
    # 1,000 creates over 700 slugs: 300 must lose to an earlier create of the same slug.
    slugs = [f"p{i % 700}" for i in range(1000)]
    limits = httpx.Limits(max_connections=64)
    async with httpx.AsyncClient(base_url=lcd.url, limits=limits, timeout=60) as client:
        answers = await asyncio.gather(
            *(client.post("/api/v1/projects", json={"name": s.upper(), "slug": s}) for s in slugs)
        )
        codes = collections.Counter(a.status_code for a in answers)
        assert set(codes) <= {201, 202} | RETRIABLE, codes
        won = [s for s, a in zip(slugs, answers, strict=True) if a.status_code in (201, 202)]
        events = [e for e in await stream_events(jetstream) if e[1] == "project.created"]
        in_stream = [str(e[2]["slug"]) for e in events]
        # every 2xx is in the stream exactly once, and every event was answered 2xx
        assert sorted(won) == sorted(in_stream)
        assert len(set(in_stream)) == len(in_stream) == 700
        for slug, answer in zip(slugs, answers, strict=True):
            if answer.status_code == 201:
                assert answer.json()["slug"] == slug
                assert int(answer.headers["x-lc-seq"]) in {e[0] for e in events}
        listing = (await client.get("/api/v1/projects", params={"limit": 1000})).json()["items"]
        assert sorted(p["slug"] for p in listing) == sorted(in_stream)
        before = await every_get(client)
    lcd.stop()
    await replay(ApiSettings(nats_url=nats_url, database_url=database_url))
    lcd.start()
    async with httpx.AsyncClient(base_url=lcd.url, timeout=60) as client:
        assert await every_get(client) == before


async def test_killing_lcd_between_append_and_projection_loses_nothing(
    nats_url: str, database_url: str, jetstream: JetStreamContext, tmp_path: Path
) -> None:
    # An lcd whose projector is off appends and answers 202 + Location: the event is in
    # the log, the read model does not show it. Then the process is killed outright.
    writer = LcdProcess(
        nats_url,
        database_url,
        env={"LC_PROJECTOR_ENABLED": "false", "LC_READ_YOUR_WRITES_TIMEOUT_S": "0.2"},
        log=tmp_path / "writer.log",
    ).start()
    try:
        async with httpx.AsyncClient(base_url=writer.url, timeout=30) as client:
            answer = await client.post(
                "/api/v1/projects", json={"name": "Default", "slug": "default"}
            )
            assert answer.status_code == 202
            seq = int(answer.headers["x-lc-seq"])
            assert (await client.get("/api/v1/projects/default")).status_code == 404
    finally:
        writer.kill()
    # A new lcd catches up from the checkpoint: the project is there and logged once.
    reader = LcdProcess(nats_url, database_url, log=tmp_path / "reader.log").start()
    try:
        async with httpx.AsyncClient(base_url=reader.url, timeout=30) as client:
            got = await client.get("/api/v1/projects/default")
            assert got.status_code == 200
            assert got.json()["version"] == seq
            events = (await client.get("/api/v1/events")).json()["items"]
            assert [(e["seq"], e["type"]) for e in events] == [(seq, "project.created")]
    finally:
        reader.stop()


async def test_killing_lcd_mid_burst_keeps_log_and_read_models_in_step(
    lcd: LcdProcess, jetstream: JetStreamContext
) -> None:
    lcd.start()
    async with httpx.AsyncClient(base_url=lcd.url, timeout=30) as client:
        tasks = [
            asyncio.ensure_future(
                client.post("/api/v1/projects", json={"name": "N", "slug": f"k{i}"})
            )
            for i in range(200)
        ]
        for done, task in enumerate(asyncio.as_completed(tasks), start=1):
            with contextlib.suppress(httpx.HTTPError):
                await task
            if done == 40:
                lcd.kill()
        for task in tasks:
            if not task.done():
                task.cancel()
    lcd.start()
    logged = [e for e in await stream_events(jetstream) if e[1] == "project.created"]
    async with httpx.AsyncClient(base_url=lcd.url, timeout=30) as client:
        listing = (await client.get("/api/v1/projects", params={"limit": 1000})).json()["items"]
        audit = (await client.get("/api/v1/events", params={"limit": 1000})).json()["items"]
    assert sorted(p["slug"] for p in listing) == sorted(str(e[2]["slug"]) for e in logged)
    assert [e["seq"] for e in audit] == [e[0] for e in logged]


@pytest.mark.parametrize(
    ("trusted", "second_client_code"),
    [("127.0.0.1", 401), ("10.20.0.0/16", 429)],
    ids=["forwarded-from-a-trusted-proxy", "forwarded-from-anyone-else"],
)
async def test_the_login_limit_counts_the_address_a_trusted_proxy_forwards(
    nats_url: str, database_url: str, tmp_path: Path, trusted: str, second_client_code: int
) -> None:
    # lcd on loopback: the test's requests come from 127.0.0.1, standing in for the Ingress.
    lcd = LcdProcess(
        nats_url,
        database_url,
        env={
            "LC_AUTH_USERNAME": "admin",
            "LC_AUTH_PASSWORD": "correct horse battery staple",
            "LC_LOGIN_MAX_FAILURES": "2",
            "LC_TRUSTED_PROXIES": trusted,
        },
        log=tmp_path / "lcd.log",
    ).start()
    bad = {"username": "admin", "password": "wrong-password"}
    try:
        async with httpx.AsyncClient(base_url=lcd.url, timeout=30) as client:
            for _ in range(2):
                answer = await client.post(
                    "/api/v1/auth/login", json=bad, headers={"X-Forwarded-For": "203.0.113.7"}
                )
                assert answer.status_code == 401
            limited = await client.post(
                "/api/v1/auth/login", json=bad, headers={"X-Forwarded-For": "203.0.113.7"}
            )
            assert limited.status_code == 429
            # Another user behind the same Ingress: their own count when the Ingress is
            # trusted; the Ingress's shared (and spent) count when it is not.
            other = await client.post(
                "/api/v1/auth/login", json=bad, headers={"X-Forwarded-For": "198.51.100.9"}
            )
            assert other.status_code == second_client_code
    finally:
        lcd.stop()
