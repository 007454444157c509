"""The namespaces of the cluster that the platform did not create, as the reconciler last
reported them (`lc.status.reconciler.foreign-namespaces`).

Fed by `follow_status` in lcd's runtime; read by the project commands, which refuse a
project whose namespace is one of them (422). Until a report arrives (no reconciler has
run yet) it knows nothing and refuses nothing: the reconciler still will not adopt such
a namespace, and the project goes Failed saying why.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from pydantic import ValidationError

from lc_contracts.status import ForeignNamespaces
from lc_eventstore import StoredMessage

log = logging.getLogger(__name__)


class ForeignNamespaceBoard:
    def __init__(self) -> None:
        self.inventory: ForeignNamespaces | None = None
        self._names: frozenset[str] = frozenset()

    def update(self, messages: Iterable[StoredMessage]) -> None:
        for message in messages:
            if not message.data:  # purged: back to knowing nothing
                self.inventory, self._names = None, frozenset()
                continue
            try:
                inventory = ForeignNamespaces.model_validate_json(message.data)
            except ValidationError as exc:
                log.warning("ignoring unreadable namespace inventory: %s", exc.error_count())
                continue
            self.inventory, self._names = inventory, frozenset(inventory.namespaces)

    def foreign_namespace_of(self, project_slug: str) -> str | None:
        """The namespace a project of this slug would take, when it is known not to be ours."""
        if self.inventory is None:
            return None
        namespace = self.inventory.namespace_of(project_slug)
        return namespace if namespace in self._names else None
