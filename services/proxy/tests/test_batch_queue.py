"""A batch's input read as it streams: the same rules as a file held whole, with memory
bounded by the index, not by the file (local spool files; no servers)."""

from __future__ import annotations

import io
import json
import tempfile
import tracemalloc

from hypothesis import given
from hypothesis import strategies as st

from lc_proxy.batch_input import file_lines, parse_input
from lc_proxy.batch_queue import RequestQueue

CHAT = "/v1/chat/completions"


def request_line(i: int, padding: int = 0) -> bytes:
    body = {"model": "m", "messages": [{"role": "user", "content": f"{i} " + "x" * padding}]}
    return json.dumps({"custom_id": f"r-{i}", "method": "POST", "url": CHAT, "body": body}).encode()


@given(st.lists(st.sampled_from([b"a", b"", b"\n", b"\r", b"\r\n", b"{}", b" "]), max_size=12))
def test_a_file_read_line_by_line_splits_as_the_whole_file_would(parts: list[bytes]) -> None:
    data = b"".join(parts)
    assert list(file_lines(io.BytesIO(data))) == data.splitlines()


def test_the_queue_holds_the_same_requests_and_bodies_as_the_whole_file() -> None:
    data = b"\n".join([request_line(0), b"", request_line(1), request_line(2, padding=3000)])
    whole = parse_input(data, CHAT, lambda _: True)
    assert isinstance(whole, list)
    queue = RequestQueue.read(io.BytesIO(data), CHAT, lambda _: True)
    assert isinstance(queue, RequestQueue)
    try:
        assert [(r.index, r.custom_id, r.model) for r in queue.requests] == [
            (r.index, r.custom_id, r.model) for r in whole
        ]
        # Bodies read back in any order are the ones a whole file gives.
        for queued in reversed(queue.requests):
            assert queue.body(queued) == whole[queued.index].body
    finally:
        queue.close()


def test_a_bad_line_fails_the_streamed_file_with_its_line_number() -> None:
    data = b"\r\n".join([request_line(0), b"", b"{not json", request_line(0)])
    errors = RequestQueue.read(io.BytesIO(data), CHAT, lambda _: True)
    assert isinstance(errors, tuple)
    assert [(e.code, e.line) for e in errors] == [
        ("invalid_json_line", 3),
        ("duplicate_custom_id", 4),
    ]
    assert errors == parse_input(data, CHAT, lambda _: True)


def test_a_large_file_is_validated_and_queued_without_being_held_in_memory() -> None:
    lines, padding = 4000, 5000  # about 20 MB
    with tempfile.TemporaryFile() as content:
        for i in range(lines):
            content.write(request_line(i, padding) + b"\n")
        size = content.tell()
        content.seek(0)
        tracemalloc.start()
        try:
            queue = RequestQueue.read(content, CHAT, lambda _: True)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert isinstance(queue, RequestQueue)
    try:
        assert len(queue.requests) == lines
        assert size > 20_000_000
        # The index of 4,000 requests and a spool's 1 MiB in memory, not the 20 MB read.
        assert peak < 4_000_000, peak
        last = queue.requests[-1]
        assert json.loads(queue.body(last))["messages"][0]["content"].startswith("3999 ")
    finally:
        queue.close()
