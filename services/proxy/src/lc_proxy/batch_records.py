"""The file and batch objects of OpenAI's Files and Batch APIs, and the batch's states.

Who calls it: the HTTP handlers (`batch_api`) build and show these records; the
dispatcher (`batch_dispatcher`) moves a batch through its states with the transition
functions here. Pure: no I/O, time is passed in (`now`, Unix seconds).

States, as OpenAI's:

    validating ──► in_progress ──► finalizing ──► completed
        │              │  │
        ▼              │  └──► expired (the completion window passed)
      failed           └──► cancelling ──► cancelled
    (validating and in_progress may also go to cancelling or expired)

A transition that the state machine does not allow raises `InvalidTransition`; the HTTP
layer answers 409 for a cancel of a batch that already ended.
"""

from __future__ import annotations

import secrets
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Final, Literal

BatchStatus = Literal[
    "validating",
    "failed",
    "in_progress",
    "finalizing",
    "completed",
    "expired",
    "cancelling",
    "cancelled",
]
FilePurpose = Literal["batch", "batch_output"]

BATCH_ENDPOINTS: Final = ("/v1/chat/completions", "/v1/completions", "/v1/embeddings")
COMPLETION_WINDOWS: Final = ("24h",)
MAX_METADATA_PAIRS: Final = 16
MAX_METADATA_KEY: Final = 64
MAX_METADATA_VALUE: Final = 512
ENDED: Final[frozenset[str]] = frozenset({"failed", "completed", "expired", "cancelled"})

_ALLOWED: Final[dict[str, frozenset[str]]] = {
    "validating": frozenset({"in_progress", "failed", "cancelling", "expired"}),
    "in_progress": frozenset({"finalizing", "cancelling", "expired"}),
    "finalizing": frozenset({"completed"}),
    "cancelling": frozenset({"cancelled"}),
    "failed": frozenset(),
    "completed": frozenset(),
    "expired": frozenset(),
    "cancelled": frozenset(),
}


class InvalidTransition(Exception):
    def __init__(self, current: str, wanted: str) -> None:
        super().__init__(f"a batch that is {current} cannot become {wanted}")
        self.current = current
        self.wanted = wanted


def new_file_id(now_ns: int) -> str:
    """An unguessable file id that sorts in creation order."""
    return f"file-{_ordered_token(now_ns)}"


def new_batch_id(now_ns: int) -> str:
    """An unguessable batch id that sorts in creation order."""
    return f"batch_{_ordered_token(now_ns)}"


def _ordered_token(now_ns: int) -> str:
    """The creation time in microseconds (14 hex digits) then 128 random bits.

    Lists sort by (created_at, id); `created_at` counts whole seconds, so the time
    prefix is what keeps two objects made within one second in creation order."""
    return f"{now_ns // 1000:014x}{secrets.token_hex(16)}"


@dataclass(frozen=True)
class FileRecord:
    id: str
    bytes: int
    created_at: int
    filename: str
    purpose: FilePurpose
    owner: str
    """Digest of the API key that created it ("" without keys); never shown."""
    lines: int = 0

    def public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "file",
            "bytes": self.bytes,
            "created_at": self.created_at,
            "expires_at": None,
            "filename": self.filename,
            "purpose": self.purpose,
            "status": "processed",
            "status_details": None,
        }

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FileRecord:
        return cls(**data)


@dataclass(frozen=True)
class LineError:
    """One entry of a failed batch's `errors.data`."""

    code: str
    message: str
    line: int | None = None
    param: str | None = None


@dataclass(frozen=True)
class RequestCounts:
    total: int = 0
    completed: int = 0
    failed: int = 0


