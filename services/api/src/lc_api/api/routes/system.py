"""Health, readiness, Prometheus metrics and the console's config."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import Literal

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import Field

from lc_api.api.deps import RuntimeDep
from lc_contracts.base import Contract

public = APIRouter(tags=["system"])
protected = APIRouter(tags=["system"])
scraped = APIRouter(tags=["system"])
"""Routes a Prometheus scraper reads: the admin, or the bearer of LC_METRICS_TOKEN."""


def lcd_version() -> str:
    try:
        return version("lc-api")
    except PackageNotFoundError:
        return "0.0.0"


class IngressService(Contract):
    namespace: str
    name: str


class PlatformConfig(Contract):
    platform_domain: str
    cname_target: str
    ingress_service: IngressService
    auth_mode: str
    version: str


@public.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is up (liveness)."""
    return {"status": "ok"}


class Readiness(Contract):
    status: Literal["ready", "not ready"]
    checks: dict[str, str] = Field(description="Each dependency's state: 'ok' or why not")


@public.get(
    "/readyz",
    response_model=Readiness,
    responses={503: {"model": Readiness, "description": "Not ready: a check is not 'ok'"}},
)
async def readyz(runtime: RuntimeDep) -> Response:
    """NATS and PostgreSQL answer and the read models caught up with the log seen at start."""
    checks = await runtime.readiness()
    ready = all(v == "ok" for k, v in checks.items() if k != "serviceStatus")
    return JSONResponse(
        {"status": "ready" if ready else "not ready", "checks": checks},
        status_code=200 if ready else 503,
    )


@public.get("/v1/config", response_model=PlatformConfig)
async def config(runtime: RuntimeDep) -> PlatformConfig:
    settings = runtime.settings
    return PlatformConfig(
        platform_domain=settings.platform_domain,
        cname_target=settings.cname_target,
        ingress_service=IngressService(
            namespace=settings.ingress_service_namespace, name=settings.ingress_service_name
        ),
        auth_mode="admin" if settings.auth_enabled else "none",
        version=lcd_version(),
    )


@scraped.get("/metrics", response_class=Response)
async def metrics(runtime: RuntimeDep) -> Response:
    """Prometheus exposition of lcd's own metrics (the admin, or `Authorization: Bearer`
    LC_METRICS_TOKEN)."""
    return Response(generate_latest(runtime.registry), media_type=CONTENT_TYPE_LATEST)
