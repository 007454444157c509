from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from nats.js import JetStreamContext

from lc_contracts.status import ServicePhase, ServiceStatus
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
                jetstream, service_status_subject("p", name), _status(name, ServicePhase.DEPLOYING, revision)
            )
    await publish_status(jetstream, service_status_subject("p", "b"), _status("b", ServicePhase.READY, 6))

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
    await publish_status(jetstream, service_status_subject("p", "a"), _status("a", ServicePhase.PENDING, 1))
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
        await publish_status(jetstream, service_status_subject("p", "a"), _status("a", ServicePhase.READY, 1))
        await asyncio.wait_for(live.wait(), 5)
        assert seen == ["Pending", None, "Ready"]
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
