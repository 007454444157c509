"""Structured logs for every service: one JSON object per line in production, readable
`key=value` text in a terminal, with fields bound to the work at hand.

Who calls it: each service's `main` calls `configure_logging` once; workers wrap the
handling of one event in `with bind(event_id=..., subject=..., seq=...)`, so every line
logged meanwhile (by them or by the libraries they call) carries those fields. Code that
logs passes its own fields as `extra={...}`, or as `extra={"fields": {...}}` when a name
would clash with a `LogRecord` attribute.

Every line has `time`, `level`, `logger` and `message`, then the bound fields, then the
record's own, then `exception` when there is one. A field whose name says it holds a
secret (password, token, key, authorization, cookie) is printed as `"***"`.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sys
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any, Literal

LogFormat = Literal["json", "console"]

REDACTED = "***"
_SECRET_WORDS = ("password", "secret", "token", "api_key", "apikey", "authorization", "cookie")

# Attributes every LogRecord has; anything else on a record came from `extra` or `bind`.
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}

_bound: ContextVar[Mapping[str, Any]] = ContextVar(
    "lc_runtime_bound_log_fields", default=MappingProxyType({})
)


_factory_installed = False


def _install_record_factory() -> None:
    """Have every record created from now on carry the fields bound where it was logged,
    whichever handler (a stream, pytest's caplog) formats it later."""
    global _factory_installed
    if _factory_installed:
        return
    previous = logging.getLogRecordFactory()

    def record_with_bound_fields(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        bound = _bound.get()
        if bound:
            record.lc_bound = bound
        return record

    logging.setLogRecordFactory(record_with_bound_fields)
    _factory_installed = True


@contextlib.contextmanager
def bind(**fields: Any) -> Iterator[None]:
    """Add `fields` to every line logged in this block (and in tasks it starts)."""
    _install_record_factory()
    token = _bound.set({**_bound.get(), **fields})
    try:
        yield
    finally:
        _bound.reset(token)


def bound_fields() -> Mapping[str, Any]:
    """The fields `bind` holds in the current context."""
    return _bound.get()


def _is_secret(name: str) -> bool:
    lowered = name.lower()
    return any(word in lowered for word in _SECRET_WORDS) and not lowered.endswith(
        ("_count", "_tokens", "tokens")
    )


def fields_of(record: logging.LogRecord) -> dict[str, Any]:
    """The structured fields of `record`: bound ones, then its `extra`, secrets masked."""
    fields: dict[str, Any] = dict(getattr(record, "lc_bound", None) or {})
    for name, value in vars(record).items():
        if name in _STANDARD or name == "lc_bound":
            continue
        if name == "fields" and isinstance(value, dict):
            fields.update(value)
        else:
            fields[name] = value
    return {name: REDACTED if _is_secret(name) else value for name, value in fields.items()}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            **fields_of(record),
        }
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


class ConsoleFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        stamp = datetime.fromtimestamp(record.created).strftime("%H:%M:%S.%f")[:-3]
        text = f"{stamp} {record.levelname.lower():<7} {record.name}: {record.getMessage()}"
        pairs = " ".join(f"{k}={v}" for k, v in fields_of(record).items())
        if pairs:
            text = f"{text}  {pairs}"
        if record.exc_info:
            text = f"{text}\n{self.formatException(record.exc_info)}"
        return text


def default_format() -> LogFormat:
    """Readable text when a person watches stderr, JSON lines when a collector reads it."""
    return "console" if sys.stderr.isatty() else "json"


def configure_logging(level: str | int = "INFO", log_format: LogFormat | None = None) -> None:
    """Send every logger's records to stderr in `log_format` (by default: `default_format`)."""
    # The logging HOWTO's "Optimization" switches: neither format prints the caller, the
    # thread or the process, so no record pays for looking them up.
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    handler = logging.StreamHandler(sys.stderr)
    chosen = log_format or default_format()
    handler.setFormatter(JsonFormatter() if chosen == "json" else ConsoleFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper() if isinstance(level, str) else level)
