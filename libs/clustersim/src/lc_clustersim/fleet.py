"""The simulated GPU fleet: parsing `--gpus 2x4:H100-80GB` and building GPU objects.

Who calls it: `lc_clustersim.engine` (initial fleet, GPUs added later through the fault
knobs) and the CLI (to validate `--gpus` before starting anything). Pure functions.

A fleet spec is one or more `NODESxDEVICES:PRODUCT` terms separated by commas, e.g.
`2x4:H100-80GB,1x2:A100-40GB`; a product's memory is read from its `<n>GB` suffix.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any

from lc_contracts.engine import ENGINE_GROUP, ENGINE_VERSION, GPU_KIND, GpuHealth, GpuMode

_TERM = re.compile(r"^\s*(\d+)\s*x\s*(\d+)\s*:\s*([A-Za-z0-9._-]+)\s*$")
_MEMORY = re.compile(r"(\d+)\s*G[Bi]?B?$", re.IGNORECASE)
DEFAULT_MEMORY_MIB = 81920


@dataclass(frozen=True)
class GpuDevice:
    node: str
    index: int
    product: str
    memory_mib: int

    @property
    def name(self) -> str:
        return f"{self.node}-gpu{self.index}"

    @property
    def uuid(self) -> str:
        return "GPU-" + str(uuid.uuid5(uuid.NAMESPACE_DNS, f"{self.node}.{self.index}.clustersim"))


def product_memory_mib(product: str) -> int:
    match = _MEMORY.search(product)
    return int(match.group(1)) * 1024 if match else DEFAULT_MEMORY_MIB


def parse_fleet(
    spec: str, *, node_prefix: str = "sim-node", first_node: int = 0
) -> list[GpuDevice]:
    """Devices for a fleet spec; raises ValueError with the expected format on bad input."""
    devices: list[GpuDevice] = []
    node_number = first_node
    for term in filter(None, (t.strip() for t in spec.split(","))):
        match = _TERM.match(term)
        if not match:
            raise ValueError(
                f"bad GPU fleet term {term!r}: expected NODESxDEVICES:PRODUCT, e.g. 2x4:H100-80GB"
            )
        nodes, per_node, product = int(match.group(1)), int(match.group(2)), match.group(3)
        if nodes < 1 or per_node < 1:
            raise ValueError(f"bad GPU fleet term {term!r}: counts must be at least 1")
        for _ in range(nodes):
            node = f"{node_prefix}-{node_number}"
            node_number += 1
            devices += [
                GpuDevice(node, index, product, product_memory_mib(product))
                for index in range(per_node)
            ]
    return devices


def gpu_object(device: GpuDevice, *, mode: GpuMode = GpuMode.SHARED) -> dict[str, Any]:
    """The GPU custom resource for a device, with a fresh, idle status."""
    return {
        "apiVersion": f"{ENGINE_GROUP}/{ENGINE_VERSION}",
        "kind": GPU_KIND,
        "metadata": {
            "name": device.name,
            "labels": {"engine.greenthread.ai/node": device.node},
        },
        "spec": {
            "node": device.node,
            "index": device.index,
            "uuid": device.uuid,
            "product": device.product,
            "memoryMiB": device.memory_mib,
        },
        "status": {
            "mode": mode.value,
            "health": GpuHealth.HEALTHY.value,
            "memoryAvailableMiB": device.memory_mib,
            "utilization": 0,
            "allocations": [],
        },
    }
