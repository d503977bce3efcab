"""What each service kind can do, known without opening a session (``reconcile validate`` talks to no service).

The values are the backends' own :class:`~reconcile.backends.base.Capabilities` (one source of truth); only
what does not depend on the live service (the cluster size does) is read from them here.
"""

from __future__ import annotations

from reconcile.backends.base import Capabilities


def capabilities_of(service: str) -> Capabilities:
    """The capabilities of ``service`` (``vision`` or ``azureml``); a session's backend may refine them."""
    if service == "azureml":
        from reconcile.backends.azureml.backend import capabilities_for

        return capabilities_for(1)
    from reconcile.backends.vision import VisionBackend

    return VisionBackend.capabilities
