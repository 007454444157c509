"""Log lines carry the fields bound to the work at hand, and never a secret."""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from collections.abc import Iterator

import pytest

from lc_runtime.logs import ConsoleFormatter, JsonFormatter, bind, configure_logging


class Stderr:
    def __init__(self, capsys: pytest.CaptureFixture[str]) -> None:
        self._capsys = capsys
        self._text = ""

    def getvalue(self) -> str:
        self._text += self._capsys.readouterr().err
        return self._text


@pytest.fixture
def stderr(capsys: pytest.CaptureFixture[str]) -> Iterator[Stderr]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        yield Stderr(capsys)
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


def lines(buffer: Stderr) -> list[dict[str, object]]:
    return [json.loads(line) for line in buffer.getvalue().splitlines()]


def test_a_json_line_has_the_bound_fields_of_the_event_being_handled(stderr: Stderr) -> None:
    configure_logging("INFO", "json")
    log = logging.getLogger("lc_test.worker")
    with bind(event_id="e-1", subject="lc.events.domain.d1", seq=7):
        log.info("domain verified", extra={"domain_id": "d1"})
        with bind(seq=8):
            log.info("inner")
    log.info("outside")
    first, inner, outside = lines(stderr)
    assert first["message"] == "domain verified"
    assert first["level"] == "info"
    assert first["logger"] == "lc_test.worker"
    assert {k: first[k] for k in ("event_id", "subject", "seq", "domain_id")} == {
        "event_id": "e-1",
        "subject": "lc.events.domain.d1",
        "seq": 7,
        "domain_id": "d1",
    }
    assert inner["seq"] == 8
    assert inner["event_id"] == "e-1"
    assert "seq" not in outside


async def test_fields_bound_in_a_task_stay_in_that_task(stderr: Stderr) -> None:
    configure_logging("INFO", "json")
    log = logging.getLogger("lc_test.tasks")

    async def handle(seq: int) -> None:
        with bind(seq=seq):
            await asyncio.sleep(0)
            log.info("handled")

    await asyncio.gather(handle(1), handle(2))
    assert sorted(line["seq"] for line in lines(stderr)) == [1, 2]  # type: ignore[type-var]


def test_secrets_are_masked_and_token_counts_are_not(stderr: Stderr) -> None:
    configure_logging("DEBUG", "json")
    with bind(authorization="Bearer sk-live"):
        logging.getLogger("lc_test").debug(
            "x", extra={"challenge_token": "abc123", "completion_tokens": 5}
        )
    (line,) = lines(stderr)
    assert "sk-live" not in stderr.getvalue()
    assert "abc123" not in stderr.getvalue()
    assert line["authorization"] == "***"
    assert line["challenge_token"] == "***"
    assert line["completion_tokens"] == 5


def test_fields_passed_as_a_dict_are_flattened_and_exceptions_printed() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        record = logging.getLogger("lc_test").makeRecord(
            "lc_test", logging.ERROR, __file__, 1, "failed", (), exc_info=sys.exc_info()
        )
    record.fields = {"name": "m", "status": 502}
    line = json.loads(JsonFormatter().format(record))
    assert line["name"] == "m"
    assert line["status"] == 502
    assert "ValueError: boom" in line["exception"]
    text = ConsoleFormatter().format(record)
    assert text.splitlines()[0].endswith("lc_test: failed  name=m status=502")
    assert "ValueError: boom" in text


def test_the_console_format_is_one_readable_line(stderr: Stderr) -> None:
    configure_logging("INFO", "console")
    with bind(seq=3):
        logging.getLogger("lc_test").warning("slow", extra={"after_s": 2})
    (text,) = stderr.getvalue().splitlines()
    assert "warning lc_test: slow  seq=3 after_s=2" in text
