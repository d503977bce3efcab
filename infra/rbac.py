"""Role assignments as every stack declares them (the pure naming rules live in :mod:`infra.roles`)."""

from __future__ import annotations

import pulumi
from pulumi_azure_native import authorization

from infra import roles


def assign_role(
    logical_name: str,
    *,
    scope: pulumi.Output[str],
    role_guid: str,
    principal_id: pulumi.Output[str],
    subscription_id: pulumi.Output[str],
    description: str,
) -> authorization.RoleAssignment:
    """Assign a built-in role to a service principal or managed identity at ``scope``.

    The full role-definition id is used; ``principalType: ServicePrincipal`` avoids
    ``PrincipalNotFound`` while Entra ID replicates a new identity; the name is derived from
    (scope, role, principal) by :func:`roles.role_assignment_name`, so a re-deploy updates the
    assignment instead of adding a duplicate.
    """
    name = pulumi.Output.all(scope, principal_id).apply(
        lambda parts: roles.role_assignment_name(parts[0], role_guid, parts[1])
    )
    return authorization.RoleAssignment(
        logical_name,
        role_assignment_name=name,
        scope=scope,
        principal_id=principal_id,
        principal_type=authorization.PrincipalType.SERVICE_PRINCIPAL,
        role_definition_id=subscription_id.apply(lambda sub: roles.role_definition_id(sub, role_guid)),
        description=f"{description} ({roles.ROLE_NAMES[role_guid]})",
    )


def principal_id_of(identity: object, what: str) -> str:
    """The principal id of a resource's system-assigned ``identity`` output value.

    Raises ValueError (failing the deployment, naming ``what``) when the resource reported none.
    """
    principal = getattr(identity, "principal_id", None)
    if not principal:
        raise ValueError(f"the {what} reported no system-assigned identity principal id; check that its identity type is SystemAssigned")
    return principal
