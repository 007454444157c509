"""OpenAI's Files and Batch APIs over HTTP: `/v1/files...` and `/v1/batches...`.

Who calls it: `ProxyApp` hands it every request under those paths (after the API key
and cross-site checks). It validates input, reads and writes `batch_storage`, and wakes
the local `BatchDispatcher`; the dispatcher does the rest.

Routes: `POST /v1/files` (multipart `file` + `purpose=batch`), `GET /v1/files`,
`GET /v1/files/{id}`, `GET /v1/files/{id}/content`, `DELETE /v1/files/{id}`,
`POST /v1/batches`, `GET /v1/batches` (`after`, `limit` 1-100), `GET /v1/batches/{id}`,
`POST /v1/batches/{id}/cancel`. Answers and errors are OpenAI's shapes.

Ownership: with API keys on, every file and batch belongs to the key that created it
(kept as a digest); any other key gets 404 for it, as if it did not exist.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, Final, TypeVar
from urllib.parse import parse_qs

import orjson

from lc_proxy import batch_records as records
from lc_proxy.batch_dispatcher import BatchDispatcher
from lc_proxy.batch_events import BatchEvents
from lc_proxy.batch_records import (
    BATCH_ENDPOINTS,
    COMPLETION_WINDOWS,
    MAX_METADATA_KEY,
    MAX_METADATA_PAIRS,
    MAX_METADATA_VALUE,
    BatchRecord,
    FileRecord,
    InvalidTransition,
)
from lc_proxy.batch_storage import BatchStorage, Conflict
from lc_proxy.batch_upload import ClientGone, read_upload
from lc_proxy.openai_errors import ProxyError, invalid_json, method_not_allowed, unknown_url

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

T = TypeVar("T")

MAX_JSON_BODY: Final = 64 * 1024
_CHUNK: Final = 256 * 1024


def owner_of(authorization: bytes | None, keys_required: bool) -> str:
    """Who a request acts for: a digest of its API key, or "" when keys are off."""
    if not keys_required or not authorization:
        return ""
    token = authorization.strip().partition(b" ")[2].strip()
    return hashlib.sha256(b"lc-proxy owner\x00" + token).hexdigest()[:32]


def no_such_file(file_id: str) -> ProxyError:
    return ProxyError(404, f"No such File object: {file_id}", code="file_not_found", param="id")


def no_such_batch(batch_id: str) -> ProxyError:
    return ProxyError(
        404, f"No such Batch object: {batch_id}", code="batch_not_found", param="batch_id"
    )


def invalid_value(param: str, message: str) -> ProxyError:
    return ProxyError(400, message, code="invalid_value", param=param)


def missing(param: str) -> ProxyError:
    return ProxyError(
        400,
        f"Missing required parameter: '{param}'.",
        code="missing_required_parameter",
        param=param,
    )


class BatchApi:
    def __init__(
        self,
        storage: BatchStorage,
        dispatcher: BatchDispatcher,
        events: BatchEvents,
        *,
        keys_required: bool,
        window_s: float,
    ) -> None:
        self.storage = storage
        self.dispatcher = dispatcher
        self.events = events
        self.keys_required = keys_required
        self.window_s = window_s

    async def handle(self, scope: Scope, path: str, receive: Receive, send: Send) -> None:
        """Answer one request under /v1/files or /v1/batches; raises ProxyError."""
        method: str = scope["method"]
        owner = owner_of(_header(scope, b"authorization"), self.keys_required)
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        parts = path.strip("/").split("/")[1:]  # without "v1"
        match (method, parts):
            case ("POST", ["files"]):
                await self._upload(scope, owner, receive, send)
            case ("GET", ["files"]):
                await self._list_files(owner, query, send)
            case ("GET", ["files", file_id]):
                await _json(send, 200, (await self._own_file(file_id, owner)).public())
            case ("GET", ["files", file_id, "content"]):
                await self._content(await self._own_file(file_id, owner), send)
            case ("DELETE", ["files", file_id]):
                file = await self._own_file(file_id, owner)
                await self.storage.delete_file(file.id)
                await _json(send, 200, {"id": file.id, "object": "file", "deleted": True})
            case ("POST", ["batches"]):
                body = await _read_json(receive)
                await _json(send, 200, (await self._create(body, owner)).public())
            case ("GET", ["batches"]):
                await self._list_batches(owner, query, send)
            case ("GET", ["batches", batch_id]):
                batch, _ = await self._own_batch(batch_id, owner)
                await _json(send, 200, batch.public())
            case ("POST", ["batches", batch_id, "cancel"]):
                await _json(send, 200, (await self._cancel(batch_id, owner)).public())
            case (_, ["files", *_]) | (_, ["batches", *_]) if _known_path(parts):
                raise method_not_allowed(method, path)
            case _:
                raise unknown_url(method, path)

    # -- files ------------------------------------------------------------------------

    async def _upload(self, scope: Scope, owner: str, receive: Receive, send: Send) -> None:
        content_type = (_header(scope, b"content-type") or b"").decode("latin-1")
        try:
            upload = await read_upload(content_type, receive)
        except ClientGone:
            return
        try:
            purpose = upload.fields.get("purpose")
            if not purpose:
                raise missing("purpose")
            if purpose != "batch":
                raise invalid_value(
                    "purpose", f"'{purpose}' is not a purpose this server accepts; use 'batch'."
                )
            if upload.content is None:
                raise missing("file")
            now_ns = time.time_ns()
            record = FileRecord(
                id=records.new_file_id(now_ns),
                bytes=upload.size,
                created_at=now_ns // 1_000_000_000,
                filename=(upload.filename or "upload.jsonl")[:255],
                purpose="batch",
                owner=owner,
                lines=upload.lines,
            )
            await self.storage.save_file(record, upload.content)
        finally:
            if upload.content is not None:
                upload.content.close()
        await _json(send, 200, record.public())

    async def _own_file(self, file_id: str, owner: str) -> FileRecord:
        file = await self.storage.file(file_id)
        if file is None or file.owner != owner:
            raise no_such_file(file_id)
        return file

    async def _list_files(self, owner: str, query: dict[str, list[str]], send: Send) -> None:
        files = [f for f in await self.storage.files() if f.owner == owner]
        purpose = _one(query, "purpose")
        if purpose:
            files = [f for f in files if f.purpose == purpose]
        order = _one(query, "order") or "desc"
        if order not in ("asc", "desc"):
            raise invalid_value("order", "order must be 'asc' or 'desc'.")
        files.sort(key=lambda f: (f.created_at, f.id), reverse=order == "desc")
        limit = _limit(query, default=10_000, most=10_000)
        page = _after(files, _one(query, "after"), lambda f: f.id)
        await _json(send, 200, _page([f.public() for f in page[:limit]], len(page) > limit))

    async def _content(self, file: FileRecord, send: Send) -> None:
        content = await self.storage.file_content(file.id)
        try:
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [
                        (b"content-type", b"application/octet-stream"),
                        (b"content-length", str(file.bytes).encode()),
                    ],
                }
            )
            while chunk := content.read(_CHUNK):
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b""})
        finally:
            content.close()

    # -- batches ----------------------------------------------------------------------

    async def _create(self, body: Any, owner: str) -> BatchRecord:
        if not isinstance(body, dict):
            raise invalid_json("the body is not a JSON object")
        input_file_id = body.get("input_file_id")
        if not isinstance(input_file_id, str) or not input_file_id:
            raise missing("input_file_id")
        endpoint = body.get("endpoint")
        if endpoint is None:
            raise missing("endpoint")
        if endpoint not in BATCH_ENDPOINTS:
            raise invalid_value(
                "endpoint", f"endpoint must be one of {', '.join(BATCH_ENDPOINTS)}."
            )
        window = body.get("completion_window")
        if window is None:
            raise missing("completion_window")
        if window not in COMPLETION_WINDOWS:
            raise invalid_value("completion_window", "completion_window must be '24h'.")
        metadata = _metadata(body.get("metadata"))
        file = await self.storage.file(input_file_id)
        if file is None or file.owner != owner:
            raise no_such_file(input_file_id)
        if file.purpose != "batch":
            raise ProxyError(
                400,
                f"The file {input_file_id} has purpose '{file.purpose}'; a batch reads a file "
                "uploaded with purpose 'batch'.",
                code="invalid_file_purpose",
                param="input_file_id",
            )
        now_ns = time.time_ns()
        now = now_ns // 1_000_000_000
        batch = BatchRecord(
            id=records.new_batch_id(now_ns),
            endpoint=endpoint,
            input_file_id=input_file_id,
            completion_window=window,
            created_at=now,
            expires_at=now + max(1, round(self.window_s)),
            owner=owner,
            metadata=metadata,
        )
        await self.storage.create_batch(batch)
        await self.events.announce(batch)
        self.dispatcher.wake()
        return batch

    async def _own_batch(self, batch_id: str, owner: str) -> tuple[BatchRecord, int]:
        found = await self.storage.batch(batch_id)
        if found is None or found[0].owner != owner:
            raise no_such_batch(batch_id)
        return found

    async def _cancel(self, batch_id: str, owner: str) -> BatchRecord:
        while True:
            batch, revision = await self._own_batch(batch_id, owner)
            if batch.status in ("cancelling", "cancelled"):
                return batch
            try:
                updated = records.cancelling(batch, int(time.time()))
            except InvalidTransition:
                raise ProxyError(
                    409,
                    f"Cannot cancel a batch with status '{batch.status}'.",
                    code="batch_not_cancellable",
                ) from None
            try:
                await self.storage.update_batch(updated, revision)
            except Conflict:
                continue
            self.dispatcher.wake()
            return updated

    async def _list_batches(self, owner: str, query: dict[str, list[str]], send: Send) -> None:
        batches = [b for b in await self.storage.batches() if b.owner == owner]
        batches.sort(key=lambda b: (b.created_at, b.id), reverse=True)
        limit = _limit(query, default=20, most=100)
        page = _after(batches, _one(query, "after"), lambda b: b.id)
        await _json(send, 200, _page([b.public() for b in page[:limit]], len(page) > limit))


def _metadata(value: Any) -> dict[str, str] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise invalid_value("metadata", "metadata must be an object of strings.")
    if len(value) > MAX_METADATA_PAIRS:
        raise invalid_value("metadata", f"metadata holds at most {MAX_METADATA_PAIRS} pairs.")
    for key, item in value.items():
        if len(key) > MAX_METADATA_KEY or not isinstance(item, str):
            raise invalid_value(
                "metadata",
                f"metadata keys hold at most {MAX_METADATA_KEY} characters and values "
                "must be strings.",
            )
        if len(item) > MAX_METADATA_VALUE:
            raise invalid_value(
                "metadata", f"metadata values hold at most {MAX_METADATA_VALUE} characters."
            )
    return dict(value)


def _known_path(parts: list[str]) -> bool:
    return len(parts) <= 3


def _one(query: dict[str, list[str]], name: str) -> str | None:
    values = query.get(name)
    return values[0] if values else None


def _limit(query: dict[str, list[str]], *, default: int, most: int) -> int:
    raw = _one(query, "limit")
    if raw is None:
        return default
    try:
        limit = int(raw)
    except ValueError:
        limit = 0
    if not 1 <= limit <= most:
        raise invalid_value("limit", f"limit must be an integer from 1 to {most}.")
    return limit


def _after(items: list[T], after: str | None, key: Callable[[T], str]) -> list[T]:
    if not after:
        return items
    for position, item in enumerate(items):
        if key(item) == after:
            return items[position + 1 :]
    return []


def _page(data: list[dict[str, Any]], has_more: bool) -> dict[str, Any]:
    return {
        "object": "list",
        "data": data,
        "first_id": data[0]["id"] if data else None,
        "last_id": data[-1]["id"] if data else None,
        "has_more": has_more,
    }


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value)
    return None


async def _read_json(receive: Receive) -> Any:
    body = bytearray()
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone
        body += message.get("body", b"")
        if len(body) > MAX_JSON_BODY:
            raise ProxyError(413, "The request body is too large.", code="request_too_large")
        if not message.get("more_body", False):
            break
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise invalid_json(str(exc).split(":", 1)[0]) from None


async def _json(send: Send, status: int, payload: Any) -> None:
    body = orjson.dumps(payload)
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
