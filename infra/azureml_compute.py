"""The GPU training cluster of an azureml stack: its config (:class:`ComputeConfig`) and our guardrails."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

#: AutoML for images trains on GPU VMs; Azure Machine Learning supports the NC and ND families for it.
GPU_VM_SIZE: Final = re.compile(r"^Standard_N[CD][A-Za-z0-9_]+$", re.IGNORECASE)
DEFAULT_VM_SIZE: Final = "Standard_NC4as_T4_v3"
VM_PRIORITIES: Final = ("Dedicated", "LowPriority")
#: Our guardrails on the cluster (not Azure's limits): scale down after 1 minute to 1 day idle, 1-100 nodes.
IDLE_SECONDS_RANGE: Final = (60, 86_400)
MAX_NODES_LIMIT: Final = 100


@dataclass(frozen=True, slots=True)
class ComputeConfig:
    """The GPU training cluster. ``min_nodes`` 0 means an idle environment pays nothing for compute."""

    name: str = "gpu-cluster"
    vm_size: str = DEFAULT_VM_SIZE
    """An NC or ND size, e.g. ``Standard_NC4as_T4_v3``; GPU quota for its family must exist in the region."""
    priority: str = "Dedicated"
    """``Dedicated`` or ``LowPriority`` (cheaper, can be pre-empted)."""
    min_nodes: int = 0
    max_nodes: int = 1
    idle_seconds_before_scale_down: int = 120

    @property
    def idle_time_before_scale_down(self) -> str:
        """The ISO 8601 duration ARM expects, e.g. ``PT120S``."""
        return f"PT{self.idle_seconds_before_scale_down}S"
