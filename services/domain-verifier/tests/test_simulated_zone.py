"""The verifier against the cluster simulator's DNS zone, the one `lc up` runs.

The same outcomes as in test_verification_over_dns, through the zone a user drives with
`lc sim dns set TXT ...` and the simulator's admin API. The other tests start a zone of
their own and set records directly.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from lc_clustersim.dns_zone import DnsZone
from lc_contracts.events import DomainVerificationFailed, DomainVerified
from lc_domain_verifier import VerifierSettings, run
from lc_domain_verifier.settings import Nameserver
from lc_eventstore import EventStore
from lc_testing import wait_until

from .domain_flow import FAST, new_token, register, stop, types_of, wait_for_event

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
async def sim_zone() -> AsyncIterator[DnsZone]:
    zone = DnsZone()
    await zone.start()
    try:
        yield zone
    finally:
        await zone.stop()


@pytest.fixture
async def start_on_sim(
    nats_url: str, sim_zone: DnsZone
) -> AsyncIterator[Callable[..., Awaitable[asyncio.Task[None]]]]:
    tasks: list[asyncio.Task[None]] = []

    async def start(**overrides: object) -> asyncio.Task[None]:
        settings = VerifierSettings(
            nats_url=nats_url,
            dns_nameservers=[Nameserver(sim_zone.host, sim_zone.port)],
            **{**FAST, **overrides},  # type: ignore[arg-type]
        )
        task = asyncio.create_task(run(settings))
        tasks.append(task)
        return task

    try:
        yield start
    finally:
        for task in tasks:
            await stop(task)


StartOnSim = Callable[..., Awaitable["asyncio.Task[None]"]]


async def test_publishing_the_token_in_the_simulated_zone_verifies(
    store: EventStore, sim_zone: DnsZone, start_on_sim: StartOnSim
) -> None:
    token = new_token()
    sim_zone.set_record("TXT", "_lc-challenge.chat.acme.com", ["v=spf1 -all", token])
    sim_zone.set_record("CNAME", "chat.acme.com", "ingress.platform.test")
    await start_on_sim(ingress_cname_target="ingress.platform.test")

    domain_id = await register(store, "Chat.Acme.com.", token)

    verified = await wait_for_event(store, domain_id, "domain.verified")
    assert isinstance(verified, DomainVerified)
    assert verified.fqdn == "chat.acme.com"
    assert verified.points_at_ingress is True


@pytest.mark.parametrize(
    ("setup", "reason"),
    [
        (
            lambda zone, token: zone.set_record("TXT", "_lc-challenge.x.acme.com", "wrong"),
            "mismatch",
        ),
        (lambda zone, token: zone.set_record("TXT", "x.acme.com", token), "nxdomain"),
        (
            lambda zone, token: zone.set_record("A", "_lc-challenge.x.acme.com", "192.0.2.7"),
            "no_record",
        ),
        (lambda zone, token: zone.set_fault("_lc-challenge.x.acme.com", "servfail"), "servfail"),
        (lambda zone, token: zone.set_fault("_lc-challenge.x.acme.com", "timeout"), "timeout"),
    ],
    ids=["wrong-token", "apex-only", "no-txt", "servfail", "timeout"],
)
async def test_failures_in_the_simulated_zone_carry_their_reason(
    store: EventStore,
    sim_zone: DnsZone,
    start_on_sim: StartOnSim,
    setup: Callable[[DnsZone, str], object],
    reason: str,
) -> None:
    token = new_token()
    setup(sim_zone, token)
    await start_on_sim(dns_timeout_s=0.4)

    domain_id = await register(store, "x.acme.com", token)

    failed = await wait_for_event(store, domain_id, "domain.verification_failed")
    assert isinstance(failed, DomainVerificationFailed)
    assert (failed.reason, failed.attempt) == (reason, 1)


async def test_idna_name_and_later_publication_in_the_simulated_zone(
    store: EventStore, sim_zone: DnsZone, start_on_sim: StartOnSim
) -> None:
    token = new_token()
    await start_on_sim()
    domain_id = await register(store, "bücher.example", token)
    await wait_for_event(
        store,
        domain_id,
        "domain.verification_failed",
        where=lambda p: isinstance(p, DomainVerificationFailed) and p.attempt == 2,
    )

    sim_zone.set_record("TXT", "_lc-challenge.xn--bcher-kva.example", token)

    await wait_for_event(store, domain_id, "domain.verified")


async def test_removal_from_the_simulated_zone_loses_the_domain_and_restart_mid_check(
    store: EventStore, sim_zone: DnsZone, start_on_sim: StartOnSim
) -> None:
    token = new_token()
    name = "_lc-challenge.gone.acme.com"
    sim_zone.set_record("TXT", name, token)
    sim_zone.set_fault(name, "timeout")
    first = await start_on_sim(dns_timeout_s=20)
    domain_id = await register(store, "gone.acme.com", token)
    asked = sim_zone.queries
    await wait_until(lambda: sim_zone.queries > asked, what="the check reached the zone")
    await stop(first)

    sim_zone.set_fault(name, None)
    await start_on_sim()
    await wait_for_event(store, domain_id, "domain.verified")
    sim_zone.delete_record("TXT", name)
    await wait_for_event(store, domain_id, "domain.verification_lost")
    assert (await types_of(store, domain_id)).count("domain.verified") == 1
