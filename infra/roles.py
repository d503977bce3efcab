"""Built-in Azure role GUIDs (identical in every tenant), role-definition ids and role-assignment names."""

from __future__ import annotations

import re
import uuid
from typing import Final

STORAGE_BLOB_DATA_READER: Final = "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1"
STORAGE_BLOB_DATA_CONTRIBUTOR: Final = "ba92f5b4-2d11-453d-a403-e96b0029c9fe"
#: Data-plane access to a Cognitive Services account. Cognitive Services Contributor has no
#: dataActions, so it is not enough for a CI identity that calls the API.
COGNITIVE_SERVICES_USER: Final = "a97b65f3-24c7-4388-baec-2e87135dc908"
#: Runs jobs, registers data and models, manages online endpoints inside one Azure Machine Learning
#: workspace; cannot create or delete compute or change the workspace itself.
AZUREML_DATA_SCIENTIST: Final = "f6c7c914-8db3-469d-8ca1-694a8f32e121"

ROLE_NAMES: Final[dict[str, str]] = {
    STORAGE_BLOB_DATA_READER: "Storage Blob Data Reader",
    STORAGE_BLOB_DATA_CONTRIBUTOR: "Storage Blob Data Contributor",
    COGNITIVE_SERVICES_USER: "Cognitive Services User",
    AZUREML_DATA_SCIENTIST: "AzureML Data Scientist",
}

#: Namespace of the uuid5 role-assignment names. Changing it renames (re-creates) every assignment.
ASSIGNMENT_NAMESPACE: Final = uuid.UUID("5d0f3c1e-7a43-5b8e-9a61-2f7c1b0d4e93")

ROLE_DEFINITION_ID_PATTERN: Final = re.compile(
    r"^/subscriptions/[0-9a-fA-F-]{36}/providers/Microsoft\.Authorization/roleDefinitions/"
    r"(?P<guid>[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})$"
)


def role_definition_id(subscription_id: str, role_guid: str) -> str:
    """The full ARM id of a built-in role in ``subscription_id``.

    Raises ``ValueError`` when the subscription id is empty (it comes from getClientConfig).
    """
    if not subscription_id:
        raise ValueError("the subscription id is empty: is the azure-native provider logged in to a subscription?")
    return f"/subscriptions/{subscription_id}/providers/Microsoft.Authorization/roleDefinitions/{role_guid}"


def role_assignment_name(scope: str, role_guid: str, principal_id: str) -> str:
    """A stable GUID name for the assignment of ``role_guid`` to ``principal_id`` at ``scope``.

    The same three inputs always give the same name (case-insensitively, as ARM ids are), so a
    re-deploy updates the existing assignment instead of adding a duplicate; a new principal
    (e.g. a re-created Vision identity) gets a new name. Raises ``ValueError`` on an empty input.
    """
    for label, value in (("scope", scope), ("role", role_guid), ("principal id", principal_id)):
        if not value:
            raise ValueError(f"cannot name a role assignment: its {label} is empty")
    key = f"{scope.lower()}|{role_guid.lower()}|{principal_id.lower()}"
    return str(uuid.uuid5(ASSIGNMENT_NAMESPACE, key))
