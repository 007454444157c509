"""The verifier against real NATS JetStream and a real DNS server on loopback UDP.

Each test appends what the API appends (domain.registered, then
domain.verification_requested) and waits, with a deadline, for the verifier's answer.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from lc_clustersim.dns_zone import DnsZone
from lc_contracts.events import DomainVerificationFailed, DomainVerificationLost, DomainVerified
from lc_eventstore import EventStore

from .domain_flow import (
    events_of,
    new_token,
    register,
    request_verification,
    types_of,
    wait_for_event,
)

StartVerifier = Callable[..., Awaitable["asyncio.Task[None]"]]

# A hung server or verifier fails its test quickly instead of eating the run's budget.
pytestmark = pytest.mark.timeout(60)


def failed_event(reason: str, attempt: int | None = None) -> Callable[[Any], bool]:
    def match(payload: Any) -> bool:
        return (
            isinstance(payload, DomainVerificationFailed)
            and payload.reason == reason
            and (attempt is None or payload.attempt == attempt)
        )

    return match


async def test_a_published_token_verifies_the_domain(
    store: EventStore, dns_zone: DnsZone, start_verifier: StartVerifier
) -> None:
    token = new_token()
    dns_zone.set_txt("_lc-challenge.chat.acme.com", token)
    dns_zone.set_record("CNAME", "chat.acme.com", "ingress.platform.test")
    await start_verifier(ingress_cname_target="ingress.platform.test")

    domain_id = await register(store, "chat.acme.com", token)

    verified = await wait_for_event(store, domain_id, "domain.verified")
    assert isinstance(verified, DomainVerified)
    assert (verified.fqdn, verified.project_slug, verified.service_name) == (
        "chat.acme.com",
        "default",
        "llama-3-8b",
    )
    assert verified.cname_target == "ingress.platform.test"
    assert verified.points_at_ingress is True
    events = await events_of(store, domain_id)
    assert [e.envelope.type for e in events] == [
        "domain.registered",
        "domain.verification_requested",
        "domain.verified",
    ]
    assert events[-1].envelope.source == "lc-domain-verifier"


async def test_a_cname_elsewhere_is_reported_but_does_not_block_verification(
    store: EventStore, dns_zone: DnsZone, start_verifier: StartVerifier
) -> None:
    token = new_token()
    dns_zone.set_txt("_lc-challenge.www.acme.com", token)
    dns_zone.set_record("CNAME", "www.acme.com", "somewhere-else.example")
    await start_verifier(ingress_cname_target="ingress.platform.test")

    domain_id = await register(store, "www.acme.com", token)

    verified = await wait_for_event(store, domain_id, "domain.verified")
    assert isinstance(verified, DomainVerified)
    assert verified.cname_target == "somewhere-else.example"
    assert verified.points_at_ingress is False


async def test_a_wrong_token_fails_as_mismatch(
    store: EventStore, dns_zone: DnsZone, start_verifier: StartVerifier
) -> None:
    token = new_token()
    dns_zone.set_txt("_lc-challenge.chat.acme.com", new_token(), token[:-1])
    await start_verifier()

    domain_id = await register(store, "chat.acme.com", token)

    failed = await wait_for_event(store, domain_id, "domain.verification_failed")
    assert isinstance(failed, DomainVerificationFailed)
    assert (failed.reason, failed.attempt, failed.final) == ("mismatch", 1, False)
    assert failed.cname_target is None
    assert failed.points_at_ingress is None


async def test_a_token_published_at_the_apex_instead_of_the_challenge_name_fails(
    store: EventStore, dns_zone: DnsZone, start_verifier: StartVerifier
) -> None:
    token = new_token()
    dns_zone.set_txt("chat.acme.com", token)
    await start_verifier()

    domain_id = await register(store, "chat.acme.com", token)

    failed = await wait_for_event(store, domain_id, "domain.verification_failed")
    assert isinstance(failed, DomainVerificationFailed)
    assert failed.reason == "nxdomain"
    assert "domain.verified" not in await types_of(store, domain_id)


async def test_a_name_that_does_not_exist_fails_as_nxdomain(
    store: EventStore, dns_zone: DnsZone, start_verifier: StartVerifier
) -> None:
    await start_verifier()

    domain_id = await register(store, "nothing-here.acme.com", new_token())

    await wait_for_event(
        store, domain_id, "domain.verification_failed", where=failed_event("nxdomain", 1)
    )


async def test_a_challenge_name_without_txt_fails_as_no_record(
    store: EventStore, dns_zone: DnsZone, start_verifier: StartVerifier
) -> None:
    dns_zone.set_record("A", "_lc-challenge.chat.acme.com", "192.0.2.1")
    await start_verifier()

    domain_id = await register(store, "chat.acme.com", new_token())

    await wait_for_event(
        store, domain_id, "domain.verification_failed", where=failed_event("no_record", 1)
    )


async def test_a_server_answering_servfail_fails_as_servfail(
    store: EventStore, dns_zone: DnsZone, start_verifier: StartVerifier
) -> None:
    token = new_token()
    dns_zone.set_txt("_lc-challenge.broken.acme.com", token)
    dns_zone.set_fault("_lc-challenge.broken.acme.com", "servfail")
    await start_verifier()

    domain_id = await register(store, "broken.acme.com", token)

    await wait_for_event(
        store, domain_id, "domain.verification_failed", where=failed_event("servfail", 1)
    )


async def test_a_server_that_never_answers_fails_as_timeout(
    store: EventStore, dns_zone: DnsZone, start_verifier: StartVerifier
) -> None:
    token = new_token()
    dns_zone.set_txt("_lc-challenge.slow.acme.com", token)
    dns_zone.set_fault("_lc-challenge.slow.acme.com", "timeout")
    await start_verifier(dns_timeout_s=0.4)

    domain_id = await register(store, "slow.acme.com", token)

    await wait_for_event(
        store, domain_id, "domain.verification_failed", where=failed_event("timeout", 1)
    )


async def test_a_token_split_into_several_strings_is_joined(
    store: EventStore, dns_zone: DnsZone, start_verifier: StartVerifier
) -> None:
    token = new_token()
    third = len(token) // 3
    dns_zone.set_txt(
        "_lc-challenge.chat.acme.com",
        "v=spf1 -all",
        [token[:third], token[third : 2 * third], token[2 * third :]],
    )
    await start_verifier()

    domain_id = await register(store, "chat.acme.com", token)

    await wait_for_event(store, domain_id, "domain.verified")


async def test_strings_of_different_records_are_not_joined(
    store: EventStore, dns_zone: DnsZone, start_verifier: StartVerifier
) -> None:
    token = new_token()
    half = len(token) // 2
    dns_zone.set_txt("_lc-challenge.chat.acme.com", token[:half], token[half:])
    await start_verifier()

    domain_id = await register(store, "chat.acme.com", token)

    await wait_for_event(
        store, domain_id, "domain.verification_failed", where=failed_event("mismatch")
    )


async def test_mixed_case_and_trailing_dot_names_verify(
    store: EventStore, dns_zone: DnsZone, start_verifier: StartVerifier
) -> None:
    token = new_token()
    dns_zone.set_txt("_LC-Challenge.Chat.ACME.com.", token)
    await start_verifier()

    domain_id = await register(store, "cHaT.acme.COM.", token)

    verified = await wait_for_event(store, domain_id, "domain.verified")
    assert isinstance(verified, DomainVerified)
    assert verified.fqdn == "chat.acme.com"
    assert ("_lc-challenge.chat.acme.com.", "TXT") in dns_zone.questions


async def test_idna_names_are_looked_up_as_a_labels(
    store: EventStore, dns_zone: DnsZone, start_verifier: StartVerifier
) -> None:
    token = new_token()
    dns_zone.set_txt("_lc-challenge.xn--bcher-kva.example", token)
    await start_verifier()

    unicode_id = await register(store, "Bücher.example", token)
    verified = await wait_for_event(store, unicode_id, "domain.verified")
    assert isinstance(verified, DomainVerified)
    assert verified.fqdn == "xn--bcher-kva.example"

    a_label_id = await register(store, "xn--bcher-kva.example", token)
    await wait_for_event(store, a_label_id, "domain.verified")
    assert ("_lc-challenge.xn--bcher-kva.example.", "TXT") in dns_zone.questions


async def test_a_pending_domain_is_rechecked_until_the_record_appears(
    store: EventStore, dns_zone: DnsZone, start_verifier: StartVerifier
) -> None:
    token = new_token()
    await start_verifier()

    domain_id = await register(store, "later.acme.com", token)
    await wait_for_event(
        store, domain_id, "domain.verification_failed", where=failed_event("nxdomain", 2)
    )
    dns_zone.set_txt("_lc-challenge.later.acme.com", token)

    await wait_for_event(store, domain_id, "domain.verified")
    events = await events_of(store, domain_id)
    attempts = [
        e.payload.attempt for e in events if isinstance(e.payload, DomainVerificationFailed)
    ]
    assert attempts == list(range(1, len(attempts) + 1))
    # The back-off grows: after the n-th failure the next check waits at least
    # LC_DOMAIN_RECHECK_INITIAL_S * FACTOR ** (n - 1) (0.2 s, 0.4 s, ...).
    times = [e.envelope.time for e in events if isinstance(e.payload, DomainVerificationFailed)]
    for n, (earlier, later) in enumerate(itertools.pairwise(times), start=1):
        assert (later - earlier).total_seconds() >= 0.2 * 2 ** (n - 1)


async def test_a_domain_still_pending_when_the_window_closes_expires(
    store: EventStore, dns_zone: DnsZone, start_verifier: StartVerifier
) -> None:
    token = new_token()
    await start_verifier(domain_expiry_h=1.5 / 3600)

    domain_id = await register(store, "expiring.acme.com", token)
    expired = await wait_for_event(
        store, domain_id, "domain.verification_failed", where=failed_event("expired")
    )
    assert isinstance(expired, DomainVerificationFailed)
    assert expired.final is True
    failures = [
        e.payload for e in await events_of(store, domain_id) if e.envelope.type.endswith("failed")
    ]
    assert failures[-1] == expired, "nothing is checked after expiry"

    # A new verify request starts a new window.
    dns_zone.set_txt("_lc-challenge.expiring.acme.com", token)
    await request_verification(store, domain_id)
    await wait_for_event(store, domain_id, "domain.verified")


async def test_a_removed_record_makes_a_verified_domain_lost(
    store: EventStore, dns_zone: DnsZone, start_verifier: StartVerifier
) -> None:
    token = new_token()
    dns_zone.set_txt("_lc-challenge.gone.acme.com", token)
    await start_verifier()
    domain_id = await register(store, "gone.acme.com", token)
    await wait_for_event(store, domain_id, "domain.verified")

    dns_zone.remove("_lc-challenge.gone.acme.com")

    lost = await wait_for_event(store, domain_id, "domain.verification_lost")
    assert isinstance(lost, DomainVerificationLost)
    assert (lost.fqdn, lost.project_slug, lost.service_name, lost.reason) == (
        "gone.acme.com",
        "default",
        "llama-3-8b",
        "nxdomain",
    )
    types = await types_of(store, domain_id)
    # LC_DOMAIN_LOST_AFTER=2: one failed re-verification, then lost.
    assert types[-2:] == ["domain.verification_failed", "domain.verification_lost"]


async def test_a_transient_failure_of_a_verified_domain_is_forgiven(
    store: EventStore, dns_zone: DnsZone, start_verifier: StartVerifier
) -> None:
    token = new_token()
    name = "_lc-challenge.flaky.acme.com"
    dns_zone.set_txt(name, token)
    await start_verifier(domain_lost_after=5, domain_reverify_retry_s=0.5)
    domain_id = await register(store, "flaky.acme.com", token)
    await wait_for_event(store, domain_id, "domain.verified")

    dns_zone.set_fault(name, "servfail")
    await wait_for_event(
        store, domain_id, "domain.verification_failed", where=failed_event("servfail", 1)
    )
    dns_zone.set_fault(name, None)

    # The next success is recorded again (which resets the count); nothing is lost.
    deadline = asyncio.get_running_loop().time() + 10
    while (await types_of(store, domain_id)).count("domain.verified") < 2:
        assert asyncio.get_running_loop().time() < deadline, await types_of(store, domain_id)
        await asyncio.sleep(0.05)
    types = await types_of(store, domain_id)
    assert "domain.verification_lost" not in types
    assert types[types.index("domain.verified") + 1 :].count("domain.verification_failed") >= 1


async def test_a_verify_request_on_a_verified_domain_is_answered(
    store: EventStore, dns_zone: DnsZone, start_verifier: StartVerifier
) -> None:
    token = new_token()
    dns_zone.set_txt("_lc-challenge.again.acme.com", token)
    await start_verifier(domain_reverify_interval_s=3600)
    domain_id = await register(store, "again.acme.com", token)
    await wait_for_event(store, domain_id, "domain.verified")

    await request_verification(store, domain_id)

    deadline = asyncio.get_running_loop().time() + 10
    while (await types_of(store, domain_id))[-1] != "domain.verified" or (
        await types_of(store, domain_id)
    ).count("domain.verified") < 2:
        assert asyncio.get_running_loop().time() < deadline, await types_of(store, domain_id)
        await asyncio.sleep(0.05)
    assert (await types_of(store, domain_id))[-2:] == [
        "domain.verification_requested",
        "domain.verified",
    ]


async def test_nothing_is_checked_before_verification_is_requested(
    store: EventStore, dns_zone: DnsZone, start_verifier: StartVerifier
) -> None:
    token = new_token()
    dns_zone.set_txt("_lc-challenge.quiet.acme.com", token)
    dns_zone.set_txt("_lc-challenge.asked.acme.com", token)
    await start_verifier()
    quiet_id = await register(store, "quiet.acme.com", token, request=False)
    asked_id = await register(store, "asked.acme.com", token)
    await wait_for_event(store, asked_id, "domain.verified")

    assert await types_of(store, quiet_id) == ["domain.registered"]
    assert not any(q.startswith("_lc-challenge.quiet.") for q, _ in dns_zone.questions)

    await request_verification(store, quiet_id)
    await wait_for_event(store, quiet_id, "domain.verified")