@dataclass(frozen=True)
class BatchRecord:
    id: str
    endpoint: str
    input_file_id: str
    completion_window: str
    created_at: int
    expires_at: int
    owner: str
    """Digest of the API key that created it ("" without keys); never shown."""
    metadata: dict[str, str] | None = None
    status: BatchStatus = "validating"
    errors: tuple[LineError, ...] = ()
    output_file_id: str | None = None
    error_file_id: str | None = None
    in_progress_at: int | None = None
    finalizing_at: int | None = None
    completed_at: int | None = None
    failed_at: int | None = None
    expired_at: int | None = None
    cancelling_at: int | None = None
    cancelled_at: int | None = None
    request_counts: RequestCounts = field(default_factory=RequestCounts)
    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def ended(self) -> bool:
        return self.status in ENDED

    def public(self) -> dict[str, Any]:
        counts = self.request_counts
        return {
            "id": self.id,
            "object": "batch",
            "endpoint": self.endpoint,
            "errors": None
            if not self.errors
            else {"object": "list", "data": [asdict(e) for e in self.errors]},
            "input_file_id": self.input_file_id,
            "completion_window": self.completion_window,
            "status": self.status,
            "output_file_id": self.output_file_id,
            "error_file_id": self.error_file_id,
            "created_at": self.created_at,
            "in_progress_at": self.in_progress_at,
            "expires_at": self.expires_at,
            "finalizing_at": self.finalizing_at,
            "completed_at": self.completed_at,
            "failed_at": self.failed_at,
            "expired_at": self.expired_at,
            "cancelling_at": self.cancelling_at,
            "cancelled_at": self.cancelled_at,
            "request_counts": {
                "total": counts.total,
                "completed": counts.completed,
                "failed": counts.failed,
            },
            "usage": {
                "input_tokens": self.prompt_tokens,
                "output_tokens": self.completion_tokens,
                "total_tokens": self.prompt_tokens + self.completion_tokens,
                "input_tokens_details": {"cached_tokens": 0},
                "output_tokens_details": {"reasoning_tokens": 0},
            },
            "metadata": self.metadata,
        }

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> BatchRecord:
        values = dict(data)
        values["errors"] = tuple(LineError(**e) for e in values.get("errors", ()))
        values["request_counts"] = RequestCounts(**values.get("request_counts", {}))
        return cls(**values)


def _move(batch: BatchRecord, status: BatchStatus, **changes: Any) -> BatchRecord:
    if status not in _ALLOWED[batch.status]:
        raise InvalidTransition(batch.status, status)
    return replace(batch, status=status, **changes)


def started(batch: BatchRecord, now: int, total: int) -> BatchRecord:
    """Validation passed: `total` requests are to be sent."""
    return _move(
        batch, "in_progress", in_progress_at=now, request_counts=RequestCounts(total=total)
    )


def failed(batch: BatchRecord, now: int, errors: tuple[LineError, ...]) -> BatchRecord:
    """Validation failed: nothing is sent."""
    return _move(batch, "failed", failed_at=now, errors=errors)


def finalizing(batch: BatchRecord, now: int) -> BatchRecord:
    return _move(batch, "finalizing", finalizing_at=now)


def cancelling(batch: BatchRecord, now: int) -> BatchRecord:
    return _move(batch, "cancelling", cancelling_at=now)


def expiring(batch: BatchRecord, now: int) -> BatchRecord:
    return _move(batch, "expired", expired_at=now)


def ended(
    batch: BatchRecord,
    now: int,
    *,
    output_file_id: str | None,
    error_file_id: str | None,
    counts: RequestCounts,
    prompt_tokens: int,
    completion_tokens: int,
) -> BatchRecord:
    """The files are written: `finalizing` → completed, `cancelling` → cancelled; an
    `expired` batch keeps its status and gains its files."""
    files: dict[str, Any] = {
        "output_file_id": output_file_id,
        "error_file_id": error_file_id,
        "request_counts": counts,
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
    }
    if batch.status == "finalizing":
        return _move(batch, "completed", completed_at=now, **files)
    if batch.status == "cancelling":
        return _move(batch, "cancelled", cancelled_at=now, **files)
    if batch.status == "expired":
        return replace(batch, **files)
    raise InvalidTransition(batch.status, "completed")


def with_progress(
    batch: BatchRecord, counts: RequestCounts, prompt_tokens: int, completion_tokens: int
) -> BatchRecord:
    return replace(
        batch,
        request_counts=counts,
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
    )
