"""Validation of a batch's input file: one request per line, checked before any is sent.

Who calls it: the dispatcher (through `batch_queue`), when it takes a batch. Pure: the
routing question ("can `model` be served on `endpoint`?") is passed in as a function,
and the lines come from any iterable, so a file of 200 MB is checked as it is read
(`check_lines`, `file_lines`) without being held in memory.

Each line must be `{"custom_id", "method": "POST", "url", "body"}` with a `custom_id`
unique in the file, `url` equal to the batch's endpoint and a `body` naming a routable
`model` without `stream: true`. Any failure fails the whole batch, as OpenAI does, with
up to `MAX_REPORTED_ERRORS` entries `{code, line, message, param}` (lines count from 1).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import IO, Final

import orjson

from lc_proxy.batch_records import LineError

MAX_REPORTED_ERRORS: Final = 100


@dataclass(frozen=True)
class BatchRequest:
    """One line to send: its position (from 0), its id, model and the body as sent."""

    index: int
    custom_id: str
    model: str
    body: bytes


def parse_input(
    data: bytes, endpoint: str, can_route: Callable[[str], bool]
) -> list[BatchRequest] | tuple[LineError, ...]:
    """The requests of an input file held in memory, or why the batch fails."""
    requests: list[BatchRequest] = []
    for found in check_lines(data.splitlines(), endpoint, can_route):
        if isinstance(found, tuple):
            return found
        requests.append(found)
    return requests


def check_lines(
    lines: Iterable[bytes], endpoint: str, can_route: Callable[[str], bool]
) -> Iterator[BatchRequest | tuple[LineError, ...]]:
    """Each valid request as its line is read; once every line was read, the errors, if
    any, as one tuple last (then the requests yielded before it are void). Holds only
    the `custom_id`s seen, never the lines, so a file can be checked as it streams."""
    errors: list[LineError] = []
    seen: set[str] = set()
    index = 0
    for number, raw in enumerate(lines, 1):
        if not raw.strip():
            continue
        found = _check_line(raw, number, endpoint, can_route, seen)
        if isinstance(found, LineError):
            errors.append(found)
            if len(errors) >= MAX_REPORTED_ERRORS:
                break
        elif not errors:
            yield BatchRequest(index=index, custom_id=found[0], model=found[1], body=found[2])
            index += 1
        else:
            index += 1
    if errors:
        yield tuple(errors)
    elif not index:
        yield (LineError(code="empty_file", message="The input file holds no request."),)


def file_lines(content: IO[bytes]) -> Iterator[bytes]:
    """The lines of a file read one at a time, split as `bytes.splitlines` splits the
    whole: at `\\n`, `\\r\\n` and a lone `\\r` (so line numbers in errors are the same)."""
    for raw in content:
        yield from raw.splitlines() or (b"",)


def _check_line(
    raw: bytes, number: int, endpoint: str, can_route: Callable[[str], bool], seen: set[str]
) -> LineError | tuple[str, str, bytes]:
    def error(code: str, message: str, param: str | None = None) -> LineError:
        return LineError(code=code, message=message, line=number, param=param)

    try:
        line = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return error("invalid_json_line", "This line is not valid JSON.")
    if not isinstance(line, dict):
        return error("invalid_json_line", "This line is not a JSON object.")
    custom_id = line.get("custom_id")
    if not isinstance(custom_id, str) or not custom_id:
        return error("missing_required_parameter", "The line has no custom_id.", "custom_id")
    if custom_id in seen:
        return error(
            "duplicate_custom_id",
            f"The custom_id `{custom_id}` appears on an earlier line; each must be unique.",
            "custom_id",
        )
    seen.add(custom_id)
    if line.get("method") != "POST":
        return error("invalid_method", "The method must be POST.", "method")
    if line.get("url") != endpoint:
        return error(
            "mismatched_url",
            f"The url must be the batch's endpoint {endpoint}, not {line.get('url')!r}.",
            "url",
        )
    body = line.get("body")
    if not isinstance(body, dict):
        return error("invalid_request", "The body must be a JSON object.", "body")
    model = body.get("model")
    if not isinstance(model, str) or not model:
        return error("missing_required_parameter", "The body has no model.", "body.model")
    if body.get("stream") is True:
        return error(
            "invalid_value", "Streaming is not supported in a batch; drop stream.", "body.stream"
        )
    if not can_route(model):
        return error(
            "model_not_found",
            f"The model `{model}` does not exist, is not ready or does not serve {endpoint}.",
            "body.model",
        )
    return custom_id, model, orjson.dumps(body)
