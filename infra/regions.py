"""Regions where Image Analysis 4.0 model customization was offered, and region-name normalization.

Azure accepts both display names ("West US 2") and programmatic names ("westus2"); the
programmatic form is what ARM returns and what we pass and export.
"""

from __future__ import annotations

from typing import Final

#: programmatic name -> display name of the regions that supported model customization.
CUSTOMIZATION_REGIONS: Final[dict[str, str]] = {
    "westus2": "West US 2",
    "eastus": "East US",
    "westeurope": "West Europe",
}


def normalize_region(value: str) -> str:
    """Return the programmatic form of a region name ("West US 2" -> "westus2").

    Case, spaces, hyphens and underscores are ignored; the result is not checked against any list.
    """
    return "".join(ch for ch in value.strip().lower() if ch not in " -_")


def supports_customization(region: str) -> bool:
    """Whether ``region`` (display or programmatic form) offered model customization."""
    return normalize_region(region) in CUSTOMIZATION_REGIONS


def describe_supported() -> str:
    """A human list such as ``westus2 (West US 2), eastus (East US), westeurope (West Europe)``."""
    return ", ".join(f"{k} ({v})" for k, v in CUSTOMIZATION_REGIONS.items())
