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
