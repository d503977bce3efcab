"""The resource group every stack lives in: created (logical name ``resource-group``), or an
existing one looked up by name."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi_azure_native import resources

from infra.stack_config import StackConfig


@dataclass(frozen=True)
class StackResourceGroup:
    """The group a stack's resources go in."""

    resource: resources.ResourceGroup | None
    """None when an existing resource group is used."""
    name: pulumi.Output[str]


def declare_resource_group(settings: StackConfig) -> StackResourceGroup:
    """Declare the stack's resource group, or look up the existing one. Must run inside a Pulumi
    program (or under mocks)."""
    if settings.use_existing_resource_group:
        # A lookup, not a declaration: a missing group fails preview, and destroy never deletes it.
        name = resources.get_resource_group_output(resource_group_name=settings.resource_group_name).name
        return StackResourceGroup(None, name)
    group = resources.ResourceGroup(
        "resource-group",
        resource_group_name=settings.resource_group_name,
        location=settings.location,
        tags=dict(settings.tags),
    )
    return StackResourceGroup(group, group.name)
