"""Operator commands about orphans: read the reconciler's report, and ask it to adopt or
delete one orphan by appending a request to LC_EVENTS.

Who calls it: `lc orphans` (deploy/local) and tests. The reconciler takes no command by
any other path: it folds `orphan.adoption_requested` / `orphan.deletion_requested` from
the stream like every other event, so a request is audited, survives restarts and
reaches whichever replica leads. A request naming an object that has since regained a
history (its service was applied again) deletes nothing that service compiles.
"""

from __future__ import annotations

from typing import Final, Literal

import nats
from nats.js import JetStreamContext

from lc_contracts.events import OrphanAdoptionRequested, OrphanDeletionRequested, build
from lc_contracts.status import ManagedObject, OrphanReport
from lc_contracts.subjects import ORPHAN_STATUS, orphan_subject
from lc_eventstore import EventStore, current_status

SOURCE: Final = "lc-orphans"
Action = Literal["adopt", "delete"]


class OrphanNotFound(LookupError):
    """No reported orphan has that name."""


async def orphan_report(js: JetStreamContext) -> OrphanReport | None:
    """The reconciler's latest report, or None when it has published none."""
    found = (await current_status(js, ORPHAN_STATUS)).get(ORPHAN_STATUS)
    return OrphanReport.model_validate_json(found.data) if found is not None else None


def find_orphan(report: OrphanReport | None, name: str) -> ManagedObject:
    """The orphan named `Kind/namespace/name` (as `lc orphans` prints it; kind in any case)."""
    for target in report.orphans if report is not None else []:
        if str(target).lower() == name.lower():
            return target
    raise OrphanNotFound(f"no orphan named {name!r}; `lc orphans` lists them")


async def request(
    js: JetStreamContext, target: ManagedObject, action: Action, *, actor: str | None = None
) -> int:
    """Append the request; returns its stream sequence."""
    payload = (
        OrphanAdoptionRequested(target=target)
        if action == "adopt"
        else OrphanDeletionRequested(target=target)
    )
    subject = orphan_subject(target.project_slug, target.service_name)
    event = build(payload, subject=subject, source=SOURCE, actor=actor)
    [seq] = await EventStore(js).append(subject, [event], None)
    return seq


def describe(report: OrphanReport | None) -> list[str]:
    """The lines `lc orphans` prints."""
    if report is None:
        return ["no orphan report yet: is the reconciler running?"]
    lines = [
        f"{label}\t{target}\t{target.project_slug}/{target.service_name}"
        f"\trevision {target.revision or '-'}"
        for label, targets in (("orphan", report.orphans), ("held", report.held_deletions))
        for target in targets
    ]
    if report.message:
        lines.append(report.message)
    return lines or ["no orphans, no held deletions"]


async def run_orphans(
    nats_url: str, action: Action | None = None, name: str | None = None
) -> list[str]:
    """`lc orphans [adopt|delete NAME]`: the report's lines, or the request's receipt.

    Raises OrphanNotFound when NAME is not a reported orphan.
    """
    nc = await nats.connect(nats_url, max_reconnect_attempts=3, name="lc-orphans")
    try:
        js = nc.jetstream()
        report = await orphan_report(js)
        if action is None or name is None:
            return describe(report)
        target = find_orphan(report, name)
        seq = await request(js, target, action)
        verb = "adoption" if action == "adopt" else "deletion"
        return [f"{verb} of {target} requested (LC_EVENTS sequence {seq})"]
    finally:
        await nc.close()
