"""Compiles Services into Kubernetes objects, applies and prunes them, repairs drift and
reports their status.

Public surface: `compile_service`, `compile_namespace`, `PlatformConfig`,
`ReconcilerSettings`, `run`, `ReconcilerRuntime`.
"""

from lc_reconciler.domain.compiler import compile_namespace, compile_service
from lc_reconciler.domain.platform import PlatformConfig, Toleration
from lc_reconciler.runtime import ReconcilerRuntime, run
from lc_reconciler.settings import ReconcilerSettings

__all__ = [
    "PlatformConfig",
    "ReconcilerRuntime",
    "ReconcilerSettings",
    "Toleration",
    "compile_namespace",
    "compile_service",
    "run",
]
