"""A batch's requests as the dispatcher holds them: a small index in memory, the bodies in
a spool file.

Who calls it: the dispatcher, when it takes a batch (`RequestQueue.read`) and before it
sends each request (`body`).

An input file may hold 200 MB in 50,000 lines. It is read one line at a time from a
local copy of the object (a spool file, on disk beyond 1 MiB), checked as it is read
(`batch_input.check_lines`), and each request's body is appended to a second spool file;
memory keeps only, per request, its position, `custom_id`, model and where its body sits.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO

from lc_proxy.batch_input import check_lines, file_lines
from lc_proxy.batch_records import LineError
from lc_proxy.batch_storage import spool


@dataclass(frozen=True, slots=True)
class QueuedRequest:
    """One request of a batch: its position (from 0), id and model; its body is in the
    queue's spool at `offset`, `length` bytes long."""

    index: int
    custom_id: str
    model: str
    offset: int
    length: int


class RequestQueue:
    """The requests of one batch, in input order."""

    def __init__(self) -> None:
        self.requests: list[QueuedRequest] = []
        self._bodies: IO[bytes] = spool()

    @classmethod
    def read(
        cls, content: IO[bytes], endpoint: str, can_route: Callable[[str], bool]
    ) -> RequestQueue | tuple[LineError, ...]:
        """The requests of the input file `content`, or why the batch fails."""
        queue = cls()
        models: dict[str, str] = {}
        for found in check_lines(file_lines(content), endpoint, can_route):
            if isinstance(found, tuple):
                queue.close()
                return found
            offset = queue._bodies.tell()
            queue._bodies.write(found.body)
            model = models.setdefault(found.model, sys.intern(found.model))
            queue.requests.append(
                QueuedRequest(found.index, found.custom_id, model, offset, len(found.body))
            )
        return queue

    def body(self, request: QueuedRequest) -> bytes:
        """The body of `request` as it is sent."""
        self._bodies.seek(request.offset)
        return self._bodies.read(request.length)

    def close(self) -> None:
        self._bodies.close()
