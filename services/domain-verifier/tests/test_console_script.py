"""The `lc-domain-verifier` console script, run as a real process."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from pathlib import Path

import pytest

from lc_clustersim.dns_zone import DnsZone
from lc_eventstore import EventStore
from lc_testing import wait_until

from .domain_flow import new_token, register, wait_for_event

SCRIPT = Path(sys.executable).parent / "lc-domain-verifier"
pytestmark = pytest.mark.timeout(60)


def _environment(**values: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LC_")}
    env.update(values)
    return env


async def test_bad_configuration_fails_fast_with_one_line() -> None:
    process = await asyncio.create_subprocess_exec(
        str(SCRIPT),
        env=_environment(LC_DNS_NAMESERVERS="resolver.example:53"),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, stderr = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 2
    lines = stderr.decode().strip().splitlines()
    assert len(lines) == 1
    assert "LC_DNS_NAMESERVERS" in lines[0]
    assert "IP address" in lines[0]


async def test_the_script_verifies_domains_and_stops_on_interrupt(
    store: EventStore, dns_zone: DnsZone, nats_url: str
) -> None:
    token = new_token()
    dns_zone.set_txt("_lc-challenge.script.acme.com", token)
    process = await asyncio.create_subprocess_exec(
        str(SCRIPT),
        env=_environment(
            LC_NATS_URL=nats_url,
            LC_DNS_NAMESERVERS=f"127.0.0.1:{dns_zone.port}",
            LC_DNS_TIMEOUT_S="1",
        ),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stderr is not None
    output: list[str] = []

    async def collect(stream: asyncio.StreamReader) -> None:
        async for line in stream:
            output.append(line.decode())

    collector = asyncio.create_task(collect(process.stderr))
    try:
        domain_id = await register(store, "script.acme.com", token)
        await wait_for_event(store, domain_id, "domain.verified", timeout=20)
        # The event is stored a moment before the process logs it.
        await wait_until(lambda: any("domain verified" in line for line in output), timeout=10)
    finally:
        process.send_signal(signal.SIGINT)
        await asyncio.wait_for(process.wait(), 30)
        await asyncio.wait_for(collector, 10)
    assert process.returncode == 0
    lines = [json.loads(line) for line in output if line.startswith("{")]
    verified = [line for line in lines if line["message"] == "domain verified"]
    assert verified
    assert verified[0]["domain_id"] == domain_id
    assert verified[0]["fqdn"] == "script.acme.com"
    assert all(token not in line for line in output)
