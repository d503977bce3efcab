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
