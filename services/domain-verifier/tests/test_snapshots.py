"""Snapshots of the verifier's state on a real nats-server: a restarted verifier folds only
the tail after its snapshot and holds exactly the fold from sequence 1; a snapshot it
cannot trust is ignored; its probes say ready only once it has caught up."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime

import httpx
import pytest
from nats.js import JetStreamContext

from lc_clustersim.dns_zone import DnsZone
from lc_contracts.errors import ContractError
from lc_domain_verifier.dns_lookup import DnsChallengeResolver
from lc_domain_verifier.domain.snapshot import FORMAT, encode_domains
from lc_domain_verifier.domain.state import DomainState, evolve
from lc_domain_verifier.main import SNAPSHOT_KEY, restore, run, run_with_snapshots
from lc_domain_verifier.settings import VerifierSettings
from lc_domain_verifier.worker import DOMAIN_EVENTS, VerificationWorker
from lc_embedded import free_port
from lc_eventstore import EventStore
from lc_eventstore.snapshots import BUCKET, Snapshot, SnapshotStore, stream_identity
from lc_runtime.probes import Probes
from lc_testing import wait_until

from .domain_flow import delete, new_token, register, stop, wait_for_event

pytestmark = pytest.mark.timeout(60)


async def full_fold(store: EventStore, settings: VerifierSettings) -> bytes:
    """The state a verifier folding from sequence 1 holds, encoded."""
    policy = settings.policy()
    domains: dict[str, DomainState] = {}
    position = 0
    async for batch in store.read(1, [DOMAIN_EVENTS]):
        for message in batch:
            position = message.seq
            try:
                event = message.event()
            except ContractError:
                continue
            domain_id = getattr(event.payload, "id", None)
            if isinstance(domain_id, str):
                updated = evolve(domains.get(domain_id), event, policy=policy)
                if updated is not None:
                    domains[domain_id] = updated
    return encode_domains(position, domains, policy)


class Running:
    def __init__(self, worker: VerificationWorker, task: asyncio.Task[None]) -> None:
        self.worker = worker
        self.task = task


@pytest.fixture
async def started(
    jetstream: JetStreamContext,
    store: EventStore,
    settings_for: Callable[..., VerifierSettings],
) -> AsyncIterator[Callable[..., Awaitable[Running]]]:
    tasks: list[asyncio.Task[None]] = []

    async def start(**overrides: object) -> Running:
        settings = settings_for(**overrides)
        worker = VerificationWorker(
            store,
            DnsChallengeResolver(settings.dns_nameservers, settings.dns_timeout_s),
            settings.policy(),
        )
        writer = await restore(jetstream, worker, settings)
        task = asyncio.create_task(run_with_snapshots(worker, writer))
        tasks.append(task)
        await asyncio.wait_for(worker.caught_up(), 20)
        return Running(worker, task)

    try:
        yield start
    finally:
        for task in tasks:
            await stop(task)


async def test_a_restart_folds_only_the_tail_and_reaches_the_full_fold(
    store: EventStore,
    dns_zone: DnsZone,
    started: Callable[..., Awaitable[Running]],
    settings_for: Callable[..., VerifierSettings],
) -> None:
    token = new_token()
    dns_zone.set_txt("_lc-challenge.kept.acme.com", token)
    kept = await register(store, "kept.acme.com", token)
    failing = await register(store, "failing.acme.com", new_token())
    first = await started()
    await wait_for_event(store, kept, "domain.verified")
    await wait_for_event(store, failing, "domain.verification_failed")

    def asked() -> int:
        return sum(1 for name, kind in dns_zone.questions if name.startswith("_lc-challenge.kept"))

    # Verified domains are re-checked quietly every 0.3 s here: that moves no folded state.
    await wait_until(lambda: asked() >= 3, what="quiet re-checks of the verified domain")
    await stop(first.task)  # a clean shutdown writes a snapshot
    written = first.worker.progress.snapshot_seq
    assert written == first.worker.position

    # The tail: a new domain, a deletion, while no verifier runs.
    await register(store, "later.acme.com", new_token(), request=False)
    await delete(store, failing, "failing.acme.com")

    second = await started()
    assert second.worker.progress.snapshot_seq == written
    assert second.worker.progress.folded == second.worker.position - written, "the tail only"
    before = asked()
    await wait_until(lambda: asked() >= before + 2, what="quiet re-checks after the restart")
    assert second.worker.encode_state() == await full_fold(store, settings_for())


async def test_untrusted_snapshots_fall_back_to_a_full_fold(
    jetstream: JetStreamContext,
    store: EventStore,
    started: Callable[..., Awaitable[Running]],
    settings_for: Callable[..., VerifierSettings],
) -> None:
    for i in range(5):
        await register(store, f"d{i}.acme.com", new_token(), request=False)
    stream, last = await stream_identity(jetstream)
    settings = settings_for()
    empty = encode_domains(last, {}, settings.policy())  # would hide every domain
    snapshots = SnapshotStore(jetstream)

    async def corrupt() -> None:
        objects = await jetstream.create_object_store(BUCKET)
        await objects.put(SNAPSHOT_KEY, b'{"envelope": "lc.snapshot/1"}\nnot zlib')

    async def save(snapshot: Snapshot) -> None:
        await snapshots.save(SNAPSHOT_KEY, snapshot)

    now = datetime.now(UTC)
    cases = {
        "corrupt": corrupt,
        "old format": lambda: save(Snapshot(stream, last, "domain-verifier.domains/0", empty, now)),
        "another stream": lambda: save(
            Snapshot(
                type(stream)(stream.name, "2020-01-01T00:00:00+00:00"), last, FORMAT, empty, now
            )
        ),
        "another policy": lambda: save(
            Snapshot(
                stream,
                last,
                FORMAT,
                encode_domains(last, {}, settings_for(domain_recheck_initial_s=0.3).policy()),
                now,
            )
        ),
    }
    for name, write in cases.items():
        await write()
        running = await started()
        assert running.worker.progress.folded == last, f"{name}: folded from sequence 1"
        assert running.worker.encode_state() == await full_fold(store, settings), name
        await stop(running.task)


async def test_ready_only_once_caught_up(
    store: EventStore, settings_for: Callable[..., VerifierSettings]
) -> None:
    for i in range(1500):
        await register(store, f"r{i}.acme.com", new_token(), request=False)
    last = await store.last_seq()
    port = free_port()
    probes = Probes("domain-verifier")
    task = asyncio.create_task(run(settings_for(probe_port=port, probe_host="127.0.0.1"), probes))
    answers: list[tuple[int, dict[str, object]]] = []
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=5) as http:

            async def ready() -> bool:
                try:
                    answer = await http.get("/readyz")
                except httpx.TransportError:
                    return False  # not listening yet
                answers.append((answer.status_code, answer.json()))
                return answer.status_code == 200

            await wait_until(ready, timeout=30, interval=0.005, what="/readyz to answer 200")
            assert (await http.get("/healthz")).status_code == 200
            metrics = (await http.get("/metrics")).text
    finally:
        await stop(task)
    for status, body in answers:
        events = body["events"]
        assert isinstance(events, dict)
        if status == 200:
            assert events["caughtUp"], body
            assert events["position"] == last, body
        else:
            assert status == 503, body
            assert body["status"] == "not ready", body
    catching_up = [body for status, body in answers if status == 503]
    assert catching_up, "never seen catching up"
    assert catching_up[0]["checks"] == {"events": catching_up[0]["checks"]["events"]}
    assert str(catching_up[0]["checks"]["events"]).startswith("catching up")  # type: ignore[index]
    assert 'lc_worker_ready{worker="domain-verifier"} 1.0' in metrics
    assert f'lc_worker_fold_position{{worker="domain-verifier"}} {float(last)}' in metrics
