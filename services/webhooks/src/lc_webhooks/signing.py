"""Standard Webhooks (v1) signing: the headers and body of one delivery.

`webhook-id` is the event's id (stable across retries and replays, for the receiver's
dedupe), `webhook-timestamp` the attempt's time in Unix seconds, `webhook-signature` one
`v1,<base64 HMAC-SHA256 of "id.timestamp.body">` per secret in force, separated by
spaces: during a rotation's overlap, the new secret's and the previous one's.

Pure. Callers: the courier (every attempt), the tests and examples (which verify with the
spec's reference library).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Sequence
from typing import Any

from lc_contracts.envelope import Envelope
from lc_contracts.webhooks import secret_bytes


def body(envelope: Envelope) -> bytes:
    """`{type, timestamp, data}` with the CloudEvent as `data` (its sealed fields left out
    by the caller: `lc_contracts.events.shown`)."""
    payload: dict[str, Any] = {
        "type": envelope.type,
        "timestamp": envelope.time.isoformat().replace("+00:00", "Z"),
        "data": envelope.model_dump(mode="json", exclude_none=True),
    }
    return json.dumps(payload, separators=(",", ":")).encode()


def signature(secret: str, msg_id: str, timestamp: int, content: bytes) -> str:
    signed = f"{msg_id}.{timestamp}.".encode() + content
    digest = hmac.new(secret_bytes(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def headers(secrets: Sequence[str], msg_id: str, timestamp: int, content: bytes) -> dict[str, str]:
    if not secrets:
        raise ValueError("a delivery needs at least one signing secret")
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(signature(s, msg_id, timestamp, content) for s in secrets),
        "content-type": "application/json",
        "user-agent": "LiquidCompute-Webhooks/1",
    }
