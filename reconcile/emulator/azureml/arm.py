"""ARM conventions shared by every Azure ML route: api-versions, resource ids, envelopes, errors.

:class:`ArmError` is raised anywhere while handling a request and becomes the ARM
``ErrorResponse`` (``{"error": {code, message, details, additionalInfo}}``) plus
``x-ms-error-code`` at one place (:mod:`reconcile.emulator.azureml.app`).
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

PROVIDER = "Microsoft.MachineLearningServices"

#: The one version the stored swaggers describe exactly (our backend sends it).
STABLE_API_VERSION = "2024-04-01"

#: What the emulator accepts (REFERENCE §0): the versions azure-ai-ml 1.35 pins per operation
#: group, the stable one we hold, and the newer stable ones. Anything else is refused as ARM does.
API_VERSIONS: tuple[str, ...] = (
    "2022-02-01-preview",
    "2023-04-01-preview",
    "2023-08-01-preview",
    "2024-01-01-preview",
    "2024-10-01-preview",
    STABLE_API_VERSION,
    "2024-10-01",
    "2025-04-01",
    "2025-06-01",
    "2025-12-01",
)


class ArmError(Exception):
    """An ARM error answer; ``code`` is also sent as ``x-ms-error-code``."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        details: list[tuple[str, str]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = list(details or [])
        self.headers = dict(headers or {})

    def body(self) -> dict[str, Any]:
        return {
            "error": {
                "code": self.code,
                "message": self.message,
                "details": [{"code": c, "message": m, "details": [], "additionalInfo": []} for c, m in self.details],
                "additionalInfo": [],
            }
        }


def user_error(message: str, status: int = 400) -> ArmError:
    """The service's generic client-error code (REFERENCE §1.3)."""
    return ArmError(status, "UserError", message)


def not_found(what: str, name: str) -> ArmError:
    return ArmError(404, "UserError", f"{what} '{name}' was not found in the workspace.",
                    details=[("NotFound", f"{what} not found")])


def check_api_version(raw: str | None) -> str:
    """The api-version of a request, or the 400 ARM sends for a missing or unknown one."""
    if not raw:
        raise ArmError(400, "MissingApiVersionParameter",
                       "The api-version query parameter (?api-version=) is required for all requests.")
    if raw not in API_VERSIONS:
        raise ArmError(
            400,
            "InvalidApiVersionParameter",
            f"The api-version '{raw}' is invalid. The supported versions are '{','.join(API_VERSIONS)}'.",
        )
    return raw


@dataclass(frozen=True, slots=True)
class Workspace:
    """The one workspace an emulator serves (its coordinates are set at start)."""

    subscription: str = "00000000-0000-0000-0000-000000000000"
    resource_group: str = "vision-gitops"
    name: str = "vision-gitops-ws"
    region: str = "westeurope"
    workspace_id: str = "6a3c5b8e-0000-4000-8000-00000000e001"

    @property
    def scope(self) -> str:
        """``/subscriptions/../workspaces/{ws}``: the ARM id, also the run-history and MLflow scope."""
        return (f"/subscriptions/{self.subscription}/resourceGroups/{self.resource_group}"
                f"/providers/{PROVIDER}/workspaces/{self.name}")

    def matches(self, subscription: str, resource_group: str, name: str) -> bool:
        # ARM treats subscription and resource group names case-insensitively.
        return (subscription.lower() == self.subscription.lower()
                and resource_group.lower() == self.resource_group.lower()
                and name.lower() == self.name.lower())


def iso(t: float) -> str:
    """Unix seconds -> ``2023-07-01T00:00:00.000000+00:00`` (what the service sends)."""
    frac = f"{t - int(t):.6f}"[1:]
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(int(t))) + frac + "+00:00"


def system_data(created: float, modified: float, principal: str = "vision-gitops") -> dict[str, Any]:
    return {
        "createdAt": iso(created),
        "createdBy": principal,
        "createdByType": "Application",
        "lastModifiedAt": iso(modified),
        "lastModifiedBy": principal,
        "lastModifiedByType": "Application",
    }


def new_guid() -> str:
    return str(uuid.uuid4())
