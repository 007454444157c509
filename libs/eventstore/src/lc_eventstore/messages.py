"""What reading a stream yields: a message with its sequence, decoded lazily."""

from __future__ import annotations

from dataclasses import dataclass

from lc_contracts.envelope import Envelope
from lc_contracts.events import Payload, decode


@dataclass(frozen=True)
class StoredMessage:
    """A message as stored in a stream. `data` may be anything anyone published."""

    seq: int
    subject: str
    data: bytes
    pending: int = 0
    """How many messages of the read came after this one when it was delivered (its
    progress: `lc replay` shows done of done + pending)."""

    def envelope(self) -> Envelope:
        """The envelope; raises InvalidEnvelope for garbage."""
        return Envelope.from_bytes(self.data)

    def event(self) -> StoredEvent:
        """Envelope and decoded payload; raises ContractError when unreadable."""
        envelope = self.envelope()
        return StoredEvent(
            seq=self.seq, envelope=envelope, payload=decode(envelope), stored=self.data
        )


@dataclass(frozen=True)
class StoredEvent:
    seq: int
    envelope: Envelope
    payload: Payload
    stored: bytes | None = None
    """The envelope's JSON as the stream holds it, when the event was read from one
    (`Envelope.to_bytes()` when the platform wrote it)."""
