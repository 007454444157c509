"""A component's settings from its `LC_*` environment, or its end with one line that names
every bad variable.

Who calls it: each console script's `main` (lcd, lc-reconciler, lc-domain-verifier,
lc-fleet, lc-proxy, lc-webhooks), before anything else starts. A bad value ends the
process with exit status 2 and one line on stderr, `<program>: invalid configuration:
LC_X: why; LC_Y: why`, so an operator reads which variable to fix from a pod's last line.
Settings classes are pydantic-settings models with the prefix `LC_`; their validation
error (a `ValueError`) is read through its `errors()` alone, so this module needs no
pydantic of its own.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

S = TypeVar("S")
ENV_PREFIX = "LC_"
EXIT_BAD_CONFIGURATION = 2


def load_settings(cls: Callable[..., S], program: str, **overrides: Any) -> S:
    """`cls(**overrides)`, or exit 2 with one line naming what is wrong."""
    try:
        return cls(**overrides)
    except ValueError as exc:  # pydantic's ValidationError is one
        errors = getattr(exc, "errors", None)
        told = describe(errors()) if callable(errors) else str(exc)
        print(f"{program}: invalid configuration: {told}", file=sys.stderr)
        raise SystemExit(EXIT_BAD_CONFIGURATION) from None


def describe(errors: Iterable[Mapping[str, Any]]) -> str:
    """Each of pydantic's errors as `VARIABLE: why`, on one line (pure)."""
    problems = []
    for error in errors:
        where = error.get("loc") or ()
        if not where:  # a rule across fields: its message names the variables
            name = "settings"
        else:
            name = str(where[0]).upper()
            if not name.startswith(ENV_PREFIX):
                name = ENV_PREFIX + name
        message = " ".join(str(error.get("msg", "")).removeprefix("Value error, ").split())
        problems.append(f"{name}: {message}")
    return "; ".join(problems)
