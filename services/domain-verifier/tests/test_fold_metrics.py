"""What `/metrics` says while the verifier folds a long log: how far behind it is, as it
goes, then 0 once it has caught up (a dashboard or an alert reads this, not `/readyz`)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable

import httpx
import pytest

from lc_contracts.events import DomainRegistered, build
from lc_contracts.subjects import domain_subject
from lc_domain_verifier.main import run
from lc_domain_verifier.settings import VerifierSettings
from lc_embedded import free_port
from lc_eventstore import EventStore
from lc_runtime.probes import Probes
from lc_testing import wait_until

from .domain_flow import stop

pytestmark = pytest.mark.timeout(120)

EVENTS = 20_000
GAUGE = re.compile(r'^(lc_worker_\w+)\{worker="domain-verifier"\} (\S+)$', re.MULTILINE)


def gauges(text: str) -> dict[str, float]:
    return {name: float(value) for name, value in GAUGE.findall(text)}


async def test_fold_behind_reports_the_distance_while_folding(
    store: EventStore, settings_for: Callable[..., VerifierSettings]
) -> None:
    events = [
        build(
            DomainRegistered(
                id=f"d{i}",
                fqdn=f"d{i}.acme.com",
                project_slug="default",
                service_name="web",
                challenge_token="t" * 43,
            ),
            subject=domain_subject(f"d{i}"),
            source="test",
        )
        for i in range(EVENTS)
    ]
    for start in range(0, EVENTS, 5_000):
        await store.append_pipelined(events[start : start + 5_000])
    last = await store.last_seq()
    port = free_port()
    task = asyncio.create_task(
        run(settings_for(probe_port=port, probe_host="127.0.0.1"), Probes("domain-verifier"))
    )
    scrapes: list[dict[str, float]] = []
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=5) as http:

            async def caught_up() -> bool:
                try:
                    answer = await http.get("/metrics")
                except httpx.TransportError:
                    return False  # not listening yet
                scrape = gauges(answer.text)
                if "lc_worker_fold_behind" in scrape:
                    scrapes.append(scrape)
                return scrape.get("lc_worker_ready") == 1.0

            await wait_until(caught_up, timeout=90, interval=0.005, what="the fold to catch up")
    finally:
        await stop(task)
    folding = [s for s in scrapes if s["lc_worker_ready"] == 0.0 and s["lc_worker_fold_target"]]
    assert any(s["lc_worker_fold_behind"] > 0 for s in folding), f"never seen behind: {scrapes}"
    for scrape in folding:
        assert scrape["lc_worker_fold_target"] == last, scrape
        assert scrape["lc_worker_fold_behind"] == last - scrape["lc_worker_fold_position"], scrape
    behind = [s["lc_worker_fold_behind"] for s in folding]
    assert behind == sorted(behind, reverse=True), "the distance only shrinks"
    assert scrapes[-1]["lc_worker_fold_behind"] == 0.0
    assert scrapes[-1]["lc_worker_fold_position"] == last
