"""Moments an auditor names: a stream sequence or an RFC 3339 time with its zone.

Pure. Callers: the audit routes and `lc state` / `lc diff` (through the API).
"""

from __future__ import annotations

from datetime import datetime
from typing import NoReturn

from lc_api.domain.errors import FieldError, InvalidCommand
from lc_api.domain.validation import pointer


def parse_moment(text: str, parameter: str) -> int | datetime:
    """`text` as a stream sequence (digits) or an aware time. Anything else is refused
    (InvalidCommand naming the query parameter); a time without a zone is refused rather
    than guessed."""
    value = text.strip()
    if value.isdigit():
        return int(value)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        _refuse(parameter, f"'{text}' is neither a stream sequence nor an RFC 3339 time")
    if moment.utcoffset() is None:
        _refuse(parameter, f"'{text}' has no time zone; add Z or an offset such as +02:00")
    return moment


def _refuse(parameter: str, detail: str) -> NoReturn:
    raise InvalidCommand(detail, [FieldError(pointer(("query", parameter)), detail)])
