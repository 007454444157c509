"""The pure core imports no I/O: it can be tested, and reasoned about, without a network."""

from __future__ import annotations

import ast
from pathlib import Path

import lc_domain_verifier.domain as domain_package

FORBIDDEN = ("dns", "nats", "lc_eventstore", "asyncio", "logging", "socket", "time")


def test_the_domain_package_does_no_io() -> None:
    root = Path(domain_package.__file__).parent
    offenders = []
    for path in sorted(root.glob("*.py")):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [
                f"{path.name}: {name}"
                for name in names
                if name.split(".")[0] in FORBIDDEN
                or (
                    name.startswith("lc_domain_verifier.")
                    and not name.startswith("lc_domain_verifier.domain")
                )
            ]
    assert offenders == []
    assert len(list(root.glob("*.py"))) >= 5
