"""What a command can be refused for. The API maps each to one problem type.

CommandRefused
├── NotFound              the aggregate (or one it refers to) does not exist      → 404
├── AlreadyExists         a create for a name that is taken                       → 409
├── Conflict              the state forbids it (children, FQDN claimed, ...)      → 409
├── PreconditionFailed    If-Match named a version that is no longer current     → 412
└── InvalidCommand        the request is well-formed but makes no sense here     → 422
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class FieldError:
    """One field-level complaint, with a JSON pointer into the request body."""

    pointer: str
    detail: str


class CommandRefused(Exception):
    def __init__(self, detail: str, errors: list[FieldError] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or []


class NotFound(CommandRefused):
    pass


class AlreadyExists(CommandRefused):
    pass


class Conflict(CommandRefused):
    pass


class PreconditionFailed(CommandRefused):
    pass


class InvalidCommand(CommandRefused):
    pass
