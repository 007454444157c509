"""The worker against a real NATS, PostgreSQL, lcd and receivers on loopback sockets:
signed deliveries in order, retries, 410, Retry-After, redirects, timeouts, pausing when
the schedule is spent, resuming, replays, secret rotation, and a worker killed mid-delivery."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from nats.js import JetStreamContext
from standardwebhooks import Webhook

from lc_testing import wait_until
from lc_webhooks.settings import WebhookSettings

from .conftest import running_worker
from .receiver import Answer, Receiver

HOOKS = "/api/v1/webhooks"


async def subscribe(lcd: httpx.AsyncClient, url: str, types: list[str]) -> tuple[str, str]:
    created = await lcd.post(HOOKS, json={"url": url, "eventTypes": types})
    assert created.status_code == 201, created.text
    return created.json()["id"], created.json()["secret"]


async def projects(lcd: httpx.AsyncClient, *slugs: str) -> list[int]:
    seqs = []
    for slug in slugs:
        made = await lcd.post("/api/v1/projects", json={"name": slug, "slug": slug})
        assert made.status_code == 201, made.text
        seqs.append(int(made.headers["X-LC-Seq"]))
    return seqs


def verified(secret: str, received: object) -> dict[str, object]:
    """The body, after the reference library checked its signature."""
    headers = received.headers  # type: ignore[attr-defined]
    body = received.body  # type: ignore[attr-defined]
    payload: dict[str, object] = Webhook(secret).verify(body.decode(), headers)
    return payload


def slugs_of(received: list[object]) -> list[str]:
    return [json.loads(r.body)["data"]["data"]["slug"] for r in received]  # type: ignore[attr-defined]


async def status_of(lcd: httpx.AsyncClient, sub_id: str) -> dict[str, object]:
    answer: dict[str, object] = (await lcd.get(f"{HOOKS}/{sub_id}")).json()
    return answer


async def test_signed_in_order_and_logged(
    lcd: httpx.AsyncClient, worker: asyncio.Task[None], receiver: Receiver
) -> None:
    sub_id, secret = await subscribe(lcd, receiver.url, ["project.*"])
    await projects(lcd, "a1", "a2", "a3")
    await lcd.post("/api/v1/domains", json={"fqdn": "x.acme.test"})  # refused: no event
    await wait_until(lambda: len(receiver.received) >= 3, what="3 deliveries")
    bodies = [verified(secret, r) for r in receiver.received]
    assert [b["type"] for b in bodies] == ["project.created"] * 3
    assert slugs_of(receiver.received) == ["a1", "a2", "a3"]
    for r, b in zip(receiver.received, bodies, strict=True):
        assert r.headers["webhook-id"] == b["data"]["id"]  # type: ignore[index]
        assert r.headers["content-type"] == "application/json"
    deliveries = (await lcd.get(f"{HOOKS}/{sub_id}/deliveries")).json()["items"]
    await wait_until(lambda: _count(lcd, sub_id, 3), timeout=10, what="3 delivery log rows")
    deliveries = (await lcd.get(f"{HOOKS}/{sub_id}/deliveries")).json()["items"]
    assert [d["outcome"] for d in deliveries] == ["delivered"] * 3
    assert all(d["statusCode"] == 200 and d["responseBody"] == "ok" for d in deliveries)
    assert deliveries[0]["eventSeq"] > deliveries[-1]["eventSeq"]  # newest first


async def _count(lcd: httpx.AsyncClient, sub_id: str, n: int) -> bool:
    items = (await lcd.get(f"{HOOKS}/{sub_id}/deliveries")).json()["items"]
    return len(items) >= n


async def test_test_event_goes_only_to_its_subscription(
    lcd: httpx.AsyncClient, worker: asyncio.Task[None], receiver: Receiver
) -> None:
    mine, secret = await subscribe(lcd, receiver.url, ["*"])
    await subscribe(lcd, receiver.url.replace("/hook", "/other"), ["*"])
    assert (await lcd.post(f"{HOOKS}/{mine}/test")).status_code == 202
    await wait_until(lambda: receiver.received, what="the test event")
    assert verified(secret, receiver.received[0])["type"] == "webhook.test"
    await projects(lcd, "after")
    await wait_until(lambda: len(receiver.received) >= 3, what="project.created twice")
    types = sorted(json.loads(r.body)["type"] for r in receiver.received)
    assert types == ["project.created", "project.created", "webhook.test"]


async def test_receiver_down_then_back_gets_everything_in_order(
    lcd: httpx.AsyncClient,
    worker_settings: Callable[..., WebhookSettings],
) -> None:
    receiver = Receiver()  # not listening yet: connections are refused
    async with running_worker(worker_settings(webhook_retry_schedule_s=(0.2,) * 50)):
        sub_id, secret = await subscribe(lcd, receiver.url, ["project.*"])
        await projects(lcd, "b1", "b2")
        await wait_until(lambda: _failed(lcd, sub_id), what="failed attempts")
        # Scripted before it listens: the first two requests it takes are b1's next tries.
        receiver.script = [Answer(503), Answer(500)]
        async with receiver.serving():
            await projects(lcd, "b3")
            await wait_until(lambda: len(receiver.delivered()) >= 3, timeout=20, what="all")
    delivered = receiver.delivered()
    assert slugs_of(delivered) == ["b1", "b2", "b3"]
    ids = [r.headers["webhook-id"] for r in receiver.received]
    first = ids[: len(receiver.received) - 2]
    assert set(first) == {ids[0]}  # the retries of b1 carry its id
    for r in delivered:
        verified(secret, r)


async def _failed(lcd: httpx.AsyncClient, sub_id: str) -> bool:
    items = (await lcd.get(f"{HOOKS}/{sub_id}/deliveries")).json()["items"]
    return any(i["outcome"] == "failed" and "Connect" in (i["error"] or "") for i in items)


async def test_410_pauses_and_resume_continues_there(
    lcd: httpx.AsyncClient, worker: asyncio.Task[None], receiver: Receiver
) -> None:
    sub_id, _ = await subscribe(lcd, receiver.url, ["project.*"])
    receiver.script = [Answer(410)]
    seqs = await projects(lcd, "c1", "c2")
    await wait_until(lambda: _paused(lcd, sub_id, "gone"), timeout=10, what="paused after 410")
    state = await status_of(lcd, sub_id)
    assert state["pausedAtSequence"] == seqs[0]
    assert len(receiver.received) == 1
    assert (await lcd.post(f"{HOOKS}/{sub_id}/resume")).json()["status"] == "active"
    await wait_until(lambda: len(receiver.delivered()) >= 2, what="c1 and c2 after resume")
    assert slugs_of(receiver.delivered()) == ["c1", "c2"]


async def _paused(lcd: httpx.AsyncClient, sub_id: str, reason: str) -> bool:
    state = await status_of(lcd, sub_id)
    return state["status"] == "paused" and state["pauseReason"] == reason


async def test_spent_schedule_pauses_and_keeps_the_position(
    lcd: httpx.AsyncClient, worker: asyncio.Task[None], receiver: Receiver
) -> None:
    sub_id, _ = await subscribe(lcd, receiver.url, ["project.*"])
    receiver.default = Answer(500)
    seqs = await projects(lcd, "d1", "d2")
    await wait_until(lambda: _paused(lcd, sub_id, "retries_exhausted"), what="paused")
    assert len(receiver.received) == 4  # the first attempt and three retries
    state = await status_of(lcd, sub_id)
    assert state["pausedAtSequence"] == seqs[0]
    assert "HTTP 500" in str(state["pauseDetail"])
    receiver.default = Answer(200)
    await lcd.post(f"{HOOKS}/{sub_id}/resume")
    await wait_until(lambda: len(receiver.delivered()) >= 2, what="d1 and d2")
    assert slugs_of(receiver.delivered()) == ["d1", "d2"]


async def test_retry_after_is_honoured_on_429(
    lcd: httpx.AsyncClient, worker: asyncio.Task[None], receiver: Receiver
) -> None:
    await subscribe(lcd, receiver.url, ["project.*"])
    receiver.script = [Answer(429, {"Retry-After": "1"})]
    await projects(lcd, "e1")
    await wait_until(lambda: receiver.delivered(), what="delivered after 429")
    first, second = receiver.received[0], receiver.received[1]
    assert second.at - first.at >= 0.95  # the schedule alone would retry after 0.05 s


async def test_redirects_are_failures_and_never_followed(
    lcd: httpx.AsyncClient, worker: asyncio.Task[None], receiver: Receiver
) -> None:
    async with Receiver().serving() as other:
        sub_id, _ = await subscribe(lcd, receiver.url, ["project.*"])
        receiver.script = [
            Answer(307, {"Location": other.url}),
            Answer(302, {"Location": "http://169.254.169.254/latest/meta-data/"}),
        ]
        await projects(lcd, "f1")
        await wait_until(lambda: receiver.delivered(), what="delivered after redirects")
        assert other.received == []
    assert len(receiver.received) == 3
    items = (await lcd.get(f"{HOOKS}/{sub_id}/deliveries")).json()["items"]
    errors = [i["error"] for i in reversed(items)]
    assert errors[:2] == [
        "redirect 307 (redirects are not followed)",
        "redirect 302 (redirects are not followed)",
    ]


async def test_a_slow_receiver_times_out(
    lcd: httpx.AsyncClient,
    worker_settings: Callable[..., WebhookSettings],
    receiver: Receiver,
) -> None:
    async with running_worker(worker_settings(webhook_timeout_s=0.5)):
        sub_id, _ = await subscribe(lcd, receiver.url, ["project.*"])
        receiver.script = [Answer(200, delay_s=2.0)]
        await projects(lcd, "g1")
        await wait_until(lambda: len(receiver.received) >= 2, what="retried after timeout")
        await wait_until(lambda: _count(lcd, sub_id, 2), what="two log rows")
    items = (await lcd.get(f"{HOOKS}/{sub_id}/deliveries")).json()["items"]
    assert items[-1]["error"] == "no answer within 0.5s"
    assert items[-1]["outcome"] == "failed"
    assert items[0]["outcome"] == "delivered"


async def test_replay_from_a_sequence_and_from_a_time(
    lcd: httpx.AsyncClient, worker: asyncio.Task[None], receiver: Receiver
) -> None:
    sub_id, _ = await subscribe(lcd, receiver.url, ["project.*"])
    seqs = await projects(lcd, "h1", "h2", "h3")
    await wait_until(lambda: len(receiver.delivered()) >= 3, what="first pass")
    replay = await lcd.post(f"{HOOKS}/{sub_id}/replay", json={"fromSequence": seqs[1]})
    assert replay.status_code == 202
    await wait_until(lambda: len(receiver.delivered()) >= 5, what="replay from h2")
    assert slugs_of(receiver.delivered()) == ["h1", "h2", "h3", "h2", "h3"]
    ids = [r.headers["webhook-id"] for r in receiver.delivered()]
    assert ids[3:] == ids[1:3]  # the same ids: receivers dedupe replays

    # Before this subscription existed, too: the log keeps everything.
    await lcd.post(f"{HOOKS}/{sub_id}/replay", json={"since": "2000-01-01T00:00:00Z"})
    await wait_until(lambda: len(receiver.delivered()) >= 8, what="replay from a time")
    assert slugs_of(receiver.delivered())[5:] == ["h1", "h2", "h3"]
    await projects(lcd, "h4")
    await wait_until(lambda: len(receiver.delivered()) >= 9, what="live again")
    assert slugs_of(receiver.delivered())[-1] == "h4"


async def test_replay_until_a_time_returns_to_where_it_was(
    lcd: httpx.AsyncClient, worker: asyncio.Task[None], receiver: Receiver
) -> None:
    sub_id, _ = await subscribe(lcd, receiver.url, ["project.*"])
    await projects(lcd, "i1")
    await wait_until(lambda: receiver.delivered(), what="i1")
    middle = datetime.now(UTC)
    await projects(lcd, "i2")
    await wait_until(lambda: len(receiver.delivered()) >= 2, what="i2")
    body = {"since": "2000-01-01T00:00:00Z", "until": middle.isoformat()}
    await lcd.post(f"{HOOKS}/{sub_id}/replay", json=body)
    await wait_until(lambda: len(receiver.delivered()) >= 3, what="i1 again")
    await projects(lcd, "i3")
    await wait_until(lambda: len(receiver.delivered()) >= 4, what="i3")
    assert slugs_of(receiver.delivered()) == ["i1", "i2", "i1", "i3"]


async def test_rotation_signs_with_both_secrets_during_the_overlap(
    lcd: httpx.AsyncClient, worker: asyncio.Task[None], receiver: Receiver
) -> None:
    sub_id, old = await subscribe(lcd, receiver.url, ["project.*"])
    rotated = await lcd.post(f"{HOOKS}/{sub_id}/rotate-secret")
    new = rotated.json()["secret"]
    await projects(lcd, "j1")
    await wait_until(lambda: receiver.delivered(), what="j1")
    got = receiver.delivered()[0]
    assert len(got.headers["webhook-signature"].split(" ")) == 2
    assert verified(old, got)["type"] == "project.created"
    assert verified(new, got)["type"] == "project.created"
    with pytest.raises(Exception, match="No matching signature"):
        verified("whsec_" + "A" * 44, got)


def worker_process(settings: WebhookSettings) -> subprocess.Popen[bytes]:
    """The worker as its entry point runs it, in its own process."""
    assert settings.secret_key is not None
    env = {
        **os.environ,
        "LC_NATS_URL": settings.nats_url,
        "LC_DATABASE_URL": settings.database_url,
        "LC_SECRET_KEY": settings.secret_key.get_secret_value(),
        "LC_WEBHOOK_ALLOW_NETWORKS": settings.webhook_allow_networks,
        "LC_WEBHOOK_RETRY_SCHEDULE_S": json.dumps(list(settings.webhook_retry_schedule_s)),
        "LC_WEBHOOK_RETRY_JITTER": "0",
        "LC_WEBHOOK_PROCESSES": str(settings.webhook_processes),
        **({"LC_PROBE_PORT": str(settings.probe_port)} if settings.probe_port else {}),
    }
    return subprocess.Popen(
        [sys.executable, "-m", "lc_webhooks.main"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


async def test_a_worker_killed_mid_delivery_loses_nothing(
    lcd: httpx.AsyncClient,
    worker_settings: Callable[..., WebhookSettings],
    receiver: Receiver,
) -> None:
    settings = worker_settings()
    first = worker_process(settings)
    try:
        await subscribe(lcd, receiver.url, ["project.*"])
        receiver.script = [Answer(200), Answer(200, delay_s=8.0)]
        await projects(lcd, "k1", "k2", "k3")
        await wait_until(lambda: len(receiver.received) >= 2, timeout=30, what="k2 in flight")
    finally:
        first.kill()  # SIGKILL: no clean-up of any kind
        first.wait(10)
    # k2 was received, its answer never reached the killed worker: sent again, one id.
    # So may k1 be, when its ack was still in the killed worker's buffer (at least once):
    # the next worker goes on from the ack floor, in order.
    second = worker_process(settings)
    try:
        await wait_until(
            lambda: slugs_of(receiver.received)[-1:] == ["k3"], timeout=30, what="k2, k3"
        )
    finally:
        second.terminate()
        second.wait(20)
    slugs = slugs_of(receiver.received)
    assert slugs[:2] == ["k1", "k2"]
    assert slugs[2:] in (["k2", "k3"], ["k1", "k2", "k3"])
    ids = [r.headers["webhook-id"] for r in receiver.received]
    assert ids[1] == ids[slugs.index("k2", 2)]


async def test_a_subscription_deleted_while_no_worker_ran_leaves_no_consumer(
    lcd: httpx.AsyncClient,
    worker_settings: Callable[..., WebhookSettings],
    receiver: Receiver,
    jetstream: JetStreamContext,
) -> None:
    consumers = consumers_of(jetstream)
    settings = worker_settings()
    async with running_worker(settings):
        kept, _ = await subscribe(lcd, receiver.url, ["project.*"])
        dropped, _ = await subscribe(lcd, receiver.url, ["project.*"])
        await wait_until(
            lambda: _has(consumers, {f"lc-webhook-{kept}", f"lc-webhook-{dropped}"}),
            what="two consumers",
        )
    assert (await lcd.delete(f"{HOOKS}/{dropped}")).status_code == 204
    async with running_worker(settings):
        await wait_until(
            lambda: _lacks(consumers, f"lc-webhook-{dropped}"), what="the deleted one's gone"
        )
        # The kept courier may recreate its consumer at its ack floor as it starts (it
        # does when the last worker left an event unacknowledged): once it delivers again,
        # its consumer is there and nothing was skipped.
        await projects(lcd, "after")
        await wait_until(lambda: receiver.delivered(), what="the kept one delivers")
        assert f"lc-webhook-{kept}" in await consumers()
    assert slugs_of(receiver.received) == ["after"]


async def test_a_subscription_deleted_with_its_project_gets_the_projects_last_events(
    lcd: httpx.AsyncClient,
    worker: asyncio.Task[None],
    receiver: Receiver,
    jetstream: JetStreamContext,
) -> None:
    await projects(lcd, "m1")
    created = await lcd.post(
        HOOKS, json={"url": receiver.url, "eventTypes": ["project.*"], "projectSlug": "m1"}
    )
    assert created.status_code == 201, created.text
    name = f"lc-webhook-{created.json()['id']}"
    # The rename's delivery is held (within the 2 s timeout) while the project and its
    # subscription are deleted.
    receiver.script = [Answer(200, delay_s=1.5)]
    renamed = await lcd.patch("/api/v1/projects/m1", json={"name": "renamed"})
    assert renamed.status_code == 200, renamed.text
    await wait_until(lambda: receiver.received, what="the rename in flight")
    assert (await lcd.delete("/api/v1/projects/m1")).status_code == 204
    assert (await lcd.get(f"{HOOKS}/{created.json()['id']}")).status_code == 404
    await wait_until(lambda: len(receiver.received) >= 2, what="project.deleted")
    types = [json.loads(r.body)["type"] for r in receiver.received]
    assert types == ["project.updated", "project.deleted"]
    await wait_until(lambda: _lacks(consumers_of(jetstream), name), what="its consumer gone")
    # A project created later under the same slug is none of its business.
    await projects(lcd, "m1")
    await asyncio.sleep(1.0)
    assert len(receiver.received) == 2


async def test_a_subscription_ended_with_its_project_stays_ended_after_a_restart(
    lcd: httpx.AsyncClient,
    worker_settings: Callable[..., WebhookSettings],
    receiver: Receiver,
    jetstream: JetStreamContext,
) -> None:
    settings = worker_settings()
    await projects(lcd, "n1")
    body = {"url": receiver.url, "eventTypes": ["project.*"], "projectSlug": "n1"}
    async with running_worker(settings):
        created = await lcd.post(HOOKS, json=body)
        assert created.status_code == 201, created.text
        name = f"lc-webhook-{created.json()['id']}"
        await wait_until(lambda: _has(consumers_of(jetstream), {name}), what="its consumer")
    # Deleted while no worker runs: the next one delivers project.deleted, then ends it.
    assert (await lcd.delete("/api/v1/projects/n1")).status_code == 204
    async with running_worker(settings):
        await wait_until(lambda: receiver.received, what="project.deleted")
        await wait_until(lambda: _lacks(consumers_of(jetstream), name), what="its consumer gone")
    # One more start: the ended subscription gets no consumer and sends nothing again.
    async with running_worker(settings):
        await projects(lcd, "n1")
        await asyncio.sleep(1.0)
        assert await _lacks(consumers_of(jetstream), name)
    assert [json.loads(r.body)["type"] for r in receiver.received] == ["project.deleted"]


def consumers_of(jetstream: JetStreamContext) -> Callable[[], Any]:
    async def names() -> set[str]:
        return {c.name or "" for c in await jetstream.consumers_info("LC_EVENTS")}

    return names


async def _has(consumers: Callable[[], Any], names: set[str]) -> bool:
    return names <= await consumers()


async def _lacks(consumers: Callable[[], Any], name: str) -> bool:
    return name not in await consumers()


async def test_a_restarted_worker_keeps_a_consumer_with_nothing_unacknowledged(
    lcd: httpx.AsyncClient,
    worker_settings: Callable[..., WebhookSettings],
    receiver: Receiver,
    jetstream: JetStreamContext,
) -> None:
    async def acked_up_to(name: str, seq: int) -> bool:
        info = await jetstream.consumer_info("LC_EVENTS", name)
        return bool(info.ack_floor and info.ack_floor.stream_seq >= seq)

    settings = worker_settings()
    async with running_worker(settings):
        sub_id, _ = await subscribe(lcd, receiver.url, ["project.*"])
        [seq] = await projects(lcd, "l1")
        name = f"lc-webhook-{sub_id}"
        await wait_until(lambda: acked_up_to(name, seq), what="l1 acknowledged")
    before = await jetstream.consumer_info("LC_EVENTS", name)
    async with running_worker(settings):
        await projects(lcd, "l2")
        await wait_until(lambda: len(receiver.delivered()) >= 2, what="l2")
        after = await jetstream.consumer_info("LC_EVENTS", name)
    assert after.created == before.created  # the same consumer: never missing for a moment
    assert slugs_of(receiver.delivered()) == ["l1", "l2"]
