"""OpenAI-shaped error bodies: `{"error": {"message", "type", "param", "code"}}`.

Who calls it: every answer the proxy itself gives instead of an upstream's (the ASGI
app, the forwarding path, and the SSE error event that ends a broken stream). Each
error is declared once here with its status, type and code, so clients can branch on
`code` and the tests can assert it.
"""

from __future__ import annotations

from dataclasses import dataclass

import orjson


@dataclass
class ProxyError(Exception):
    """An error the proxy answers itself."""

    status: int
    message: str
    type: str = "invalid_request_error"
    code: str | None = None
    param: str | None = None

    def body(self) -> bytes:
        return orjson.dumps(
            {
                "error": {
                    "message": self.message,
                    "type": self.type,
                    "param": self.param,
                    "code": self.code,
                }
            }
        )

    def sse_event(self) -> bytes:
        """The last event of a stream that broke: the OpenAI SDKs raise it as APIError."""
        return b"data: " + self.body() + b"\n\n"


def model_not_found(model: str) -> ProxyError:
    return ProxyError(
        404,
        f"The model `{model}` does not exist or is not ready. "
        "GET /v1/models lists the models you can call.",
        code="model_not_found",
        param="model",
    )


def endpoint_not_enabled(model: str, path: str) -> ProxyError:
    return ProxyError(
        404,
        f"The model `{model}` does not serve {path}; enable that endpoint on its Service.",
        code="endpoint_not_enabled",
        param="model",
    )


def missing_model() -> ProxyError:
    return ProxyError(
        400, "You must provide a model parameter.", code="missing_model", param="model"
    )


def invalid_json(detail: str) -> ProxyError:
    return ProxyError(
        400,
        f"We could not parse the JSON body of your request ({detail}). "
        "Send a JSON object with Content-Type: application/json.",
        code="invalid_json",
    )


def body_too_large(limit: int) -> ProxyError:
    return ProxyError(
        413,
        f"The request body is larger than the proxy's limit of {limit} bytes.",
        code="request_too_large",
    )


def unknown_url(method: str, path: str) -> ProxyError:
    return ProxyError(
        404,
        f"Unknown request URL: {method} {path}. Please check the URL for typos.",
        code="unknown_url",
    )


def invalid_api_key() -> ProxyError:
    return ProxyError(
        401,
        "Missing or unknown API key. Send it as `Authorization: Bearer <key>` "
        "(the `api_key` of an OpenAI SDK).",
        code="invalid_api_key",
    )


def method_not_allowed(method: str, path: str) -> ProxyError:
    return ProxyError(405, f"{method} is not allowed on {path}.", code="method_not_allowed")


def upstream_timeout(model: str, seconds: float) -> ProxyError:
    return ProxyError(
        504,
        f"The replica serving `{model}` did not answer within {seconds:g} s.",
        type="server_error",
        code="upstream_timeout",
    )


def upstream_unavailable(model: str, detail: str) -> ProxyError:
    return ProxyError(
        502,
        f"No replica serving `{model}` could be reached ({detail}). Try again shortly.",
        type="server_error",
        code="upstream_unavailable",
    )


def stream_interrupted(model: str, detail: str) -> ProxyError:
    return ProxyError(
        502,
        f"The replica serving `{model}` failed in the middle of the stream ({detail}).",
        type="server_error",
        code="upstream_stream_error",
    )


def not_ready() -> ProxyError:
    return ProxyError(
        503,
        "The proxy has not loaded its routing table yet.",
        type="server_error",
        code="not_ready",
    )
