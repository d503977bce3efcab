"""How requests prove who we are: an API key, an Entra ID bearer token, or nothing.

:class:`Auth` is the seam the client calls before every attempt. Implementations
are thread-safe (apply calls the client from a thread pool) and never reveal the
secret they hold: ``repr`` masks it and it is registered with
:mod:`reconcile.client.redact` so it is masked in logs and messages too.

Entra ID (``BearerAuth``) needs a custom-subdomain endpoint and, for the identity,
the role *Cognitive Services User* on the Vision resource (docs/service-api.md §1,
pulumi-azure.md §7). ``azure-identity`` is imported only when a token is first
needed, so key-auth runs and ``--help`` never pay for it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, Final, Protocol, runtime_checkable

from reconcile.client.redact import redact, register_secret
from reconcile.errors import AuthError, ConfigError

KEY_HEADER: Final = "Ocp-Apim-Subscription-Key"
DEFAULT_SCOPE: Final = "https://cognitiveservices.azure.com/.default"
#: Refresh a token this many seconds before it expires, so a token never expires in flight.
REFRESH_MARGIN_S: Final = 300.0

AUTH_KINDS: Final = ("key", "entra", "none")


@runtime_checkable
class Auth(Protocol):
    """Something that adds credentials to a request."""

    def headers(self) -> Mapping[str, str]:
        """Headers to send with the next attempt. Raises :class:`AuthError` if no credential can be had."""
        ...

    def invalidate(self) -> bool:
        """Forget a cached credential after a 401; return True if a new attempt may succeed."""
        ...


class NoAuth:
    """Send no credentials (an emulator started without a key)."""

    def headers(self) -> Mapping[str, str]:
        return {}

    def invalidate(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "NoAuth()"


class KeyAuth:
    """The resource key in header ``Ocp-Apim-Subscription-Key``."""

    __slots__ = ("_key",)

    def __init__(self, key: str) -> None:
        if not key or not key.strip():
            raise ConfigError("the Vision API key is empty", hint="set it to one of the resource's two keys")
        self._key = key.strip()
        register_secret(self._key)

    def headers(self) -> Mapping[str, str]:
        return {KEY_HEADER: self._key}

    def invalidate(self) -> bool:
        # A key does not expire; asking again cannot help.
        return False

    def __repr__(self) -> str:
        return "KeyAuth(key=***)"


class BearerAuth:
    """An Entra ID access token in ``Authorization: Bearer``, cached and refreshed before expiry.

    ``credential`` is any object with ``get_token(scope) -> (token, expires_on)``
    (an ``azure.core`` TokenCredential); when omitted, ``DefaultAzureCredential`` is
    created on first use. A token is reused until ``REFRESH_MARGIN_S`` before its
    expiry. Failure to obtain a token raises :class:`AuthError` with what to check.
    """

    def __init__(
        self,
        credential: Any | None = None,
        scope: str = DEFAULT_SCOPE,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._credential = credential
        self._scope = scope
        self._clock = clock
        self._lock = threading.Lock()
        self._token: str | None = None
        self._expires_on = 0.0
        self.fetches = 0
        """How many tokens were obtained (observable for tests and stats)."""

    def headers(self) -> Mapping[str, str]:
        with self._lock:
            if self._token is None or self._clock() >= self._expires_on - REFRESH_MARGIN_S:
                self._fetch()
            assert self._token is not None
            return {"Authorization": f"Bearer {self._token}"}

    def invalidate(self) -> bool:
        with self._lock:
            had = self._token is not None
            self._token = None
            self._expires_on = 0.0
            return had

    def _fetch(self) -> None:
        if self._credential is None:
            self._credential = _default_credential()
        try:
            access = self._credential.get_token(self._scope)
        except Exception as exc:  # noqa: BLE001 - azure-identity raises many unrelated types
            first_line = (str(exc).splitlines() or [type(exc).__name__])[0]
            raise AuthError(
                f"could not obtain an Entra ID token for {self._scope}: {redact(first_line)}",
                hint=(
                    "sign in (az login), or set AZURE_CLIENT_ID/AZURE_TENANT_ID/AZURE_CLIENT_SECRET or a "
                    "federated credential for DefaultAzureCredential; or use auth kind 'key'"
                ),
            ) from None
        token, expires_on = access[0], float(access[1])
        register_secret(token)
        self._token = token
        self._expires_on = expires_on
        self.fetches += 1

    def __repr__(self) -> str:
        return f"BearerAuth(scope={self._scope!r})"


def _default_credential() -> Any:
    try:
        from azure.identity import DefaultAzureCredential
    except ImportError as exc:  # pragma: no cover - azure-identity is a dependency
        raise ConfigError(
            "auth kind 'entra' needs the azure-identity package", hint="pip install 'azure-identity>=1.15,<2'"
        ) from exc
    return DefaultAzureCredential(exclude_interactive_browser_credential=True)


def auth_from_settings(kind: str, key_env: str | None, env: Mapping[str, str]) -> Auth:
    """Build the :class:`Auth` the project config asks for.

    ``kind`` is ``key`` (read the key from environment variable ``key_env``),
    ``entra`` (DefaultAzureCredential) or ``none``. Raises :class:`ConfigError`
    naming the missing setting or environment variable and what to do; never
    includes the key itself in a message.
    """
    if kind == "none":
        return NoAuth()
    if kind == "entra":
        return BearerAuth()
    if kind != "key":
        raise ConfigError(
            f"unknown auth kind {kind!r}",
            hint=f"use one of: {', '.join(AUTH_KINDS)}",
        )
    if not key_env:
        raise ConfigError(
            "auth kind 'key' needs the name of the environment variable that holds the key (keyEnv)",
            hint="set keyEnv, e.g. VISION_KEY, in the project config",
        )
    value = env.get(key_env, "")
    if not value.strip():
        raise ConfigError(
            f"environment variable {key_env} is not set (it should hold the Vision resource key)",
            hint=(
                f"export {key_env}=<key> (az cognitiveservices account keys list -n <vision> -g <rg>), "
                "or, if the resource has disableLocalAuth=true, use auth kind 'entra'"
            ),
        )
    return KeyAuth(value)
