"""Restarts and concurrent verifiers: state comes from the stream, outcomes are recorded once."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from lc_clustersim.dns_zone import DnsZone
from lc_contracts.events import DomainVerificationFailed, DomainVerified
from lc_domain_verifier.dns_lookup import DnsChallengeResolver
from lc_domain_verifier.domain.lookup import TxtLookup
from lc_domain_verifier.envelopes import outcome_envelopes
from lc_domain_verifier.settings import Nameserver, VerifierSettings
from lc_domain_verifier.worker import VerificationWorker
from lc_eventstore import EventStore
from lc_testing import wait_until

from .domain_flow import (
    delete,
    events_of,
    new_token,
    register,
    stop,
    types_of,
    wait_for_event,
)

StartVerifier = Callable[..., Awaitable["asyncio.Task[None]"]]
pytestmark = pytest.mark.timeout(60)


async def test_a_restart_in_the_middle_of_a_check_loses_nothing(
    store: EventStore, dns_zone: DnsZone, start_verifier: StartVerifier
) -> None:
    token = new_token()
    name = "_lc-challenge.restart.acme.com"
    dns_zone.set_txt(name, token)
    dns_zone.set_fault(name, "timeout")
    first = await start_verifier(dns_timeout_s=20)
    domain_id = await register(store, "restart.acme.com", token)

    await dns_zone.wait_for_question(name)
    await stop(first)  # the lookup is still waiting for an answer
    assert await types_of(store, domain_id) == [
        "domain.registered",
        "domain.verification_requested",
    ]

    dns_zone.set_fault(name, None)
    await start_verifier()
    await wait_for_event(store, domain_id, "domain.verified")
    assert await types_of(store, domain_id) == [
        "domain.registered",
        "domain.verification_requested",
        "domain.verified",
    ]


async def test_a_restarted_verifier_carries_on_counting_and_backing_off(
    store: EventStore, dns_zone: DnsZone, start_verifier: StartVerifier
) -> None:
    first = await start_verifier()
    domain_id = await register(store, "counting.acme.com", new_token())
    await wait_for_event(
        store, domain_id, "domain.verification_failed", where=lambda p: p.attempt == 2
    )  # type: ignore[attr-defined]
    await stop(first)
    before = len(await events_of(store, domain_id))

    await start_verifier()
    await wait_for_event(
        store, domain_id, "domain.verification_failed", where=lambda p: p.attempt == 4
    )  # type: ignore[attr-defined]
    events = await events_of(store, domain_id)
    attempts = [
        e.payload.attempt for e in events if isinstance(e.payload, DomainVerificationFailed)
    ]
    assert attempts == list(range(1, len(attempts) + 1)), "no attempt lost or repeated"
    assert len(events) > before


async def test_a_verified_domain_stays_verified_across_a_restart(
    store: EventStore, dns_zone: DnsZone, start_verifier: StartVerifier
) -> None:
    token = new_token()
    dns_zone.set_txt("_lc-challenge.steady.acme.com", token)
    first = await start_verifier(domain_reverify_interval_s=3600)
    domain_id = await register(store, "steady.acme.com", token)
    await wait_for_event(store, domain_id, "domain.verified")
    await stop(first)

    dns_zone.remove("_lc-challenge.steady.acme.com")
    # Restarted with a short re-verification interval: it knows the domain is verified
    # and goes straight to losing it (not to "pending" failures).
    await start_verifier()
    await wait_for_event(store, domain_id, "domain.verification_lost")
    assert (await types_of(store, domain_id)).count("domain.verified") == 1


class GatedResolver(DnsChallengeResolver):
    """Real DNS, but every TXT lookup waits at a gate the test opens."""

    def __init__(self, nameservers: list[Nameserver]) -> None:
        super().__init__(nameservers, timeout_s=2)
        self.waiting = 0
        self.gate = asyncio.Event()

    async def lookup_txt(self, name: str) -> TxtLookup:
        self.waiting += 1
        await self.gate.wait()
        return await super().lookup_txt(name)


async def test_two_verifiers_reaching_the_same_outcome_record_it_once(
    store: EventStore, dns_zone: DnsZone, settings_for: Callable[..., VerifierSettings]
) -> None:
    settings = settings_for(domain_reverify_interval_s=3600)
    token = new_token()
    dns_zone.set_txt("_lc-challenge.twice.acme.com", token)
    resolvers = [GatedResolver(settings.dns_nameservers) for _ in range(2)]
    workers = [VerificationWorker(store, r, settings.policy()) for r in resolvers]
    tasks = [asyncio.create_task(w.run()) for w in workers]
    try:
        domain_id = await register(store, "twice.acme.com", token)
        await wait_until(
            lambda: all(r.waiting == 1 for r in resolvers), what="both lookups started"
        )
        for resolver in resolvers:
            resolver.gate.set()
        await wait_until(
            lambda: all(
                (s := w.domain(domain_id)) is not None and s.status == "verified" for w in workers
            ),
            what="both verifiers see the domain verified",
        )
        await wait_until(lambda: all(w.checks_in_flight == 0 for w in workers), what="checks done")
    finally:
        for task in tasks:
            await stop(task)
    assert await types_of(store, domain_id) == [
        "domain.registered",
        "domain.verification_requested",
        "domain.verified",
    ]


async def test_the_same_outcome_from_the_same_version_has_the_same_id(store: EventStore) -> None:
    domain_id = await register(store, "ids.acme.com", new_token())
    events = await events_of(store, domain_id)
    version = events[-1].seq
    payload = DomainVerified(
        id=domain_id, fqdn="ids.acme.com", project_slug="default", service_name="s"
    )
    subject = events[-1].envelope.subject
    first = outcome_envelopes(subject, version, (payload,), events[-1].envelope.time)
    again = outcome_envelopes(subject, version, (payload,), events[-1].envelope.time)
    later = outcome_envelopes(subject, version + 1, (payload,), events[-1].envelope.time)
    assert first[0].id == again[0].id != later[0].id

    [seq] = await store.append(subject, first, version)
    # A restarted verifier appending the same decision is answered with the first write.
    assert await store.append(subject, again, version) == [seq]
    assert (await types_of(store, domain_id)).count("domain.verified") == 1


async def test_a_deleted_domain_is_no_longer_checked(
    store: EventStore, dns_zone: DnsZone, start_verifier: StartVerifier
) -> None:
    await start_verifier()
    deleted_id = await register(store, "deleted.acme.com", new_token())
    await wait_for_event(store, deleted_id, "domain.verification_failed")
    await delete(store, deleted_id, "deleted.acme.com")
    events_at_deletion = await types_of(store, deleted_id)

    # Another pending domain is re-checked several times meanwhile; the deleted one is not.
    other_id = await register(store, "other.acme.com", new_token())
    await wait_for_event(
        store, other_id, "domain.verification_failed", where=lambda p: p.attempt == 3
    )  # type: ignore[attr-defined]
    types = await types_of(store, deleted_id)
    assert types[-1] == "domain.deleted"
    assert types == events_at_deletion


async def test_unreadable_events_are_skipped_without_blocking_the_rest(
    store: EventStore, dns_zone: DnsZone, start_verifier: StartVerifier, jetstream: object
) -> None:
    from nats.js import JetStreamContext

    assert isinstance(jetstream, JetStreamContext)
    await jetstream.publish("lc.events.domain.garbage", b"not an envelope", stream="LC_EVENTS")
    await jetstream.publish(
        "lc.events.domain.future",
        b'{"specversion":"1.0","id":"x","source":"t","type":"domain.from_the_future",'
        b'"subject":"lc.events.domain.future","time":"2030-01-01T00:00:00",'
        b'"dataversion":1,"data":{"id":"future"}}',
        stream="LC_EVENTS",
    )
    token = new_token()
    dns_zone.set_txt("_lc-challenge.after-poison.acme.com", token)
    await start_verifier()

    domain_id = await register(store, "after-poison.acme.com", token)

    await wait_for_event(store, domain_id, "domain.verified")


async def test_events_with_a_naive_time_are_read_as_utc(
    store: EventStore, dns_zone: DnsZone, start_verifier: StartVerifier
) -> None:
    import uuid
    from datetime import UTC, datetime

    from lc_contracts.events import DomainRegistered, DomainVerificationRequested, build
    from lc_contracts.subjects import domain_subject

    token = new_token()
    dns_zone.set_txt("_lc-challenge.naive.acme.com", token)
    await start_verifier()
    domain_id = str(uuid.uuid4())
    subject = domain_subject(domain_id)
    naive = datetime.now(UTC).replace(tzinfo=None)
    events = [
        build(
            DomainRegistered(
                id=domain_id,
                fqdn="naive.acme.com",
                project_slug="default",
                service_name="s",
                challenge_token=token,
            ),
            subject=subject,
            source="tests",
        ).model_copy(update={"time": naive}),
        build(DomainVerificationRequested(id=domain_id), subject=subject, source="tests"),
    ]
    await store.append(subject, events, 0)

    await wait_for_event(store, domain_id, "domain.verified")
