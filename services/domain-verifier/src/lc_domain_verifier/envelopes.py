"""Envelopes for the verifier's events, with ids derived from what they record.

Called by the worker before each append. The id is a UUIDv5 of the domain subject, the
sequence the append expects, the position in the batch and the payload: a restarted
worker that reaches the same decision from the same aggregate version builds the same
id, and the event store recognises its earlier write instead of storing a second one.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Final

from lc_contracts.envelope import Envelope
from lc_contracts.events import Payload, build

SOURCE: Final = "lc-domain-verifier"
_NAMESPACE: Final = uuid.UUID("7d0c6f3e-4b8e-5c1a-9a57-0d6f1e2b3c4d")


def outcome_event_id(subject: str, expected_seq: int, index: int, payload: Payload) -> str:
    body = json.dumps(payload.to_wire(), sort_keys=True, separators=(",", ":"))
    return str(uuid.uuid5(_NAMESPACE, f"{subject}|{expected_seq}|{index}|{payload.TYPE}|{body}"))


def outcome_envelopes(
    subject: str, expected_seq: int, payloads: tuple[Payload, ...], at: datetime
) -> list[Envelope]:
    return [
        build(
            payload,
            subject=subject,
            source=SOURCE,
            event_id=outcome_event_id(subject, expected_seq, index, payload),
        ).model_copy(update={"time": at})
        for index, payload in enumerate(payloads)
    ]
