"""Label and field selectors, parsed from query strings and matched against objects.

Who calls it: `store.list` and the watch filter in `http_server`. Pure functions.

Label selectors support `k=v`, `k==v`, `k!=v`, `k in (a,b)`, `k notin (a,b)`, `k`
(exists) and `!k` (does not exist), comma-separated (all must hold). Field selectors
support `=`, `==` and `!=` on any dotted path (`metadata.name`, `metadata.namespace`,
`status.phase`, `involvedObject.name` ...), which covers what clients and `kubectl
describe` send.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from lc_clustersim.kubeapi.errors import bad_request

Matcher = Callable[[Mapping[str, Any]], bool]

_SET_RE = re.compile(r"^\s*([A-Za-z0-9_./-]+)\s+(in|notin)\s+\(([^)]*)\)\s*$")
_EQ_RE = re.compile(r"^\s*([A-Za-z0-9_./-]+)\s*(==|!=|=)\s*([A-Za-z0-9_.-]*)\s*$")
_EXISTS_RE = re.compile(r"^\s*(!?)\s*([A-Za-z0-9_./-]+)\s*$")


def _split_terms(selector: str) -> list[str]:
    """Split on commas that are not inside parentheses."""
    terms: list[str] = []
    depth = 0
    current = ""
    for char in selector:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            terms.append(current)
            current = ""
        else:
            current += char
    terms.append(current)
    return [t for t in terms if t.strip()]


def _label_term(term: str) -> Callable[[Mapping[str, str]], bool]:
    if match := _SET_RE.match(term):
        key, op, raw_values = match.groups()
        values = {v.strip() for v in raw_values.split(",") if v.strip()}
        if op == "in":
            return lambda labels: labels.get(key) in values
        return lambda labels: labels.get(key) not in values
    if match := _EQ_RE.match(term):
        key, op, value = match.groups()
        if op == "!=":
            return lambda labels: labels.get(key) != value
        return lambda labels: labels.get(key) == value
    if match := _EXISTS_RE.match(term):
        negated, key = match.groups()
        if negated:
            return lambda labels: key not in labels
        return lambda labels: key in labels
    raise bad_request(f"unable to parse requirement: {term!r}")


def parse_label_selector(selector: str | None) -> Matcher:
    """A matcher over whole objects for a `labelSelector` query value."""
    if not selector or not selector.strip():
        return lambda obj: True
    terms = [_label_term(t) for t in _split_terms(selector)]

    def matches(obj: Mapping[str, Any]) -> bool:
        labels = (obj.get("metadata") or {}).get("labels") or {}
        return all(term(labels) for term in terms)

    return matches


def _lookup(obj: Mapping[str, Any], path: str) -> str | None:
    current: Any = obj
    for part in path.split("."):
        if not isinstance(current, Mapping):
            return None
        current = current.get(part)
    if current is None:
        return None
    if isinstance(current, bool):
        return "true" if current else "false"
    return str(current)


def _field_check(path: str, value: str, *, negated: bool) -> Matcher:
    def check(obj: Mapping[str, Any]) -> bool:
        return ((_lookup(obj, path) or "") == value) != negated

    return check


def parse_field_selector(selector: str | None) -> Matcher:
    """A matcher for a `fieldSelector` query value."""
    if not selector or not selector.strip():
        return lambda obj: True
    checks: list[Callable[[Mapping[str, Any]], bool]] = []
    for term in _split_terms(selector):
        match = re.match(r"^\s*([A-Za-z0-9_.]+)\s*(==|!=|=)\s*(.*?)\s*$", term)
        if not match:
            raise bad_request(f"invalid field selector: {term!r}")
        path, op, value = match.groups()
        checks.append(_field_check(path, value, negated=op == "!="))
    return lambda obj: all(check(obj) for check in checks)


def field_selector_name(selector: str | None) -> str | None:
    """The name pinned by `metadata.name=<x>`, if the selector pins one (a fast path)."""
    if not selector:
        return None
    for term in _split_terms(selector):
        match = re.match(r"^\s*metadata\.name\s*==?\s*(.+?)\s*$", term)
        if match:
            return match.group(1)
    return None
