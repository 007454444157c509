"""Names of the GreenThread engine's custom resources, and the labels we stamp.

The engine's schema is not public; every name the platform assumes about it lives
here, so a real engine with other names is one edit away. The reconciler, the fleet
aggregator, the proxy and the cluster simulator all read these.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final

ENGINE_GROUP: Final = "engine.greenthread.ai"
ENGINE_VERSION: Final = "v1alpha1"

MODEL_KIND: Final = "Model"
MODEL_PLURAL: Final = "models"
GPU_KIND: Final = "GPU"
GPU_PLURAL: Final = "gpus"

CERT_MANAGER_GROUP: Final = "cert-manager.io"
CERT_MANAGER_VERSION: Final = "v1"
CERTIFICATE_KIND: Final = "Certificate"
CERTIFICATE_PLURAL: Final = "certificates"

GPU_RESOURCE: Final = "nvidia.com/gpu"
# How much GPU memory one replica of a Model needs, when the engine cannot infer it.
MEMORY_ANNOTATION: Final = f"{ENGINE_GROUP}/memory-mib"


class ModelPhase(StrEnum):
    """`Model.status.phase` as the engine reports it."""

    PENDING = "Pending"
    LOADING = "Loading"
    READY = "Ready"
    FAILED = "Failed"


class GpuMode(StrEnum):
    EXCLUSIVE = "exclusive"
    SHARED = "shared"
    MIG = "mig"


class GpuHealth(StrEnum):
    HEALTHY = "Healthy"
    DEGRADED = "Degraded"
    UNHEALTHY = "Unhealthy"


# Labels on every object the platform emits.
LABEL_MANAGED_BY: Final = "app.kubernetes.io/managed-by"
MANAGED_BY_VALUE: Final = "liquidcompute"
LABEL_PROJECT: Final = "liquidcompute.io/project"
LABEL_SERVICE: Final = "liquidcompute.io/service"
LABEL_REVISION: Final = "liquidcompute.io/revision"
FIELD_MANAGER: Final = "liquidcompute"
# Set on a Namespace only when the platform created it: the one mark that lets a project
# use (and, on its deletion, delete) a namespace. Labels alone can be copied by hand.
ANNOTATION_CREATED_BY: Final = "liquidcompute.io/created-by"
