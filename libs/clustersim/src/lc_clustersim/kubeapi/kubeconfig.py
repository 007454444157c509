"""Writes the kubeconfig that points kubectl and kubernetes-asyncio at the emulator.

Who calls it: `lc_clustersim.sim.ClusterSim` at start-up (`$LC_DATA_DIR/kubeconfig` under
`lc up`). Plain HTTP on loopback, a static bearer token that the emulator ignores.
"""

from __future__ import annotations

from pathlib import Path

import yaml

CONTEXT_NAME = "clustersim"


def kubeconfig_document(server_url: str, namespace: str = "default") -> dict[str, object]:
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": CONTEXT_NAME, "cluster": {"server": server_url}}],
        "users": [{"name": CONTEXT_NAME, "user": {"token": "clustersim"}}],
        "contexts": [
            {
                "name": CONTEXT_NAME,
                "context": {"cluster": CONTEXT_NAME, "user": CONTEXT_NAME, "namespace": namespace},
            }
        ],
        "current-context": CONTEXT_NAME,
        "preferences": {},
    }


def write_kubeconfig(path: Path, server_url: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(kubeconfig_document(server_url), sort_keys=False))
    path.chmod(0o600)
    return path
