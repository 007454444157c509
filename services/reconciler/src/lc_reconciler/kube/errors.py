"""How a failed Kubernetes call is handled.

    KubeError
    ├── TransientKubeError   409, 429, 5xx, timeouts, connection loss: retry with back-off,
    │                        never reported as a failed Service
    └── PermanentKubeError   any other 4xx (invalid object, forbidden, unknown kind): the
                             cluster rejects the spec; reported on the Service's status

Callers: `kube.client` raises them; the reconcile worker decides retry or report.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
from kubernetes_asyncio.client.exceptions import ApiException

TRANSIENT_STATUSES = frozenset({408, 409, 425, 429})


class KubeError(Exception):
    def __init__(self, message: str, status: int = 0) -> None:
        super().__init__(message)
        self.status = status


class TransientKubeError(KubeError):
    def __init__(self, message: str, status: int = 0, retry_after: float | None = None) -> None:
        super().__init__(message, status)
        self.retry_after = retry_after


class PermanentKubeError(KubeError):
    pass


def _message(exc: ApiException) -> str:
    body: Any = exc.body
    try:
        parsed = json.loads(body) if isinstance(body, str | bytes) else None
    except ValueError:
        parsed = None
    if isinstance(parsed, dict) and parsed.get("message"):
        return str(parsed["message"])
    return str(exc.reason or body or exc)


def _retry_after(exc: ApiException) -> float | None:
    headers: Any = exc.headers or {}
    raw = headers.get("Retry-After") if hasattr(headers, "get") else None
    try:
        return float(raw) if raw is not None else None
    except ValueError:
        return None


def classify(exc: BaseException, what: str) -> KubeError:
    """The KubeError for an exception raised by a call described by `what`."""
    if isinstance(exc, ApiException):
        status = int(exc.status or 0)
        message = f"{what}: {status} {_message(exc)}"
        if status == 0 or status >= 500 or status in TRANSIENT_STATUSES:
            return TransientKubeError(message, status, _retry_after(exc))
        return PermanentKubeError(message, status)
    if isinstance(exc, aiohttp.ClientError | asyncio.TimeoutError | OSError):
        return TransientKubeError(f"{what}: {type(exc).__name__}: {exc}")
    return PermanentKubeError(f"{what}: {type(exc).__name__}: {exc}")
