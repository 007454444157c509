"""One version of one stored object, with its JSON encoding computed once.

Who calls it: the object store keeps these; the watch log, the HTTP server and the
simulated controllers read them.
"""

from __future__ import annotations

import json
from functools import cached_property
from typing import Any


class StoredObject:
    """One version of one object. `obj` must never be mutated once stored."""

    __slots__ = ("__dict__", "obj")

    def __init__(self, obj: dict[str, Any]) -> None:
        self.obj = obj

    @cached_property
    def raw(self) -> bytes:
        return json.dumps(self.obj, separators=(",", ":")).encode()

    @property
    def metadata(self) -> dict[str, Any]:
        meta: dict[str, Any] = self.obj["metadata"]
        return meta

    @property
    def namespace(self) -> str:
        return str(self.metadata.get("namespace", ""))

    @property
    def name(self) -> str:
        return str(self.metadata["name"])

    @property
    def resource_version(self) -> int:
        return int(self.metadata["resourceVersion"])
