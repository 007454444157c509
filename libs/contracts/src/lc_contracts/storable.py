"""Strings the platform can store: no NUL character and no unpaired UTF-16 surrogate.

PostgreSQL refuses both (in `text` and in `jsonb`), and UTF-8 cannot encode a lone
surrogate, so such a value would be accepted by the API and then fail in every read model.
`StorableContract` refuses them at the edge, in every string of every field, so each entry
point (the API, the reconciler's decoding of specs) shares one rule. The specs derive from
it; events do not (a stored event that breaks the rule is quarantined by the projector).
"""

from __future__ import annotations

import re
from typing import Any, Final

from pydantic import field_validator

from lc_contracts.base import Contract

UNSTORABLE: Final = re.compile("[\x00\ud800-\udfff]")


def unstorable_reason(value: str) -> str | None:
    """Why PostgreSQL could not store `value`, or None when it can."""
    found = UNSTORABLE.search(value)
    if found is None:
        return None
    if found.group() == "\x00":
        return "must not contain the NUL character (\\u0000)"
    return "must not contain an unpaired surrogate (\\ud800-\\udfff)"


def check_storable(value: Any, where: str = "") -> None:
    """Raise ValueError when a string in `value` (nested lists and dicts too) is unstorable."""
    if isinstance(value, str):
        reason = unstorable_reason(value)
        if reason is not None:
            raise ValueError(f"{where} {reason}".strip())
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            check_storable(item, f"item {index}")
    elif isinstance(value, dict):
        for key, item in value.items():
            check_storable(key, "a key")
            check_storable(item, f"'{key}'")


class StorableContract(Contract):
    """A contract whose string fields refuse what PostgreSQL cannot store."""

    @field_validator("*", mode="after")
    @classmethod
    def _storable(cls, value: Any) -> Any:
        # Nested contracts validated themselves; everything else is walked here.
        check_storable(value)
        return value


def escape_unstorable(value: str) -> str:
    """`value` with NUL and unpaired surrogates written as escapes, so it can be stored."""
    return UNSTORABLE.sub(lambda found: f"\\u{ord(found.group()):04x}", value)
