"""The events the couriers of one process have read lately, decoded once and with their
delivery body built once, by stream sequence.

Every subscription's consumer reads the same LC_EVENTS: with ten subscriptions, each
event used to be decoded and its body serialised ten times. The couriers of a process now
share one `Decoded` per sequence (an event never changes under its sequence); what is
signed stays per delivery (each subscription has its own secrets and attempt time).
Bounded: the oldest entries go first; a courier far behind the others decodes again.

Callers: the worker (one per process), the courier (every message it reads).
"""

from __future__ import annotations

from collections import OrderedDict
from functools import cached_property
from typing import Final

from lc_contracts.envelope import Envelope
from lc_contracts.errors import ContractError
from lc_contracts.events import shown
from lc_webhooks import signing

KEPT: Final = 4096


class Decoded:
    """One event: its envelope, and the body every subscription is sent."""

    def __init__(self, envelope: Envelope) -> None:
        self.envelope = envelope

    @cached_property
    def body(self) -> bytes:
        return signing.body(shown(self.envelope))


class DecodedEvents:
    def __init__(self, kept: int = KEPT) -> None:
        self._kept = kept
        self._by_seq: OrderedDict[int, Decoded | None] = OrderedDict()

    def get(self, seq: int, data: bytes) -> Decoded | None:
        """The event at `seq` (its bytes `data`), or None when it is not an event."""
        try:
            return self._by_seq[seq]
        except KeyError:
            pass
        try:
            decoded: Decoded | None = Decoded(Envelope.from_bytes(data))
        except ContractError:
            decoded = None
        self._by_seq[seq] = decoded
        if len(self._by_seq) > self._kept:
            self._by_seq.popitem(last=False)
        return decoded

    def __len__(self) -> int:
        return len(self._by_seq)
