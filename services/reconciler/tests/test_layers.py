"""The pure core imports no I/O: `lc_reconciler.domain` may use lc_contracts and the
standard library only."""

from __future__ import annotations

import ast
from pathlib import Path

import lc_reconciler.domain

ALLOWED_ROOTS = {"lc_contracts", "lc_reconciler", "__future__"}
FORBIDDEN_OURS = (
    "lc_reconciler.kube",
    "lc_reconciler.runtime",
    "lc_reconciler.reconcile",
    "lc_reconciler.status_reporter",
    "lc_reconciler.event_feed",
)
STDLIB_OK = {
    "base64",
    "collections",
    "dataclasses",
    "datetime",
    "enum",
    "hashlib",
    "json",  # the desired state's snapshot encoding; parsing bytes does no I/O
    "random",
    "typing",
}


def test_domain_imports_nothing_that_does_io() -> None:
    root = Path(lc_reconciler.domain.__file__).parent
    for path in root.glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                top = name.split(".")[0]
                assert top in ALLOWED_ROOTS | STDLIB_OK, f"{path.name} imports {name}"
                assert not name.startswith(FORBIDDEN_OURS), f"{path.name} imports {name}"
