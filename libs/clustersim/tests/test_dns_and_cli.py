"""The DNS zone through the CLI and dnspython's async resolver; the CLI's other knobs."""

from __future__ import annotations

import asyncio
import json

import dns.asyncresolver
import dns.exception
import dns.resolver
import pytest

from lc_clustersim.cli import main
from lc_clustersim.sim import ClusterSim


def resolver(sim: ClusterSim, timeout: float = 2.0) -> dns.asyncresolver.Resolver:
    r = dns.asyncresolver.Resolver(configure=False)
    host, port = sim.dns_address
    r.nameservers = [host]
    r.port = port
    r.lifetime = timeout
    r.timeout = timeout
    return r


async def cli(*argv: str) -> int:
    # The CLI is synchronous; run it off the loop that serves the admin API.
    return await asyncio.to_thread(main, list(argv))


async def test_txt_set_by_cli_resolves_then_disappears(cluster: ClusterSim) -> None:
    name = "_lc-challenge.app.example.test"
    data_dir = str(cluster.data_dir)
    assert await cli("--data-dir", data_dir, "dns", "set", "TXT", name, "token-123") == 0
    answer = await resolver(cluster).resolve(name, "TXT")
    assert [b"".join(r.strings).decode() for r in answer] == ["token-123"]

    # Over TCP too.
    tcp_answer = await resolver(cluster).resolve(name, "TXT", tcp=True)
    assert [b"".join(r.strings).decode() for r in tcp_answer] == ["token-123"]

    assert await cli("--admin-url", cluster.admin_url, "dns", "delete", "TXT", name) == 0
    with pytest.raises((dns.resolver.NXDOMAIN, dns.resolver.NoAnswer)):
        await resolver(cluster).resolve(name, "TXT")


async def test_cname_a_and_no_answer(cluster: ClusterSim) -> None:
    cluster.set_dns_record("A", "ingress.lc.test", "127.0.0.10")
    cluster.set_dns_record("CNAME", "shop.example.test", "ingress.lc.test")
    answer = await resolver(cluster).resolve("shop.example.test", "A")
    assert [r.address for r in answer] == ["127.0.0.10"]
    assert answer.canonical_name.to_text() == "ingress.lc.test."
    cname = await resolver(cluster).resolve("shop.example.test", "CNAME")
    assert cname[0].target.to_text() == "ingress.lc.test."
    with pytest.raises(dns.resolver.NoAnswer):
        await resolver(cluster).resolve("ingress.lc.test", "TXT")
    with pytest.raises(dns.resolver.NXDOMAIN):
        await resolver(cluster).resolve("missing.example.test", "A")
    with pytest.raises(ValueError, match="invalid A value"):
        cluster.set_dns_record("A", "bad.example.test", "not-an-ip")


async def test_servfail_and_timeout_faults(cluster: ClusterSim) -> None:
    cluster.set_dns_record("TXT", "flaky.example.test", "v")
    assert (
        await cli(
            "--admin-url", cluster.admin_url, "dns", "fault", "flaky.example.test", "servfail"
        )
        == 0
    )
    with pytest.raises(dns.resolver.NoNameservers):
        await resolver(cluster).resolve("flaky.example.test", "TXT")
    cluster.set_dns_fault("flaky.example.test", "timeout")
    with pytest.raises(dns.exception.Timeout):
        await resolver(cluster, timeout=0.3).resolve("flaky.example.test", "TXT")
    cluster.set_dns_fault("flaky.example.test", None)
    answer = await resolver(cluster).resolve("flaky.example.test", "TXT")
    assert answer[0].strings == (b"v",)


async def test_cli_knobs_reach_the_simulator(
    cluster: ClusterSim, capsys: pytest.CaptureFixture[str]
) -> None:
    admin = ("--admin-url", cluster.admin_url)
    assert await cli(*admin, "gpu", "health", "sim-node-0-gpu0", "Unhealthy") == 0
    gpu = cluster.store.get(
        cluster.store.type_for(("engine.greenthread.ai", "gpus")), None, "sim-node-0-gpu0"
    )
    assert gpu["status"]["health"] == "Unhealthy"
    assert await cli(*admin, "gpu", "health", "no-such-gpu", "Healthy") == 1
    assert await cli(*admin, "upstream", "faults", "--latency-ms", "25", "--error-rate", "0.5") == 0
    assert cluster.engine.upstream_faults.latency_s == pytest.approx(0.025)
    assert cluster.engine.upstream_faults.error_rate == 0.5
    assert await cli(*admin, "model", "fail", "nowhere", "nothing") == 1
    capsys.readouterr()
    assert await cli(*admin, "watches", "close") == 0
    assert json.loads(capsys.readouterr().out) == {"closed": 0}
    assert await cli(*admin, "gpu", "add", "1x2:L4-24GB") == 0
    assert "sim-node-2-gpu1" in cluster.engine.gpu_names
    capsys.readouterr()
    assert await cli(*admin, "state") == 0
    state = json.loads(capsys.readouterr().out)
    assert state["apiUrl"] == cluster.api_url


def test_serve_rejects_a_bad_fleet(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--gpus", "eight H100s"]) == 2
    assert "NODESxDEVICES:PRODUCT" in capsys.readouterr().err
