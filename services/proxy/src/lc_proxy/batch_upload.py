"""Reading a `POST /v1/files` upload as it arrives: multipart parsed chunk by chunk.

Who calls it: `batch_api` for every upload. The `file` part streams into a spool file
(in memory up to 1 MiB, on disk beyond), counting bytes and lines on the way, so a
200 MB file never sits in memory; the other fields (`purpose`) are small and kept as
text. Limits are OpenAI's: `MAX_FILE_BYTES` and `MAX_FILE_LINES`, 413 beyond.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import IO, Any, Final

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header

from lc_proxy.batch_storage import spool
from lc_proxy.openai_errors import ProxyError

MAX_FILE_BYTES: Final = 200 * 1024 * 1024
MAX_FILE_LINES: Final = 50_000
_MAX_FIELD: Final = 1024

Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]


class ClientGone(Exception):
    """The client went away before its upload ended."""


@dataclass
class Upload:
    fields: dict[str, str] = field(default_factory=dict)
    filename: str | None = None
    content: IO[bytes] | None = None
    size: int = 0
    lines: int = 0
    last_byte: bytes = b""


def too_large(what: str) -> ProxyError:
    return ProxyError(
        413,
        f"The file is larger than the limit of {what}. Split it into several batches.",
        code="file_too_large",
        param="file",
    )


class _Parser:
    def __init__(self, upload: Upload, max_bytes: int, max_lines: int) -> None:
        self.upload = upload
        self.max_bytes = max_bytes
        self.max_lines = max_lines
        self._header_field = b""
        self._header_value = b""
        self._name: str | None = None
        self._filename: str | None = None
        self._text = bytearray()

    def on_part_begin(self) -> None:
        self._name = self._filename = None
        self._text = bytearray()

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_field += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def on_header_end(self) -> None:
        if self._header_field.lower() == b"content-disposition":
            _, options = parse_options_header(self._header_value)
            name = options.get(b"name")
            filename = options.get(b"filename")
            self._name = name.decode("utf-8", "replace") if name is not None else None
            self._filename = filename.decode("utf-8", "replace") if filename is not None else None
        self._header_field = self._header_value = b""

    def on_headers_finished(self) -> None:
        if self._name == "file":
            if self.upload.content is not None:
                raise ProxyError(400, "Send one file per upload.", code="invalid_multipart")
            self.upload.content = spool()
            self.upload.filename = self._filename or "upload.jsonl"

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        chunk = data[start:end]
        content = self.upload.content
        if self._name == "file" and content is not None:
            upload = self.upload
            upload.size += len(chunk)
            if upload.size > self.max_bytes:
                raise too_large(f"{self.max_bytes} bytes")
            upload.lines += chunk.count(b"\n")
            if chunk:
                upload.last_byte = chunk[-1:]
            if upload.lines > self.max_lines:
                raise too_large(f"{self.max_lines} lines")
            content.write(chunk)
        elif self._name is not None:
            self._text += chunk
            if len(self._text) > _MAX_FIELD:
                raise ProxyError(
                    400, f"The field `{self._name}` is too long.", code="invalid_multipart"
                )

    def on_part_end(self) -> None:
        if self._name is not None and self._name != "file":
            self.upload.fields[self._name] = self._text.decode("utf-8", "replace").strip()


async def read_upload(
    content_type: str,
    receive: Receive,
    *,
    max_bytes: int = MAX_FILE_BYTES,
    max_lines: int = MAX_FILE_LINES,
) -> Upload:
    """The fields and the spooled `file` of a multipart upload; ProxyError if unusable."""
    kind, options = parse_options_header(content_type)
    boundary = options.get(b"boundary")
    if kind != b"multipart/form-data" or not boundary:
        raise ProxyError(
            400,
            "Upload files as multipart/form-data with a `file` and a `purpose` field.",
            code="invalid_multipart",
        )
    upload = Upload()
    handler = _Parser(upload, max_bytes, max_lines)
    callbacks: Any = {
        name: getattr(handler, name)
        for name in (
            "on_part_begin",
            "on_header_field",
            "on_header_value",
            "on_header_end",
            "on_headers_finished",
            "on_part_data",
            "on_part_end",
        )
    }
    parser = MultipartParser(boundary, callbacks)
    try:
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise ClientGone
            parser.write(message.get("body", b""))
            if not message.get("more_body", False):
                break
        parser.finalize()
    except FormParserError as exc:
        if upload.content is not None:
            upload.content.close()
        raise ProxyError(
            400, f"The multipart body cannot be read ({exc}).", code="invalid_multipart"
        ) from None
    except BaseException:
        if upload.content is not None:
            upload.content.close()
        raise
    if upload.size and upload.last_byte != b"\n":
        upload.lines += 1
        if upload.lines > max_lines:
            upload.content.close()  # type: ignore[union-attr]
            raise too_large(f"{max_lines} lines")
    return upload
