"""`lc state` and `lc diff`: audit questions asked of lcd's API and printed for a reader.

The answers are lcd's (`GET /api/v1/projects/{slug}/state`, `GET /api/v1/audit/diff`);
this module only fetches them and lays them out as text (`render_state`, `render_diff`
are pure), or prints them as JSON with `--json`.

Callers: `lc_local.cli`.
"""

from __future__ import annotations

import json
import os
from typing import Any

import httpx

from lc_local.settings import LocalSettings
from lc_local.stack import Endpoints


def api_base(explicit: str | None) -> str:
    """lcd's base URL: `--api`, else LC_API_URL, else the running stack's."""
    if explicit:
        return explicit.rstrip("/")
    if "LC_API_URL" in os.environ:
        return os.environ["LC_API_URL"].rstrip("/")
    try:
        return Endpoints.load(LocalSettings().data_dir).http_url
    except FileNotFoundError:
        raise SystemExit("lc: no running stack found; start `lc up`, or pass --api URL") from None


def fetch(base: str, path: str, params: dict[str, str]) -> Any:
    """GET an lcd answer; admin credentials from LC_AUTH_USERNAME / LC_AUTH_PASSWORD."""
    user, password = os.environ.get("LC_AUTH_USERNAME"), os.environ.get("LC_AUTH_PASSWORD")
    auth = (user, password) if user and password else None
    answer = httpx.get(f"{base}/api{path}", params=params, auth=auth, timeout=30)
    if answer.status_code != 200:
        try:
            detail = answer.json().get("detail", answer.text)
        except ValueError:
            detail = answer.text
        raise SystemExit(f"lc: {detail} ({answer.status_code})")
    return answer.json()


def _moment(moment: dict[str, Any]) -> str:
    if moment.get("time") is None:
        return "before the first event"
    return f"{moment['time']} (sequence {moment['seq']})"


def render_state(state: dict[str, Any]) -> str:
    lines = [f'project {state["slug"]} "{state["name"]}" as of {_moment(state["asOf"])}']
    lines.append(f"  services ({len(state['services'])})")
    for service in state["services"]:
        phase = service.get("phase") or "-"
        lines.append(
            f"    {service['name']:<32} {service['tier']:<10} revision {service['revision']:<4} {phase}"
        )
    lines.append(f"  domains ({len(state['domains'])})")
    for domain in state["domains"]:
        lines.append(f"    {domain['fqdn']:<40} → {domain['serviceName']:<24} {domain['status']}")
    return "\n".join(lines)


def _value(value: Any) -> str:
    return "-" if value is None else json.dumps(value, ensure_ascii=False)


def render_diff(diff: dict[str, Any]) -> str:
    lines = [f"from {_moment(diff['from'])}", f"  to {_moment(diff['to'])}"]
    if not diff["changes"]:
        lines.append("no changes")
    for change in diff["changes"]:
        where = (
            change["key"]
            if change["kind"] == "project"
            else f"{change['projectSlug']}/{change['key']}"
        )
        lines.append(f"{change['change']:<8} {change['kind']} {where}")
        for field in change["fields"]:
            lines.append(f"    {field['pointer']}: {_value(field['old'])} → {_value(field['new'])}")
        for event in change["events"]:
            who = event.get("actor") or "-"
            lines.append(
                f"    by {who} at {event['time']}: {event['type']} (sequence {event['seq']})"
            )
    return "\n".join(lines)
