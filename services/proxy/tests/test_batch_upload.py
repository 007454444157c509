"""Reading an upload as it arrives: the limits hold without reading the file whole."""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

import pytest

from lc_proxy.batch_upload import read_upload
from lc_proxy.openai_errors import ProxyError

BOUNDARY = "b0undary"
CONTENT_TYPE = f"multipart/form-data; boundary={BOUNDARY}"


def body(content: bytes, purpose: str = "batch") -> bytes:
    return (
        (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="purpose"\r\n\r\n{purpose}\r\n'
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="in.jsonl"\r\n'
            "Content-Type: application/jsonl\r\n\r\n"
        ).encode()
        + content
        + f"\r\n--{BOUNDARY}--\r\n".encode()
    )


def receiver(data: bytes, chunk: int = 7) -> Any:
    pieces = [data[i : i + chunk] for i in range(0, len(data), chunk)]
    sent = 0

    async def receive() -> MutableMapping[str, Any]:
        nonlocal sent
        piece = pieces[sent]
        sent += 1
        return {"type": "http.request", "body": piece, "more_body": sent < len(pieces)}

    receive.sent = lambda: sent  # type: ignore[attr-defined]
    return receive


async def test_fields_and_file_arrive_in_small_chunks() -> None:
    upload = await read_upload(CONTENT_TYPE, receiver(body(b'{"a": 1}\n{"b": 2}')))
    assert upload.fields == {"purpose": "batch"}
    assert upload.filename == "in.jsonl"
    assert (upload.size, upload.lines) == (17, 2)
    assert upload.content is not None
    upload.content.seek(0)
    assert upload.content.read() == b'{"a": 1}\n{"b": 2}'


async def test_too_many_bytes_is_413_before_the_rest_is_read() -> None:
    receive = receiver(body(b"x" * 1000), chunk=50)
    with pytest.raises(ProxyError) as caught:
        await read_upload(CONTENT_TYPE, receive, max_bytes=100)
    assert caught.value.status == 413
    assert receive.sent() < 10


async def test_too_many_lines_is_413() -> None:
    with pytest.raises(ProxyError) as caught:
        await read_upload(CONTENT_TYPE, receiver(body(b"{}\n" * 5 + b"{}")), max_lines=5)
    assert caught.value.status == 413
    upload = await read_upload(CONTENT_TYPE, receiver(body(b"{}\n" * 5)), max_lines=5)
    assert upload.lines == 5


async def test_a_body_that_is_not_multipart_is_400() -> None:
    with pytest.raises(ProxyError) as caught:
        await read_upload("application/json", receiver(b"{}"))
    assert caught.value.status == 400


async def test_a_broken_multipart_body_is_400() -> None:
    broken = f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"\r\n'.encode()
    with pytest.raises(ProxyError) as caught:
        await read_upload(CONTENT_TYPE, receiver(broken + b"no blank line, no end"))
    assert caught.value.status == 400
    with pytest.raises(ProxyError) as garbage:
        await read_upload(CONTENT_TYPE, receiver(b"this is not multipart at all"))
    assert garbage.value.status == 400
