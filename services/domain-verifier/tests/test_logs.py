"""The challenge token never reaches a log line, whatever happens to the domain."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

import pytest

from lc_clustersim.dns_zone import DnsZone
from lc_eventstore import EventStore
from lc_runtime.logs import ConsoleFormatter, JsonFormatter

from .domain_flow import new_token, register, request_verification, wait_for_event

StartVerifier = Callable[..., Awaitable["asyncio.Task[None]"]]
pytestmark = pytest.mark.timeout(60)


async def test_no_token_in_logs_through_a_whole_life_cycle(
    store: EventStore,
    dns_zone: DnsZone,
    start_verifier: StartVerifier,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    token = new_token()
    name = "_lc-challenge.logs.acme.com"
    dns_zone.set_txt(name, token[:-2])  # a near miss first
    await start_verifier(ingress_cname_target="ingress.platform.test")

    domain_id = await register(store, "logs.acme.com", token)
    await wait_for_event(store, domain_id, "domain.verification_failed")
    dns_zone.set_txt(name, [token[:20], token[20:]])
    await request_verification(store, domain_id)
    await wait_for_event(store, domain_id, "domain.verified")
    dns_zone.remove(name)
    await wait_for_event(store, domain_id, "domain.verification_lost")

    records = caplog.records
    ours = [r for r in records if r.name.startswith("lc_domain_verifier")]
    messages = {r.getMessage() for r in ours}
    assert {"domain verified", "domain verification failed", "domain verification lost"} <= messages
    assert all(getattr(r, "domain_id", domain_id) == domain_id for r in ours)

    secrets = {token, token[:-2], token[:20], token[20:]}
    for record in records:
        rendered = [
            record.getMessage(),
            repr(record.args),
            repr(vars(record)),
            JsonFormatter().format(record),
            ConsoleFormatter().format(record),
        ]
        for text in rendered:
            for secret in secrets:
                assert secret not in text, (
                    f"token fragment in log record {record.name}: {text[:200]}"
                )
