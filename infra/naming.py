"""Azure naming rules for the resources this program names explicitly.

Each ``*_problem`` function returns why a name is invalid (a sentence ending in what to do),
or ``None`` when it is valid. Names are checked before any resource is declared, so a bad
name fails ``pulumi preview`` with a message instead of an ARM error minutes into ``up``.
"""

from __future__ import annotations

import re
from typing import Final

STORAGE_ACCOUNT_PATTERN: Final = re.compile(r"^[a-z0-9]{3,24}$")
#: Microsoft.CognitiveServices/accounts: 2-64 letters, digits and hyphens, alphanumeric at both ends.
VISION_ACCOUNT_PATTERN: Final = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])$")
#: The custom subdomain is a DNS label (<= 63 characters) under cognitiveservices.azure.com.
SUBDOMAIN_PATTERN: Final = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])$")
CONTAINER_PATTERN: Final = re.compile(r"^[a-z0-9](?:[a-z0-9-]{1,61}[a-z0-9])$")
RESOURCE_GROUP_PATTERN: Final = re.compile(r"^[-\w._()]{1,90}$")
GUID_PATTERN: Final = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def storage_account_problem(name: str) -> str | None:
    """Storage account names: 3-24 lowercase letters and digits, globally unique."""
    if STORAGE_ACCOUNT_PATTERN.match(name):
        return None
    return (
        f"{name!r} is not a valid storage account name: use 3-24 lowercase letters and digits only "
        "(no hyphens or capitals), unique across Azure, e.g. 'visiongitopsdev01'"
    )


def vision_account_problem(name: str) -> str | None:
    """Cognitive Services account names: 2-64 letters, digits, hyphens; alphanumeric at both ends."""
    if VISION_ACCOUNT_PATTERN.match(name):
        return None
    return (
        f"{name!r} is not a valid Cognitive Services account name: use 2-64 letters, digits and hyphens, "
        "starting and ending with a letter or digit, e.g. 'vision-gitops-dev'"
    )


def subdomain_problem(name: str) -> str | None:
    """Custom subdomains: a lowercase DNS label, 2-63 characters, not starting or ending with '-'."""
    if SUBDOMAIN_PATTERN.match(name):
        return None
    return (
        f"{name!r} is not a valid custom subdomain: use 2-63 lowercase letters, digits and hyphens, "
        "starting and ending with a letter or digit; it must be unique across Azure and cannot be "
        "changed once the account exists"
    )


def container_problem(name: str) -> str | None:
    """Blob container names: 3-63 lowercase letters, digits, single hyphens, alphanumeric at both ends."""
    if CONTAINER_PATTERN.match(name) and "--" not in name:
        return None
    return (
        f"{name!r} is not a valid blob container name: use 3-63 lowercase letters, digits and single "
        "hyphens, starting and ending with a letter or digit, e.g. 'training'"
    )


def resource_group_problem(name: str) -> str | None:
    """Resource group names: 1-90 letters, digits, '-', '_', '.', '(', ')'; not ending with '.'."""
    if RESOURCE_GROUP_PATTERN.match(name) and not name.endswith("."):
        return None
    return (
        f"{name!r} is not a valid resource group name: use 1-90 letters, digits, '-', '_', '.', '(' or ')', "
        "not ending with '.'"
    )


def guid_problem(value: str) -> str | None:
    """An Entra object id: a GUID such as ``00000000-0000-0000-0000-000000000000``."""
    if GUID_PATTERN.match(value):
        return None
    return f"{value!r} is not a GUID (expected the form 00000000-0000-0000-0000-000000000000)"


# --- Azure Machine Learning stacks -----------------------------------------------------------

