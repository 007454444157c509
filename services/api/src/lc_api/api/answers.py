"""Answers to writes: wait (bounded) for the projection to reach the write, then answer
from the read models with `X-LC-Seq`, `Location` and `ETag`; past the bound, 202.

Once the event is appended the write has landed: if PostgreSQL fails from then on, the
answer is still the 202 with `X-LC-Seq`, never an error for a write that happened.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from fastapi import Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import SQLAlchemyError

from lc_api.app.command_loop import Written
from lc_api.runtime.lcd import Runtime
from lc_api.views import AcceptedView, DomainView, ProjectView, ServiceView, View, wire

log = logging.getLogger(__name__)


def etag(view: BaseModel) -> str | None:
    if isinstance(view, ProjectView):
        return f'"{view.version}"'
    if isinstance(view, ServiceView):
        return f'"{view.revision}"'
    if isinstance(view, DomainView):
        return None
    return None


def view_response(
    view: BaseModel, status_code: int = 200, headers: dict[str, str] | None = None
) -> JSONResponse:
    out = dict(headers or {})
    tag = etag(view)
    if tag:
        out["ETag"] = tag
    return JSONResponse(wire(view), status_code=status_code, headers=out)


def accepted(written: Written, location: str) -> JSONResponse:
    body = AcceptedView(seq=written.seq, location=location)
    return JSONResponse(
        body.model_dump(mode="json", by_alias=True),
        status_code=202,
        headers={"Location": location, "X-LC-Seq": str(written.seq)},
    )


async def answer_write(
    runtime: Runtime,
    written: Written,
    *,
    location: str,
    read: Callable[[], Awaitable[View | None]],
    status_code: int = 200,
    created: Callable[[View], bool] | None = None,
) -> Response:
    if not await runtime.wait_projected(written.seq):
        return accepted(written, location)
    try:
        view = await read()
    except (OSError, SQLAlchemyError) as exc:
        log.warning("seq %d landed but its view cannot be read: %r", written.seq, exc)
        return accepted(written, location)
    if view is None:  # changed again since (deleted by someone else): the write did land
        return accepted(written, location)
    if created is not None and created(view):
        status_code = 201
    headers = {"X-LC-Seq": str(written.seq)}
    if status_code == 201:
        headers["Location"] = location
    return view_response(view, status_code, headers)


async def answer_delete(runtime: Runtime, written: Written, location: str) -> Response:
    if not await runtime.wait_projected(written.seq):
        return accepted(written, location)
    return Response(status_code=204, headers={"X-LC-Seq": str(written.seq)})
