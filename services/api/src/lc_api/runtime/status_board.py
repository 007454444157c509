"""The latest observed status of every Service, kept in memory from LC_STATUS.

Fed by `follow_status("lc.status.service.>")` in lcd's lifespan; read by the service
routes. A Service without a snapshot is "Pending".
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from pydantic import ValidationError

from lc_contracts.status import ServiceStatus
from lc_eventstore import StoredMessage

log = logging.getLogger(__name__)


class StatusBoard:
    def __init__(self) -> None:
        self._by_subject: dict[str, ServiceStatus] = {}
        self.bootstrapped = False

    def update(self, messages: Iterable[StoredMessage]) -> None:
        for message in messages:
            if not message.data:  # a purged subject
                self._by_subject.pop(message.subject, None)
                continue
            try:
                status = ServiceStatus.model_validate_json(message.data)
            except ValidationError as exc:
                log.warning(
                    "ignoring unreadable status on %s: %s", message.subject, exc.error_count()
                )
                continue
            self._by_subject[message.subject] = status

    def get(self, subject: str) -> ServiceStatus | None:
        return self._by_subject.get(subject)
