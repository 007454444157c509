"""The pure cores of the Batch API: input validation, the state machine, output lines
and admission (no I/O)."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest

from lc_proxy import batch_records as records
from lc_proxy.batch_admission import batch_budget, next_turn
from lc_proxy.batch_input import MAX_REPORTED_ERRORS, parse_input
from lc_proxy.batch_output import LineResult, answered, file_line, not_answered
from lc_proxy.batch_records import BatchRecord, InvalidTransition, LineError, RequestCounts

CHAT = "/v1/chat/completions"


def line(custom_id: str = "a", **overrides: Any) -> dict[str, Any]:
    value: dict[str, Any] = {
        "custom_id": custom_id,
        "method": "POST",
        "url": CHAT,
        "body": {"model": "m", "messages": []},
    }
    value.update(overrides)
    return value


def data(*lines: Any) -> bytes:
    return b"\n".join(x if isinstance(x, bytes) else json.dumps(x).encode() for x in lines)


def errors_of(
    raw: bytes, routable: frozenset[str] = frozenset({"m"})
) -> list[tuple[str, int | None, str | None]]:
    found = parse_input(raw, CHAT, lambda model: model in routable)
    assert isinstance(found, tuple), found
    return [(e.code, e.line, e.param) for e in found]


def test_valid_lines_become_requests_in_order_skipping_blank_lines() -> None:
    found = parse_input(data(line("a"), b"", line("b")), CHAT, lambda _: True)
    assert isinstance(found, list)
    assert [(r.index, r.custom_id, r.model) for r in found] == [(0, "a", "m"), (1, "b", "m")]
    assert json.loads(found[0].body) == {"model": "m", "messages": []}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"{not json", ("invalid_json_line", 1, None)),
        (b"[1]", ("invalid_json_line", 1, None)),
        (data({**line(), "custom_id": ""}), ("missing_required_parameter", 1, "custom_id")),
        (data(line("a"), line("a")), ("duplicate_custom_id", 2, "custom_id")),
        (data(line(method="GET")), ("invalid_method", 1, "method")),
        (data(line(url="/v1/embeddings")), ("mismatched_url", 1, "url")),
        (data(line(body=[])), ("invalid_request", 1, "body")),
        (data(line(body={"messages": []})), ("missing_required_parameter", 1, "body.model")),
        (data(line(body={"model": "m", "stream": True})), ("invalid_value", 1, "body.stream")),
        (data(line(body={"model": "nope"})), ("model_not_found", 1, "body.model")),
    ],
)
def test_each_bad_line_fails_the_batch_with_its_line_and_param(
    raw: bytes, expected: tuple[str, int, str | None]
) -> None:
    assert errors_of(raw) == [expected]


def test_an_empty_file_fails_and_errors_are_capped() -> None:
    assert errors_of(b"\n\n") == [("empty_file", None, None)]
    many = data(*[b"x"] * (MAX_REPORTED_ERRORS + 10))
    assert len(errors_of(many)) == MAX_REPORTED_ERRORS


def batch(**changes: Any) -> BatchRecord:
    base = BatchRecord(
        id="batch_1",
        endpoint=CHAT,
        input_file_id="file-1",
        completion_window="24h",
        created_at=100,
        expires_at=200,
        owner="",
    )
    return replace(base, **changes)


def test_the_happy_path_sets_each_timestamp() -> None:
    b = records.started(batch(), 101, total=3)
    assert (b.status, b.in_progress_at, b.request_counts.total) == ("in_progress", 101, 3)
    b = records.finalizing(b, 102)
    b = records.ended(
        b,
        103,
        output_file_id="file-o",
        error_file_id=None,
        counts=RequestCounts(3, 3, 0),
        prompt_tokens=5,
        completion_tokens=7,
    )
    shown = b.public()
    assert shown["status"] == "completed"
    assert (shown["finalizing_at"], shown["completed_at"]) == (102, 103)
    assert shown["request_counts"] == {"total": 3, "completed": 3, "failed": 0}
    assert shown["usage"]["total_tokens"] == 12
    assert "owner" not in shown


def test_every_field_of_openais_batch_object_is_shown() -> None:
    assert set(batch().public()) >= {
        "id", "object", "endpoint", "errors", "input_file_id", "completion_window", "status",
        "output_file_id", "error_file_id", "created_at", "in_progress_at", "expires_at",
        "finalizing_at", "completed_at", "failed_at", "expired_at", "cancelling_at",
        "cancelled_at", "request_counts", "metadata",
    }  # fmt: skip


def test_failed_validation_shows_its_errors_as_a_list() -> None:
    b = records.failed(batch(), 101, (LineError("duplicate_custom_id", "dup", 2, "custom_id"),))
    assert b.public()["errors"] == {
        "object": "list",
        "data": [
            {"code": "duplicate_custom_id", "message": "dup", "line": 2, "param": "custom_id"}
        ],
    }
    assert BatchRecord.from_json(b.to_json()) == b


def test_cancel_goes_through_cancelling_and_ended_batches_refuse_it() -> None:
    b = records.cancelling(records.started(batch(), 101, 3), 102)
    assert b.status == "cancelling"
    b = records.ended(
        b, 103, output_file_id=None, error_file_id=None, counts=RequestCounts(3, 1, 0),
        prompt_tokens=0, completion_tokens=0,
    )  # fmt: skip
    assert (b.status, b.cancelled_at) == ("cancelled", 103)
    with pytest.raises(InvalidTransition):
        records.cancelling(b, 104)
    with pytest.raises(InvalidTransition):
        records.finalizing(batch(), 101)


def test_an_expired_batch_keeps_its_status_when_its_files_are_written() -> None:
    b = records.expiring(records.started(batch(), 101, 3), 300)
    b = records.ended(
        b, 301, output_file_id="o", error_file_id="e", counts=RequestCounts(3, 1, 2),
        prompt_tokens=0, completion_tokens=0,
    )  # fmt: skip
    assert (b.status, b.expired_at, b.error_file_id) == ("expired", 300, "e")


def test_answers_go_to_the_output_or_error_file_in_input_order() -> None:
    ok = answered("a", 200, "r1", b'{"usage": {"prompt_tokens": 2, "completion_tokens": 3}}')
    bad = answered("b", 400, "r2", b'{"error": {"message": "no"}}')
    gone = not_answered("c", "batch_expired", "too late")
    assert (ok.succeeded, ok.prompt_tokens, ok.completion_tokens) == (True, 2, 3)
    assert bad.line["response"]["status_code"] == 400
    assert not bad.succeeded
    assert bad.prompt_tokens == 0
    assert gone.line["response"] is None
    assert gone.line["error"] == {"code": "batch_expired", "message": "too late"}
    assert LineResult.from_bytes(ok.to_bytes()) == ok
    written = file_line(ok)
    assert written.endswith(b"\n")
    assert written.count(b"\n") == 1
    assert json.loads(written)["id"].startswith("batch_req_")


def test_the_batch_budget_shrinks_while_interactive_requests_are_in_flight() -> None:
    assert batch_budget(replicas=2, per_replica=4, interactive_in_flight=0) == 8
    assert batch_budget(replicas=2, per_replica=4, interactive_in_flight=5) == 3
    assert batch_budget(replicas=2, per_replica=4, interactive_in_flight=20) == 0


def test_batches_step_back_to_their_share_while_interactive_traffic_is_active() -> None:
    quiet = batch_budget(replicas=2, per_replica=8, interactive_in_flight=0, busy_share=0.25)
    assert quiet == 16
    active = batch_budget(
        replicas=2, per_replica=8, interactive_in_flight=0, interactive_active=True, busy_share=0.25
    )
    assert active == 4
    assert batch_budget(replicas=2, per_replica=8, interactive_in_flight=1, busy_share=0.25) == 3
    # a model with little capacity still moves its batch while traffic is light
    assert (
        batch_budget(
            replicas=1, per_replica=2, interactive_in_flight=0, interactive_active=True,
            busy_share=0.25,
        )
        == 1
    )  # fmt: skip


def test_batches_take_turns_and_those_without_room_are_skipped() -> None:
    batches = ["big", "small", "other-model"]
    assert next_turn(batches, 0, lambda _: True) == ("big", 1)
    assert next_turn(batches, 1, lambda _: True) == ("small", 2)
    assert next_turn(batches, 2, lambda b: b != "other-model") == ("big", 1)
    assert next_turn(batches, 0, lambda _: False) is None
    order = []
    start = 0
    for _ in range(6):
        turn = next_turn(batches, start, lambda _: True)
        assert turn is not None
        chosen, start = turn
        order.append(chosen)
    assert order == batches * 2


def test_ids_made_within_one_second_sort_in_creation_order() -> None:
    second = 1_790_000_000 * 1_000_000_000
    times = [second + step * 1_000 for step in range(200)]
    for new_id in (records.new_batch_id, records.new_file_id):
        made = [new_id(now_ns) for now_ns in times]
        assert sorted(made) == made
        assert len(set(made)) == len(made)


def test_ids_made_at_one_instant_differ() -> None:
    assert records.new_batch_id(0) != records.new_batch_id(0)
