"""Metrics, usage snapshots, the access log, and the routing feed from LC_STATUS."""

from __future__ import annotations

import json
import logging
import time

import httpx
import pytest
from nats.js import JetStreamContext

from lc_contracts.status import LATENCY_BUCKETS_MS, ServicePhase, UsageSnapshot
from lc_contracts.streams import STATUS_STREAM, UNREFRESHED_STATUS_TTL_S
from lc_contracts.subjects import USAGE_STATUS, service_status_subject, usage_status_subject
from lc_eventstore import current_status
from lc_runtime.logs import JsonFormatter

CHAT = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}


async def test_metrics_count_requests_latency_ttft_and_tokens_per_model(  # type: ignore[no-untyped-def]
    upstreams, start_proxy, publish_service, wait_until
) -> None:
    upstream = await upstreams(models=["m"])
    proxy = await start_proxy()
    await publish_service("m", [upstream])
    await wait_until(lambda: proxy.app.table.get("m") is not None)
    async with httpx.AsyncClient() as http:
        for _ in range(3):
            ok = await http.post(f"{proxy.base_url}/chat/completions", json=CHAT)
            assert ok.status_code == 200
        streamed = {**CHAT, "stream": True, "stream_options": {"include_usage": True}}
        assert (await http.post(f"{proxy.base_url}/chat/completions", json=streamed)).is_success
        await http.post(f"{proxy.base_url}/chat/completions", json={**CHAT, "model": "ghost"})
        text = (await http.get(f"{proxy.url}/metrics")).text
    usage = ok.json()["usage"]
    assert 'lc_proxy_requests_total{endpoint="chat_completions",model="m",status="200"} 4.0' in text
    assert (
        'lc_proxy_requests_total{endpoint="chat_completions",model="unrouted",status="404"} 1.0'
        in text
    )
    assert (
        'lc_proxy_request_duration_seconds_count{endpoint="chat_completions",model="m"} 4.0' in text
    )
    assert (
        'lc_proxy_time_to_first_token_seconds_count{endpoint="chat_completions",model="m"} 1.0'
        in text
    )
    completion = 4 * usage["completion_tokens"]
    assert f'lc_proxy_tokens_total{{kind="completion",model="m"}} {float(completion)}' in text
    assert 'lc_proxy_tokens_total{kind="prompt",model="m"}' in text
    assert "lc_proxy_requests_in_flight 0.0" in text


async def test_usage_snapshots_are_published_on_lc_status(  # type: ignore[no-untyped-def]
    upstreams, start_proxy, publish_service, wait_until, jetstream: JetStreamContext
) -> None:
    upstream = await upstreams(models=["m"], faults=None)
    proxy = await start_proxy(proxy_usage_interval_s=0.1, proxy_replica_name="proxy-a.example")
    await publish_service("m", [upstream])
    await wait_until(lambda: proxy.app.table.get("m") is not None)
    async with httpx.AsyncClient() as http:
        for _ in range(5):
            assert (await http.post(f"{proxy.base_url}/chat/completions", json=CHAT)).is_success
    subject = usage_status_subject("proxy-a.example")

    async def published() -> bool:
        latest = await current_status(jetstream, USAGE_STATUS)
        if subject not in latest:
            return False
        snapshot = UsageSnapshot.model_validate_json(latest[subject].data)
        return bool(snapshot.models) and snapshot.models[0].requests == 5

    await wait_until(published, timeout=3.0)
    latest = await current_status(jetstream, USAGE_STATUS)
    snapshot = UsageSnapshot.model_validate_json(latest[subject].data)
    assert snapshot.replica == "proxy-a.example"
    (model,) = snapshot.models
    assert model.model == "m"
    assert model.errors == 0
    assert model.completion_tokens > 0
    assert len(model.latency_buckets) == len(LATENCY_BUCKETS_MS) + 1
    assert sum(model.latency_buckets) == 5
    assert snapshot.started_at <= snapshot.observed_at
    # Each refresh replaces the last; a replica that stops is forgotten an hour later.
    stored = await jetstream.get_last_msg(STATUS_STREAM.name, subject)
    assert (stored.headers or {}).get("Nats-TTL") == str(int(UNREFRESHED_STATUS_TTL_S))


async def test_access_log_has_one_structured_line_per_request(  # type: ignore[no-untyped-def]
    upstreams, start_proxy, publish_service, wait_until, caplog: pytest.LogCaptureFixture
) -> None:
    upstream = await upstreams(models=["m"])
    proxy = await start_proxy()
    await publish_service("m", [upstream])
    await wait_until(lambda: proxy.app.table.get("m") is not None)
    with caplog.at_level(logging.INFO, logger="lc_proxy.access"):
        async with httpx.AsyncClient() as http:
            await http.post(
                f"{proxy.base_url}/chat/completions", json=CHAT, headers={"x-request-id": "r-1"}
            )
    (record,) = [r for r in caplog.records if r.name == "lc_proxy.access"]
    line = json.loads(JsonFormatter().format(record))
    assert line["request_id"] == "r-1"
    assert line["model"] == "m"
    assert line["status"] == 200
    assert line["path"] == "/v1/chat/completions"
    assert line["replica"] == "m-0"
    assert line["duration_ms"] > 0
    assert line["completion_tokens"] > 0


async def test_snapshots_published_before_start_are_loaded_at_bootstrap(  # type: ignore[no-untyped-def]
    upstreams, start_proxy, publish_service, jetstream: JetStreamContext
) -> None:
    upstream = await upstreams(models=["a", "b"])
    from lc_eventstore import provision_streams

    await provision_streams(jetstream)
    await publish_service("a", [upstream])
    await publish_service("b", [upstream], phase=ServicePhase.DEPLOYING)
    await publish_service("b", [upstream])
    await publish_service("gone", [upstream])
    await publish_service("gone", [upstream], phase=ServicePhase.DELETED)
    await jetstream.publish(service_status_subject("default", "junk"), b"not json")
    proxy = await start_proxy()  # returns once bootstrapped
    assert [m.model for m in proxy.app.table.models()] == ["a", "b"]
    async with httpx.AsyncClient() as http:
        assert (await http.get(f"{proxy.url}/healthz")).json() == {"status": "ok", "models": 2}


async def test_a_ready_snapshot_is_routable_within_100_ms(  # type: ignore[no-untyped-def]
    upstreams, start_proxy, publish_service, wait_until
) -> None:
    upstream = await upstreams(models=["fresh"])
    proxy = await start_proxy()
    worst = 0.0
    for i in range(5):
        model = f"fresh-{i}"
        started = time.monotonic()
        await publish_service(model, [upstream])
        await wait_until(lambda m=model: proxy.app.table.get(m) is not None, 1.0, 0.001)
        worst = max(worst, time.monotonic() - started)
    assert worst < 0.1
    await publish_service("fresh-0", [upstream], phase=ServicePhase.DELETED)
    await wait_until(lambda: proxy.app.table.get("fresh-0") is None, 0.1, 0.001)
