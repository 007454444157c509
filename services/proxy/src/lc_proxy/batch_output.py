"""The lines of a batch's output and error files, and their order.

Who calls it: the dispatcher, once per finished request (`answered`, `not_answered`) and
when it writes the files (`file_line`). Pure. Lines follow OpenAI's shape:
`{"id", "custom_id", "response": {"status_code", "request_id", "body"}, "error"}`.
A 2xx answer goes to the output file; any other answer goes to the error file with its
status and body; a request that got no answer (unreachable replicas, the window passed)
goes to the error file with `response: null` and an `error {code, message}`.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

import orjson


@dataclass(frozen=True)
class LineResult:
    """What one request produced: the line to write and what it counts for."""

    succeeded: bool
    line: dict[str, Any]
    prompt_tokens: int = 0
    completion_tokens: int = 0

    def to_bytes(self) -> bytes:
        return orjson.dumps(
            {
                "ok": self.succeeded,
                "line": self.line,
                "usage": [self.prompt_tokens, self.completion_tokens],
            }
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> LineResult:
        parsed = orjson.loads(data)
        prompt, completion = parsed["usage"]
        return cls(parsed["ok"], parsed["line"], prompt, completion)


def _request_line_id() -> str:
    return f"batch_req_{secrets.token_hex(16)}"


def answered(custom_id: str, status: int, request_id: str, body: bytes) -> LineResult:
    """A replica answered `status` with `body`."""
    try:
        parsed: Any = orjson.loads(body)
    except orjson.JSONDecodeError:
        parsed = body.decode("utf-8", "replace")
    ok = 200 <= status < 300
    prompt = completion = 0
    if ok and isinstance(parsed, dict) and isinstance(parsed.get("usage"), dict):
        usage = parsed["usage"]
        prompt = usage.get("prompt_tokens") if isinstance(usage.get("prompt_tokens"), int) else 0
        completion = (
            usage.get("completion_tokens") if isinstance(usage.get("completion_tokens"), int) else 0
        )
    line = {
        "id": _request_line_id(),
        "custom_id": custom_id,
        "response": {"status_code": status, "request_id": request_id, "body": parsed},
        "error": None,
    }
    return LineResult(ok, line, prompt, completion)


def not_answered(custom_id: str, code: str, message: str) -> LineResult:
    """No answer: the replicas could not be reached, or the batch expired first."""
    line = {
        "id": _request_line_id(),
        "custom_id": custom_id,
        "response": None,
        "error": {"code": code, "message": message},
    }
    return LineResult(False, line)


def file_line(result: LineResult) -> bytes:
    """The result's line as written to the output or error file."""
    return orjson.dumps(result.line) + b"\n"
