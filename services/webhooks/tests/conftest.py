"""Fixtures of the webhooks worker's tests: real nats-server and PostgreSQL, lcd in-process
(its migrations create the delivery log; its API creates subscriptions), the worker as a
task with a short retry schedule, and receivers on loopback sockets."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from lc_api.server import create_app
from lc_api.settings import ApiSettings
from lc_clustersim.dns_zone import DnsZone
from lc_contracts.sealing import generate_key
from lc_runtime.cancellation import cancel_until_done
from lc_webhooks.main import run
from lc_webhooks.settings import WebhookSettings

from .receiver import Receiver


@pytest.fixture
def secret_key() -> str:
    return generate_key()


@pytest.fixture
def api_settings(nats_url: str, database_url: str, secret_key: str) -> ApiSettings:
    return ApiSettings(
        nats_url=nats_url,
        database_url=database_url,
        platform_domain="example.com",
        ingress_cname_target="ingress.example.com",
        secret_key=secret_key,
        webhook_allow_networks="127.0.0.0/8",
    )


@pytest.fixture
async def lcd(api_settings: ApiSettings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(api_settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            yield client


@pytest.fixture
def worker_settings(
    nats_url: str, database_url: str, secret_key: str
) -> Callable[..., WebhookSettings]:
    def make(**overrides: Any) -> WebhookSettings:
        values: dict[str, Any] = {
            "nats_url": nats_url,
            "database_url": database_url,
            "secret_key": secret_key,
            "webhook_allow_networks": "127.0.0.0/8",
            "webhook_retry_schedule_s": (0.05, 0.05, 0.05),
            "webhook_retry_jitter": 0.0,
            "webhook_timeout_s": 2.0,
            "webhook_processes": 1,  # delivery in the test's process; tests of several say so
            **overrides,
        }
        return WebhookSettings(**values)

    return make


@contextlib.asynccontextmanager
async def running_worker(settings: WebhookSettings) -> AsyncIterator[asyncio.Task[None]]:
    task = asyncio.create_task(run(settings))
    try:
        yield task
    finally:
        await cancel_until_done(task)


@pytest.fixture
async def worker(
    lcd: httpx.AsyncClient, worker_settings: Callable[..., WebhookSettings]
) -> AsyncIterator[asyncio.Task[None]]:
    async with running_worker(worker_settings()) as task:
        yield task


@pytest.fixture
async def dns_zone() -> AsyncIterator[DnsZone]:
    """A DNS server on loopback whose names the tests set."""
    zone = DnsZone()
    await zone.start()
    try:
        yield zone
    finally:
        await zone.stop()


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with Receiver().serving() as r:
        yield r
