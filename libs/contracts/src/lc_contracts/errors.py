"""Errors shared across packages. Each says what went wrong in words a user can act on.

ContractError
├── InvalidEnvelope      bytes on the stream that are not an event envelope
└── UnknownEventType     an envelope whose `type` (or `dataversion`) we cannot read
"""

from __future__ import annotations


class ContractError(Exception):
    """Base of errors raised by contract code."""


class InvalidEnvelope(ContractError):
    pass


class UnknownEventType(ContractError):
    pass
