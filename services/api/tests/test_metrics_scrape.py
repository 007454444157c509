"""A Prometheus scraper reads lcd's /api/metrics with LC_METRICS_TOKEN as a bearer token,
without the admin password; any other bearer is refused."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from lc_api.settings import ApiSettings

from .conftest import ADMIN, client_for, make_settings

TOKEN = "scrape-9f2c1e7d4b8a6035e1d2c3b4"


async def test_the_metrics_token_reads_metrics_and_nothing_else(
    nats_url: str, database_url: str
) -> None:
    settings = make_settings(
        nats_url,
        database_url,
        auth_username=ADMIN[0],
        auth_password=ADMIN[1],
        metrics_token=TOKEN,
    )
    bearer = {"Authorization": f"Bearer {TOKEN}"}
    async with client_for(settings) as client:
        scraped = await client.get("/api/metrics", headers=bearer)
        assert scraped.status_code == 200
        assert "lcd_projection_position" in scraped.text
        assert (await client.get("/api/metrics", auth=ADMIN)).status_code == 200

        wrong = await client.get("/api/metrics", headers={"Authorization": f"Bearer {TOKEN}x"})
        assert wrong.status_code == 401
        assert wrong.headers["content-type"] == "application/problem+json"
        assert wrong.json()["type"].endswith("/unauthorized")
        assert (await client.get("/api/metrics")).status_code == 401
        # The token opens the metrics only.
        assert (await client.get("/api/v1/projects", headers=bearer)).status_code == 401


@pytest.mark.parametrize("token", ["short", "changeme"])
def test_a_short_or_placeholder_token_is_refused(
    nats_url: str, database_url: str, token: str
) -> None:
    with pytest.raises(ValidationError, match="LC_METRICS_TOKEN"):
        ApiSettings(nats_url=nats_url, database_url=database_url, metrics_token=token)


async def test_a_scrape_bearing_the_token_is_answered_whatever_its_host(
    nats_url: str, database_url: str
) -> None:
    """Prometheus scrapes each pod by its IP, which is no allowed host; only a scrape with
    the token gets past the DNS-rebinding check, and only on /api/metrics."""
    settings = make_settings(
        nats_url,
        database_url,
        auth_username=ADMIN[0],
        auth_password=ADMIN[1],
        metrics_token=TOKEN,
    )
    pod_ip = {"Host": "10.42.0.17:8080"}
    bearer = {"Authorization": f"Bearer {TOKEN}", **pod_ip}
    async with client_for(settings) as client:
        assert (await client.get("/api/metrics", headers=bearer)).status_code == 200
        assert (await client.get("/api/metrics", headers=pod_ip, auth=ADMIN)).status_code == 421
        wrong = {"Authorization": f"Bearer {TOKEN}x", **pod_ip}
        assert (await client.get("/api/metrics", headers=wrong)).status_code == 421
        assert (await client.get("/api/v1/projects", headers=bearer)).status_code == 421
