"""What the proxy needs to know from a request body: which model, and whether it streams.

Who calls it: the ASGI app, once per POST, after reading the body under the size limit.
The body itself is forwarded byte for byte; this module only looks inside it.

JSON bodies must be an object with a string `model`. `multipart/form-data` bodies
(audio transcriptions, file uploads) name the model in a `model` field.
"""

from __future__ import annotations

from dataclasses import dataclass

import orjson

from lc_proxy.openai_errors import ProxyError, invalid_json, missing_model


@dataclass(frozen=True)
class RequestFacts:
    model: str
    stream: bool = False
    include_usage: bool = False


def inspect_body(content_type: str, body: bytes) -> RequestFacts:
    """The model and streaming flags of a request; raises ProxyError (400) if unusable."""
    if content_type.startswith("multipart/form-data"):
        model = multipart_field(content_type, body, "model")
        if not model:
            raise missing_model()
        return RequestFacts(model=model)
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise invalid_json(str(exc).split(":", 1)[0]) from None
    if not isinstance(parsed, dict):
        raise invalid_json("the body is not a JSON object")
    model = parsed.get("model")
    if not isinstance(model, str) or not model:
        raise missing_model()
    stream = parsed.get("stream") is True
    options = parsed.get("stream_options")
    include_usage = stream and isinstance(options, dict) and options.get("include_usage") is True
    return RequestFacts(model=model, stream=stream, include_usage=include_usage)


def multipart_field(content_type: str, body: bytes, name: str) -> str | None:
    """The text value of form field `name` in a multipart body, or None."""
    boundary = _boundary(content_type)
    if boundary is None:
        raise ProxyError(400, "The multipart body has no boundary.", code="invalid_multipart")
    wanted = f'name="{name}"'.encode()
    for part in body.split(b"--" + boundary):
        head, sep, value = part.partition(b"\r\n\r\n")
        if not sep:
            continue
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-disposition:") and _has_param(line, wanted):
                return value.removesuffix(b"\r\n").decode("utf-8", "replace").strip()
    return None


def _has_param(line: bytes, wanted: bytes) -> bool:
    return any(p.strip() == wanted for p in line.split(b";"))


def _boundary(content_type: str) -> bytes | None:
    for param in content_type.split(";")[1:]:
        key, _, value = param.strip().partition("=")
        if key.lower() == "boundary" and value:
            return value.strip('"').encode()
    return None
