"""Auth: key header, bearer token caching/refresh, settings errors, lazy azure-identity."""

from __future__ import annotations

import subprocess
import sys

import httpx
import pytest

from reconcile.client import BearerAuth, KeyAuth, NoAuth, auth_from_settings
from reconcile.client.auth import REFRESH_MARGIN_S
from reconcile.errors import AuthError, ConfigError
from tests.client.fakes import Script, error, make_client


class FakeCredential:
    """Issues tokens ``tok-1``, ``tok-2``... each valid ``lifetime`` seconds from the fake wall clock."""

    def __init__(self, clock: list[float], lifetime: float = 3600.0) -> None:
        self.clock = clock
        self.lifetime = lifetime
        self.scopes: list[str] = []

    def get_token(self, scope: str):
        self.scopes.append(scope)
        return (f"eyJtok.{len(self.scopes):04d}.secretpart", self.clock[0] + self.lifetime)


def test_key_auth_header_and_repr() -> None:
    auth = KeyAuth("abcdef123456")
    assert auth.headers() == {"Ocp-Apim-Subscription-Key": "abcdef123456"}
    assert "abcdef123456" not in repr(auth)
    assert auth.invalidate() is False


def test_empty_key_is_config_error() -> None:
    with pytest.raises(ConfigError):
        KeyAuth("  ")


def test_bearer_caches_until_refresh_margin() -> None:
    now = [1000.0]
    cred = FakeCredential(now)
    auth = BearerAuth(cred, clock=lambda: now[0])
    first = auth.headers()["Authorization"]
    now[0] += 3600.0 - REFRESH_MARGIN_S - 1
    assert auth.headers()["Authorization"] == first
    assert auth.fetches == 1
    now[0] += 2  # inside the margin: refresh before it expires
    assert auth.headers()["Authorization"] != first
    assert auth.fetches == 2
    assert cred.scopes == ["https://cognitiveservices.azure.com/.default"] * 2


def test_bearer_401_refreshes_token_once() -> None:
    now = [1000.0]
    auth = BearerAuth(FakeCredential(now), clock=lambda: now[0])
    script = Script([error(401, "401", "token expired"), httpx.Response(200, json={"ok": True})])
    with make_client(script, auth=auth) as client:
        assert client.get("datasets/d1") == {"ok": True}
    tokens = [r.headers["Authorization"] for r in script.requests]
    assert tokens[0] != tokens[1]
    assert auth.fetches == 2


def test_bearer_persistent_401_is_auth_error_after_one_refresh() -> None:
    now = [1000.0]
    auth = BearerAuth(FakeCredential(now), clock=lambda: now[0])
    script = Script([error(401, "401", "no role")])
    with make_client(script, auth=auth) as client, pytest.raises(AuthError):
        client.get("datasets/d1")
    assert len(script.requests) == 2


def test_credential_failure_is_auth_error_without_secrets() -> None:
    class Broken:
        def get_token(self, scope: str):
            raise RuntimeError("DefaultAzureCredential failed\nAccountKey=abc123secret;")

    with pytest.raises(AuthError) as info:
        BearerAuth(Broken()).headers()
    assert "az login" in str(info.value)
    assert "abc123secret" not in str(info.value)


def test_auth_from_settings() -> None:
    assert isinstance(auth_from_settings("none", None, {}), NoAuth)
    assert isinstance(auth_from_settings("entra", None, {}), BearerAuth)
    key = auth_from_settings("key", "VISION_KEY", {"VISION_KEY": "k-1234567"})
    assert isinstance(key, KeyAuth) and key.headers()["Ocp-Apim-Subscription-Key"] == "k-1234567"


def test_auth_from_settings_names_the_missing_variable() -> None:
    with pytest.raises(ConfigError) as info:
        auth_from_settings("key", "MY_VISION_KEY", {})
    text = str(info.value)
    assert "MY_VISION_KEY" in text and "export" in text and "entra" in text
    with pytest.raises(ConfigError) as info:
        auth_from_settings("key", None, {})
    assert "keyEnv" in str(info.value)
    with pytest.raises(ConfigError) as info:
        auth_from_settings("password", None, {})
    assert "key, entra, none" in str(info.value)


def test_azure_identity_is_imported_only_when_a_token_is_needed() -> None:
    code = (
        "import sys; from reconcile.client import auth_from_settings, VisionClient; "
        "a = auth_from_settings('entra', None, {}); "
        "print('azure.identity' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_token_failure_during_a_call_carries_the_call_context() -> None:
    class Broken:
        def get_token(self, scope: str):
            raise RuntimeError("no credential configured")

    script = Script([httpx.Response(200, json={})])
    with make_client(script, auth=BearerAuth(Broken())) as client, pytest.raises(AuthError) as info:
        client.put("datasets/d1", {})
    err = info.value
    assert (err.method, err.path, err.ambiguous_write, err.status) == ("PUT", "datasets/d1", False, None)
    assert script.requests == []


def test_bearer_refresh_also_after_a_retry_but_only_once_per_call() -> None:
    now = [1000.0]
    auth = BearerAuth(FakeCredential(now), clock=lambda: now[0])
    script = Script([error(503), error(401, "401", "expired"), error(401, "401", "expired")])
    with make_client(script, auth=auth) as client, pytest.raises(AuthError) as info:
        client.get("datasets/d1")
    assert len(script.requests) == 3
    assert auth.fetches == 2
    assert info.value.attempts == 3
