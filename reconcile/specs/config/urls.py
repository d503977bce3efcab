"""URL checks of the project config: the Vision endpoint and the storage account URL.

Each ``*_problem`` function returns what to fix in words, or None; the callers
attach the file, line and field.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from reconcile.specs.config.files import EMBEDDED

__all__ = ["account_url_problem", "arm_endpoint_problem", "endpoint_problem", "is_loopback", "is_regional"]


def endpoint_problem(url: str) -> str | None:
    """Why ``url`` is not a usable Vision endpoint, or None."""
    parts = urlsplit(url)
    if parts.scheme != "https" and not (parts.scheme == "http" and is_loopback(url)):
        return f"the endpoint must be https:// (http:// only for 127.0.0.1), or '{EMBEDDED}'"
    if not parts.hostname:
        return "the endpoint has no host name; write https://<resource>.cognitiveservices.azure.com"
    if parts.username or parts.password or parts.query or parts.fragment:
        return "the endpoint must not carry credentials, a query or a fragment; write only https://<host>"
    if parts.path not in ("", "/"):
        return "write the endpoint without a path (no /computervision): https://<resource>.cognitiveservices.azure.com"
    return None


def arm_endpoint_problem(url: str) -> str | None:
    """Why ``url`` is not a usable Azure Resource Manager base URL (``azureml`` environments), or None."""
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname:
        return "the Resource Manager endpoint must be https://<host> (default https://management.azure.com; the emulator serves HTTPS too)"
    if parts.username or parts.password or parts.query or parts.fragment or parts.path not in ("", "/"):
        return "write the Resource Manager endpoint as https://<host> only (no path, query or credentials)"
    return None


def account_url_problem(url: str) -> str | None:
    """Why ``url`` is not a usable blob account URL (``https://<account>.blob.core.windows.net``), or None."""
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname:
        return "accountUrl must be https://<account>.blob.core.windows.net"
    if parts.query or parts.username:
        return "accountUrl must not carry a SAS token or credentials; access uses Microsoft Entra ID"
    if parts.path not in ("", "/"):
        return "accountUrl is the account's blob endpoint without a path; put the container name in 'container'"
    return None


def is_loopback(endpoint: str | None) -> bool:
    """True for an endpoint on this machine (an emulator started by hand or by tests)."""
    host = urlsplit(endpoint or "").hostname or ""
    return host in ("127.0.0.1", "localhost", "::1")


def is_regional(url: str) -> bool:
    """True for a regional endpoint (``<region>.api.cognitive.microsoft.com``), which Entra ID cannot use."""
    host = urlsplit(url).hostname or ""
    return host.endswith(".api.cognitive.microsoft.com")