#: Microsoft.MachineLearningServices/workspaces: 3-33 letters, digits, '-' and '_', alphanumeric first.
WORKSPACE_PATTERN: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{2,32}$")
#: Key Vault: 3-24 letters, digits and single hyphens, a letter first, a letter or digit last; globally unique.
KEY_VAULT_PATTERN: Final = re.compile(r"^[A-Za-z](?:[A-Za-z0-9-]{1,22})[A-Za-z0-9]$")
#: Log Analytics workspaces: 4-63 letters, digits and hyphens, alphanumeric at both ends.
LOG_ANALYTICS_PATTERN: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{2,61}[A-Za-z0-9]$")
#: Application Insights components: 1-255 letters, digits, '_', '-', '.', '(' and ')', not ending with '.'.
APP_INSIGHTS_PATTERN: Final = re.compile(r"^[\w\-.()]{1,255}$")
#: Compute clusters: 2-16 letters, digits and hyphens, a letter first (our stricter reading of the portal rule).
COMPUTE_PATTERN: Final = re.compile(r"^[A-Za-z][A-Za-z0-9-]{0,14}[A-Za-z0-9]$")
#: Datastores: lowercase letters, digits and underscores, a letter first (like ``workspaceblobstore``).
DATASTORE_PATTERN: Final = re.compile(r"^[a-z][a-z0-9_]{0,254}$")
#: Online endpoints: 3-32 letters, digits and hyphens, a letter first; part of a regional DNS name.
ENDPOINT_PATTERN: Final = re.compile(r"^[A-Za-z](?:[A-Za-z0-9-]{1,30})[A-Za-z0-9]$")


def workspace_problem(name: str) -> str | None:
    """Azure Machine Learning workspace names."""
    if WORKSPACE_PATTERN.match(name):
        return None
    return (
        f"{name!r} is not a valid Azure Machine Learning workspace name: use 3-33 letters, digits, '-' "
        "and '_', starting with a letter or digit, e.g. 'mlw-vision-gitops-dev'"
    )


def key_vault_problem(name: str) -> str | None:
    """Key Vault names (global DNS names under vault.azure.net)."""
    if KEY_VAULT_PATTERN.match(name) and "--" not in name:
        return None
    return (
        f"{name!r} is not a valid Key Vault name: use 3-24 letters, digits and single hyphens, starting "
        "with a letter and ending with a letter or digit, unique across Azure, e.g. 'kv-vision-gitops-dev'"
    )


def log_analytics_problem(name: str) -> str | None:
    """Log Analytics workspace names."""
    if LOG_ANALYTICS_PATTERN.match(name):
        return None
    return (
        f"{name!r} is not a valid Log Analytics workspace name: use 4-63 letters, digits and hyphens, "
        "starting and ending with a letter or digit"
    )


def app_insights_problem(name: str) -> str | None:
    """Application Insights component names."""
    if APP_INSIGHTS_PATTERN.match(name) and not name.endswith("."):
        return None
    return (
        f"{name!r} is not a valid Application Insights name: use 1-255 letters, digits, '_', '-', '.', "
        "'(' or ')', not ending with '.'"
    )


def compute_problem(name: str) -> str | None:
    """Azure Machine Learning compute cluster names."""
    if COMPUTE_PATTERN.match(name):
        return None
    return (
        f"{name!r} is not a valid compute cluster name: use 2-16 letters, digits and hyphens, starting "
        "with a letter and ending with a letter or digit, e.g. 'gpu-cluster'"
    )


def datastore_problem(name: str) -> str | None:
    """Azure Machine Learning datastore names."""
    if DATASTORE_PATTERN.match(name):
        return None
    return (
        f"{name!r} is not a valid datastore name: use lowercase letters, digits and underscores, "
        "starting with a letter (no hyphens), e.g. 'vision_gitops'"
    )


def endpoint_problem(name: str) -> str | None:
    """Managed online endpoint names (``<name>.<region>.inference.ml.azure.com``)."""
    if ENDPOINT_PATTERN.match(name) and "--" not in name:
        return None
    return (
        f"{name!r} is not a valid online endpoint name: use 3-32 letters, digits and single hyphens, starting "
        "with a letter and ending with a letter or digit; it must be unique in its region"
    )
