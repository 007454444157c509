"""The SSRF guard at connect time: the worker resolves the receiver's name itself, checks
every address and connects to the one it checked; a name that turned to 127.0.0.1 or the
cloud metadata address after registration (DNS rebinding) is refused at the connection."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from lc_clustersim.dns_zone import DnsZone
from lc_testing import wait_until
from lc_webhooks.checked_client import CheckedClient, RefusedTarget, Resolver
from lc_webhooks.settings import WebhookSettings

from .conftest import running_worker
from .receiver import Answer, Receiver


def client(zone: DnsZone, allowed: str = "") -> CheckedClient:
    from lc_contracts.outbound import parse_networks

    return CheckedClient(
        Resolver([("127.0.0.1", zone.port)]), allowed=parse_networks(allowed), allow_http=True
    )


@pytest.mark.parametrize("address", ["127.0.0.1", "169.254.169.254", "10.0.0.1", "100.64.1.1"])
async def test_a_name_resolving_to_a_refused_address_is_not_connected(
    dns_zone: DnsZone, address: str
) -> None:
    dns_zone.set_record("A", "hooks.rebind.test", address)
    async with client(dns_zone) as c:
        with pytest.raises(RefusedTarget, match="refused"):
            await c.post("http://hooks.rebind.test/x", content=b"{}")


async def test_the_connection_goes_to_the_checked_address_with_the_name(
    dns_zone: DnsZone, receiver: Receiver
) -> None:
    dns_zone.set_record("A", "hooks.local.test", "127.0.0.1")
    async with client(dns_zone, allowed="127.0.0.0/8") as c:
        answer = await c.post(f"http://hooks.local.test:{receiver.port}/hook", content=b"{}")
    assert answer.status_code == 200
    assert receiver.received[0].headers["host"] == f"hooks.local.test:{receiver.port}"


async def test_a_kept_connection_stays_and_a_new_one_is_checked_again(
    dns_zone: DnsZone, receiver: Receiver
) -> None:
    dns_zone.set_record("A", "hooks.kept.test", "127.0.0.1")
    url = f"http://hooks.kept.test:{receiver.port}/hook"
    async with client(dns_zone, allowed="127.0.0.0/8") as c:
        assert (await c.post(url, content=b"{}")).status_code == 200
        # The name now points at the metadata address: the connection kept alive to the
        # address checked when it opened is used again; the next connection is refused.
        dns_zone.set_record("A", "hooks.kept.test", "169.254.169.254")
        receiver.script.append(Answer(200, {"connection": "close"}))
        assert (await c.post(url, content=b"{}")).status_code == 200
        with pytest.raises(RefusedTarget, match=r"169\.254\.169\.254"):
            await c.post(url, content=b"{}")
    assert len(receiver.received) == 2


async def test_dns_rebinding_after_registration_is_refused_at_delivery(
    lcd: httpx.AsyncClient,
    worker_settings: Callable[..., WebhookSettings],
    dns_zone: DnsZone,
    nats_url: str,
    database_url: str,
) -> None:
    # Registered while the name pointed at a public address; then it points at metadata.
    from lc_api.server import create_app
    from lc_api.settings import ApiSettings

    dns_zone.set_record("A", "hooks.victim.test", "93.184.216.34")
    settings = worker_settings(
        webhook_allow_networks="", dns_nameservers=f"127.0.0.1:{dns_zone.port}"
    )
    api = ApiSettings(
        nats_url=nats_url,
        database_url=database_url,
        platform_domain="example.com",
        ingress_cname_target="ingress.example.com",
        secret_key=settings.secret_key,
        dns_nameservers=f"127.0.0.1:{dns_zone.port}",
    )
    app = create_app(api)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as api_c:
            made = await api_c.post(
                "/api/v1/webhooks",
                json={"url": "https://hooks.victim.test/x", "eventTypes": ["project.*"]},
            )
            assert made.status_code == 201, made.text
            sub_id = made.json()["id"]
            dns_zone.set_record("A", "hooks.victim.test", "169.254.169.254")
            async with running_worker(settings):
                await api_c.post("/api/v1/projects", json={"name": "p", "slug": "p"})

                async def refused() -> bool:
                    answer = await api_c.get(f"/api/v1/webhooks/{sub_id}/deliveries")
                    return any(
                        "169.254.169.254" in (i["error"] or "") for i in answer.json()["items"]
                    )

                await wait_until(refused, what="a refused connection in the delivery log")
