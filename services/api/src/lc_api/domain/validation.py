"""Turn pydantic validation errors into field errors with JSON pointers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import ValidationError

from lc_api.domain.errors import FieldError

# Fields the server owns: a client that sends them gets a clear refusal, not "extra field".
SERVER_OWNED = frozenset(
    {
        "revision",
        "status",
        "createdAt",
        "updatedAt",
        "url",
        "domains",
        "version",
        "id",
        "challengeToken",
        "challengeRR",
        "cnameTarget",
        "verifiedAt",
        "projectSlug",
        "serviceCount",
        "observedAt",
        "rollbackOf",
    }
)


def pointer(loc: Sequence[int | str]) -> str:
    parts = [str(p).replace("~", "~0").replace("/", "~1") for p in loc]
    return "/" + "/".join(parts) if parts else ""


def field_errors(
    errors: Sequence[Any],
    *,
    prefix: Sequence[int | str] = (),
    allowed_owned: frozenset[str] = frozenset(),
) -> list[FieldError]:
    """Field errors from pydantic's `errors()` list (dicts with loc, msg, type)."""
    out: list[FieldError] = []
    for err in errors:
        loc = [*prefix, *err.get("loc", ())]
        last = loc[-1] if loc else None
        if (
            err.get("type") == "extra_forbidden"
            and last in SERVER_OWNED
            and last not in allowed_owned
        ):
            detail = f"'{last}' is set by the server and cannot be written"
        elif err.get("type") == "extra_forbidden":
            detail = f"unknown field '{last}'"
        else:
            detail = str(err.get("msg", "is invalid"))
        out.append(FieldError(pointer=pointer(loc), detail=detail))
    return out


def from_validation_error(exc: ValidationError) -> list[FieldError]:
    return field_errors(exc.errors())
