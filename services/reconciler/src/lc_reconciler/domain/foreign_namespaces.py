"""Which namespaces a project could not use, and the snapshot that tells lcd. Pure.

Who calls it: `namespace_mirror` (for each namespace it lists or watches) and `findings`
(which publishes the snapshot on LC_STATUS, where lcd reads it to refuse such slugs).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from lc_contracts.status import FOREIGN_NAMESPACES_MAX, ForeignNamespaces
from lc_reconciler.domain.compiler import namespace_is_ours


def is_foreign(namespace: Mapping[str, Any]) -> bool:
    """Whether a project may not take `namespace`: it exists and the platform did not make it."""
    return not namespace_is_ours(dict(namespace))


def foreign_namespaces(
    foreign: Iterable[str],
    prefix: str,
    observed_at: datetime,
    *,
    cap: int = FOREIGN_NAMESPACES_MAX,
) -> ForeignNamespaces:
    """The snapshot of `foreign` names: only those a project's namespace could be (they
    start with the platform's prefix), in name order, at most `cap`, with their count."""
    candidates = sorted({name for name in foreign if name.startswith(prefix)})
    return ForeignNamespaces(
        namespace_prefix=prefix,
        namespaces=candidates[:cap],
        total=len(candidates),
        observed_at=observed_at,
    )
