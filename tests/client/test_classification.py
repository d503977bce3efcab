"""Every remote failure maps to exactly one class of reconcile.errors, with its context."""

from __future__ import annotations

import httpx
import pytest

from reconcile.client import errors as classify
from reconcile.errors import (
    AuthError,
    ConfigError,
    ConflictError,
    FatalError,
    NotFoundError,
    PreconditionFailedError,
    RateLimitedError,
    RemoteError,
    RetryableError,
    ServiceUnavailableError,
)
from tests.client.fakes import Script, error, make_client


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, RemoteError),
        (401, AuthError),
        (403, AuthError),
        (404, NotFoundError),
        (405, RemoteError),
        (409, ConflictError),
        (412, PreconditionFailedError),
        (413, RemoteError),
        (422, RemoteError),
        (429, RateLimitedError),
        (500, ServiceUnavailableError),
        (501, ServiceUnavailableError),
        (502, ServiceUnavailableError),
        (503, ServiceUnavailableError),
        (504, ServiceUnavailableError),
        (302, RemoteError),
    ],
)
def test_status_maps_to_class(status: int, cls: type) -> None:
    script = Script([error(status, "TheCode", "the service says no")])
    with make_client(script, max_retries=0) as client, pytest.raises(cls) as info:
        client.get("datasets/d1", params={"x": "1"})
    err = info.value
    assert type(err) is cls
    assert err.status == status
    assert err.code == "TheCode"
    assert err.method == "GET"
    assert err.path == "datasets/d1"
    assert err.request_id == script.requests[0].headers["x-ms-client-request-id"]
    assert "the service says no" in str(err)
    assert "GET datasets/d1" in str(err)
    assert "x=1" not in str(err)
    assert isinstance(err, RetryableError if status in (429,) or status >= 500 else FatalError)


def test_auth_error_hint_names_keys_local_auth_role_and_delay() -> None:
    script = Script([error(401, "401", "Access denied due to invalid subscription key or wrong API endpoint.")])
    with make_client(script) as client, pytest.raises(AuthError) as info:
        client.get("datasets/d1")
    text = str(info.value)
    assert "disableLocalAuth" in text
    assert "Cognitive Services User" in text
    assert "5 minutes" in text


def test_code_from_header_when_body_is_not_json() -> None:
    response = httpx.Response(400, headers={"x-ms-error-code": "InvalidRequest"}, text="<html>bad</html>")
    with make_client(Script([response])) as client, pytest.raises(RemoteError) as info:
        client.get("datasets/d1")
    assert info.value.code == "InvalidRequest"
    assert "<html>bad</html>" in str(info.value)


def test_body_code_wins_and_innererror_is_shown() -> None:
    body = {
        "error": {
            "code": "InvalidRequest",
            "message": "Analyze query is invalid.",
            "innererror": {"code": "NotSupportedVisualFeature", "message": "Specified feature type is not valid"},
        }
    }
    response = httpx.Response(400, headers={"x-ms-error-code": "Other"}, json=body)
    with make_client(Script([response])) as client, pytest.raises(RemoteError) as info:
        client.post("imageanalysis:analyze", params={"model-name": "m1"}, json={"url": "https://x/y.png"})
    assert info.value.code == "InvalidRequest"
    assert "NotSupportedVisualFeature" in str(info.value)
    assert info.value.path == "imageanalysis:analyze"


def test_numeric_gateway_code_is_kept_as_string() -> None:
    response = httpx.Response(401, json={"error": {"code": 401, "message": "Access denied"}})
    with make_client(Script([response])) as client, pytest.raises(AuthError) as info:
        client.get("datasets/d1")
    assert info.value.code == "401"


def test_long_messages_are_truncated() -> None:
    with make_client(Script([error(400, "X", "y" * 5000)])) as client, pytest.raises(RemoteError) as info:
        client.get("datasets/d1")
    assert len(str(info.value)) < 1000


def test_success_with_non_json_body_is_remote_error() -> None:
    with make_client(Script([httpx.Response(200, text="not json")])) as client, pytest.raises(RemoteError) as info:
        client.get("datasets/d1")
    assert "not a JSON object" in str(info.value)


def test_unusable_endpoint_is_config_error() -> None:
    with pytest.raises(ConfigError) as info:
        make_client(Script([httpx.Response(200)]), endpoint="ftp://example")
    assert "endpoint" in str(info.value)
    with pytest.raises(ConfigError):
        make_client(Script([httpx.Response(200)]), endpoint="")


def test_non_retryable_httpx_error_is_remote_error() -> None:
    script = Script([httpx.DecodingError("bad gzip")])
    with make_client(script) as client, pytest.raises(RemoteError) as info:
        client.get("datasets/d1")
    assert len(script.requests) == 1
    assert info.value.__cause__ is None


def test_outcome_unknown_table() -> None:
    assert classify.outcome_unknown(exc=httpx.ConnectError("x")) is False
    assert classify.outcome_unknown(exc=httpx.PoolTimeout("x")) is False
    assert classify.outcome_unknown(exc=httpx.ReadTimeout("x")) is True
    assert classify.outcome_unknown(exc=httpx.WriteTimeout("x")) is True
    assert classify.outcome_unknown(status=429) is False
    assert all(classify.outcome_unknown(status=s) for s in (500, 502, 503, 504))


def test_service_error_never_raises_on_odd_bodies() -> None:
    for response in (
        httpx.Response(500),
        httpx.Response(500, content=b"\xff\xfe"),
        httpx.Response(500, json=[1, 2]),
        httpx.Response(500, json={"error": "flat string"}),
    ):
        code, _message = classify.service_error(response)
        assert code is None
