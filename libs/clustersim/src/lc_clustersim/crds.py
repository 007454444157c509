"""CustomResourceDefinitions the simulator installs: engine Model and GPU, cert-manager
Certificate.

Who calls it: `lc_clustersim.sim.ClusterSim` at start-up, through the object store, so
`kubectl get crd` lists them and `kubectl get models` prints their columns. Names come
from `lc_contracts.engine`.
"""

from __future__ import annotations

from typing import Any

from lc_contracts.engine import (
    CERT_MANAGER_GROUP,
    CERT_MANAGER_VERSION,
    CERTIFICATE_KIND,
    CERTIFICATE_PLURAL,
    ENGINE_GROUP,
    ENGINE_VERSION,
    GPU_KIND,
    GPU_PLURAL,
    MODEL_KIND,
    MODEL_PLURAL,
)


def _crd(
    group: str,
    version: str,
    kind: str,
    plural: str,
    *,
    namespaced: bool,
    short_names: list[str],
    columns: list[tuple[str, str, str]],
) -> dict[str, Any]:
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{group}"},
        "spec": {
            "group": group,
            "scope": "Namespaced" if namespaced else "Cluster",
            "names": {
                "kind": kind,
                "plural": plural,
                "singular": kind.lower(),
                "listKind": f"{kind}List",
                "shortNames": short_names,
            },
            "versions": [
                {
                    "name": version,
                    "served": True,
                    "storage": True,
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "x-kubernetes-preserve-unknown-fields": True,
                        }
                    },
                    "subresources": {"status": {}},
                    "additionalPrinterColumns": [
                        {"name": name, "type": type_, "jsonPath": path}
                        for name, type_, path in columns
                    ],
                }
            ],
        },
    }


def simulator_crds() -> list[dict[str, Any]]:
    return [
        _crd(
            ENGINE_GROUP,
            ENGINE_VERSION,
            MODEL_KIND,
            MODEL_PLURAL,
            namespaced=True,
            short_names=["mdl"],
            columns=[
                ("Model", "string", ".spec.modelName"),
                ("Phase", "string", ".status.phase"),
                ("Ready", "integer", ".status.readyReplicas"),
                ("Endpoint", "string", ".status.endpoint"),
            ],
        ),
        _crd(
            ENGINE_GROUP,
            ENGINE_VERSION,
            GPU_KIND,
            GPU_PLURAL,
            namespaced=False,
            short_names=[],
            columns=[
                ("Node", "string", ".spec.node"),
                ("Product", "string", ".spec.product"),
                ("Health", "string", ".status.health"),
                ("Free MiB", "integer", ".status.memoryAvailableMiB"),
            ],
        ),
        _crd(
            CERT_MANAGER_GROUP,
            CERT_MANAGER_VERSION,
            CERTIFICATE_KIND,
            CERTIFICATE_PLURAL,
            namespaced=True,
            short_names=["cert", "certs"],
            columns=[
                ("Ready", "string", '.status.conditions[?(@.type=="Ready")].status'),
                ("Secret", "string", ".spec.secretName"),
            ],
        ),
    ]
