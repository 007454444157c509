"""JSON Merge Patch (RFC 7396, which obsoletes RFC 7386) over plain JSON values.

Who calls it: lcd's `PATCH /services/{name}` (`lc_api.domain.service.patch`) and the
cluster simulator's `application/merge-patch+json` requests. Pure; inputs are never mutated.
"""

from __future__ import annotations

import copy
from typing import Any


def merge_patch(target: Any, patch: Any) -> Any:
    """Objects merge recursively, `null` deletes a member, anything else replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result
