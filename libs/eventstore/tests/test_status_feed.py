from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, datetime

import nats.js.errors
import pytest
from nats.js import JetStreamContext

from lc_contracts.status import ServicePhase, ServiceStatus
from lc_contracts.streams import STATUS_STREAM
from lc_contracts.subjects import SERVICE_STATUS, service_status_subject
from lc_eventstore import current_status, follow_status, provision_streams, publish_status, reader


def _status(name: str, phase: ServicePhase, revision: int) -> ServiceStatus:
    return ServiceStatus(
        project_slug="p",
        service_name=name,
        phase=phase,
        revision=revision,
        observed_at=datetime.now(UTC),
    )


async def test_bootstrap_returns_exactly_the_latest_snapshot_per_subject(
    jetstream: JetStreamContext,
) -> None:
    await provision_streams(jetstream)
    for revision in range(1, 6):
        for name in ("a", "b", "c"):
            await publish_status(
                jetstream,
                service_status_subject("p", name),
                _status(name, ServicePhase.DEPLOYING, revision),
            )
    await publish_status(
        jetstream, service_status_subject("p", "b"), _status("b", ServicePhase.READY, 6)
    )

    latest = await current_status(jetstream, SERVICE_STATUS)
    parsed = {s: ServiceStatus.model_validate_json(m.data) for s, m in latest.items()}
    assert sorted(parsed) == [service_status_subject("p", n) for n in ("a", "b", "c")]
    assert parsed[service_status_subject("p", "a")].revision == 5
    assert parsed[service_status_subject("p", "b")].phase is ServicePhase.READY
    assert parsed[service_status_subject("p", "b")].revision == 6


async def test_follow_marks_the_bootstrap_then_delivers_live_changes(
    jetstream: JetStreamContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reader, "FOLLOW_POLL_S", 0.05)
    await provision_streams(jetstream)
    await publish_status(
        jetstream, service_status_subject("p", "a"), _status("a", ServicePhase.PENDING, 1)
    )
    seen: list[str | None] = []
    bootstrapped = asyncio.Event()
    live = asyncio.Event()

    async def consume() -> None:
        async for batch in follow_status(jetstream, SERVICE_STATUS):
            if not batch:
                seen.append(None)
                bootstrapped.set()
            for message in batch:
                seen.append(ServiceStatus.model_validate_json(message.data).phase.value)
                if bootstrapped.is_set():
                    live.set()

    task = asyncio.create_task(consume())
    try:
        await asyncio.wait_for(bootstrapped.wait(), 5)
        await asyncio.sleep(0.3)  # idle across several empty polls before the change
        await publish_status(
            jetstream, service_status_subject("p", "a"), _status("a", ServicePhase.READY, 1)
        )
        await asyncio.wait_for(live.wait(), 5)
        assert seen == ["Pending", None, "Ready"]
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_a_snapshot_with_a_lifespan_is_forgotten_and_one_without_is_kept(
    jetstream: JetStreamContext,
) -> None:
    await provision_streams(jetstream)
    kept, gone = service_status_subject("p", "kept"), service_status_subject("p", "gone")
    await publish_status(jetstream, kept, _status("kept", ServicePhase.READY, 1))
    await publish_status(jetstream, gone, _status("gone", ServicePhase.DELETED, 1), ttl_s=1)
    assert sorted(await current_status(jetstream, SERVICE_STATUS)) == [gone, kept]

    deadline = asyncio.get_running_loop().time() + 10
    while gone in await current_status(jetstream, SERVICE_STATUS):
        assert asyncio.get_running_loop().time() < deadline, "the snapshot never expired"
        await asyncio.sleep(0.2)
    assert sorted(await current_status(jetstream, SERVICE_STATUS)) == [kept]


async def test_provisioning_lets_an_older_status_stream_take_lifespans_and_keeps_its_data(
    jetstream: JetStreamContext,
) -> None:
    older = dataclasses.replace(STATUS_STREAM, allow_msg_ttl=False)
    await provision_streams(jetstream, [older])
    subject = service_status_subject("p", "a")
    await publish_status(jetstream, subject, _status("a", ServicePhase.READY, 1))
    with pytest.raises(nats.js.errors.APIError):  # the stream refuses Nats-TTL for now
        await publish_status(jetstream, subject, _status("a", ServicePhase.DELETED, 2), ttl_s=60)

    await provision_streams(jetstream)

    info = await jetstream.stream_info(STATUS_STREAM.name)
    assert info.config.allow_msg_ttl is True
    assert list(await current_status(jetstream, SERVICE_STATUS)) == [subject]
    await publish_status(jetstream, subject, _status("a", ServicePhase.DELETED, 2), ttl_s=60)
