"""`create_app(settings)`: lcd's FastAPI application.

Every route lives under `/api` (the local stack mounts lcd at the root and routes `/api`
to it). Connections, the projector and the status followers start in the lifespan;
nothing is created at import time.

Callers: the `lcd` entry point (`lc_api.main`), `lc up`, tests.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, Depends, FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse, JSONResponse
from prometheus_client import CollectorRegistry
from pydantic import BaseModel

from lc_api.api.deps import require_admin, require_metrics_reader
from lc_api.api.middleware import BodyLimit, HttpMetrics, Idempotency, RequestChecks
from lc_api.api.problems import (
    GUARD_PROBLEMS,
    PROBLEM_JSON,
    Problem,
    install_problem_handlers,
    problem_responses,
)
from lc_api.api.routes import (
    audit,
    auth,
    domains,
    events,
    fleet,
    projects,
    secrets,
    services,
    system,
    usage,
    webhooks,
)
from lc_api.api.routes.auth import LoginRequest
from lc_api.api.routes.projects import ProjectPatch
from lc_api.api.routes.services import (
    SERVICE_APPLICATION,
    RollbackRequest,
    service_application,
)
from lc_api.runtime.lcd import Runtime
from lc_api.settings import ApiSettings
from lc_contracts.specs import (
    DomainRegistration,
    ProjectSpec,
    SecretCreate,
    SecretValue,
    ServiceSpec,
)
from lc_contracts.webhooks import WebhookCreate, WebhookReplay, WebhookUpdate

API_PREFIX = "/api"
OPENAPI_URL = "/api/openapi.json"
BODY_MODELS: tuple[type[BaseModel], ...] = (
    Problem,
    ProjectSpec,
    ProjectPatch,
    ServiceSpec,
    RollbackRequest,
    DomainRegistration,
    SecretCreate,
    SecretValue,
    LoginRequest,
    WebhookCreate,
    WebhookUpdate,
    WebhookReplay,
)


def _openapi(app: FastAPI) -> dict[str, Any]:
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(
        title="LiquidCompute lcd",
        version=system.lcd_version(),
        description="Projects, Services, custom Domains and the audit log of LiquidCompute.",
        routes=app.routes,
    )
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for model in BODY_MODELS:
        body = model.model_json_schema(by_alias=True, ref_template="#/components/schemas/{model}")
        for name, definition in body.pop("$defs", {}).items():
            components.setdefault(name, definition)
        components[model.__name__] = body
    components[SERVICE_APPLICATION] = service_application(components[ServiceSpec.__name__])
    _validation_errors_are_problems(schema)
    _optional_parameters_are_strings(schema)
    app.openapi_schema = schema
    return schema


def _validation_errors_are_problems(schema: dict[str, Any]) -> None:
    """FastAPI declares its own 422 body on every route with parameters; lcd answers those
    as problem+json (`install_problem_handlers`), so the document says so."""
    problem = {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            answer = operation.get("responses", {}).get("422")
            if answer is not None and PROBLEM_JSON not in answer.get("content", {}):
                answer["content"] = problem
                answer["description"] = "The request is not valid: the errors name each field"
    components = schema.get("components", {}).get("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        components.pop(name, None)


def _optional_parameters_are_strings(schema: dict[str, Any]) -> None:
    """An optional query or header parameter is left out, never sent as null: `str | None`
    is published as the string it is when present (a literal `null` is just a string)."""
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                param_schema = parameter.get("schema", {})
                variants = param_schema.get("anyOf", [])
                present = [v for v in variants if v.get("type") != "null"]
                if len(variants) == 2 and len(present) == 1:
                    del param_schema["anyOf"]
                    param_schema.update(present[0])


def create_app(settings: ApiSettings) -> FastAPI:
    registry = CollectorRegistry()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = await Runtime.start(settings, registry)
        app.state.runtime = runtime
        try:
            yield
        finally:
            await runtime.stop()

    app = FastAPI(
        title="LiquidCompute lcd",
        version=system.lcd_version(),
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    install_problem_handlers(app)

    guarded = [Depends(require_admin)]
    guard_answers = problem_responses(*GUARD_PROBLEMS)
    v1 = APIRouter(prefix="/v1")
    v1.include_router(projects.router, dependencies=guarded, responses=guard_answers)
    v1.include_router(services.router, dependencies=guarded, responses=guard_answers)
    v1.include_router(secrets.router, dependencies=guarded, responses=guard_answers)
    v1.include_router(domains.router, dependencies=guarded, responses=guard_answers)
    v1.include_router(events.router, dependencies=guarded, responses=guard_answers)
    v1.include_router(audit.router, dependencies=guarded, responses=guard_answers)
    v1.include_router(usage.router, dependencies=guarded, responses=guard_answers)
    v1.include_router(fleet.router, dependencies=guarded, responses=guard_answers)
    v1.include_router(webhooks.router, dependencies=guarded, responses=guard_answers)
    v1.include_router(auth.router)

    api = APIRouter(prefix=API_PREFIX)
    api.include_router(v1)
    api.include_router(system.public)
    api.include_router(system.protected, dependencies=guarded, responses=guard_answers)
    api.include_router(
        system.scraped, dependencies=[Depends(require_metrics_reader)], responses=guard_answers
    )

    @api.get("/openapi.json", include_in_schema=False, dependencies=guarded)
    async def openapi_document() -> JSONResponse:
        return JSONResponse(_openapi(app))

    @api.get("/docs", include_in_schema=False, dependencies=guarded)
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url=OPENAPI_URL, title="lcd API")

    app.include_router(api)

    # Outermost last: metrics see every answer, cross-site requests are refused before
    # their bodies are read, the body limit runs before idempotency.
    app.add_middleware(Idempotency)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(
        RequestChecks,
        allowed_hosts=settings.allowed_host_names(),
        metrics_token=settings.metrics_token,
    )
    app.add_middleware(HttpMetrics, registry=registry)
    return app
