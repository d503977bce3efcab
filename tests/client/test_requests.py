"""What VisionClient puts on the wire: URL, headers, bodies; and what it returns."""

from __future__ import annotations

import json

import httpx
import pytest

from reconcile.client import NoAuth
from reconcile.errors import RemoteError
from tests.client.fakes import TEST_KEY, Script, make_client


def test_every_request_carries_version_headers_and_key() -> None:
    script = Script([httpx.Response(200, json={"name": "d1"})])
    with make_client(script) as client:
        client.get("datasets/d1")
    (req,) = script.requests
    assert str(req.url) == (
        "https://example.cognitiveservices.azure.com/computervision/datasets/d1?api-version=2023-04-01-preview"
    )
    assert req.headers["Content-Type"] == "application/json"
    assert req.headers["User-Agent"].startswith("vision-gitops/")
    assert req.headers["Ocp-Apim-Subscription-Key"] == TEST_KEY
    assert len(req.headers["x-ms-client-request-id"]) == 36


@pytest.mark.parametrize(
    "endpoint",
    [
        "https://example.cognitiveservices.azure.com",
        "https://example.cognitiveservices.azure.com/",
        "https://example.cognitiveservices.azure.com/computervision",
        "https://example.cognitiveservices.azure.com/computervision/",
    ],
)
def test_endpoint_forms_all_give_one_base(endpoint: str) -> None:
    with make_client(Script([httpx.Response(200)]), endpoint=endpoint) as client:
        assert client.endpoint == "https://example.cognitiveservices.azure.com/computervision/"


def test_put_patch_delete_post_shapes() -> None:
    script = Script(
        [
            httpx.Response(201, json={"name": "d1", "eTag": "e1"}),
            httpx.Response(200, json={"name": "d1", "eTag": "e2"}),
            httpx.Response(204),
            httpx.Response(202),
            httpx.Response(200, json={"customModelResult": {}}),
        ]
    )
    with make_client(script) as client:
        assert client.put("datasets/d1", {"annotationKind": "imageClassification"})["eTag"] == "e1"
        assert client.patch("datasets/d1", {"customProperties": {"a": "b"}}, if_match="e1")["eTag"] == "e2"
        assert client.delete("datasets/d1", if_match="e2") is None
        assert client.post("models/m1:cancel") is None
        assert client.post(
            "imageanalysis:analyze", params={"model-name": "m1"}, content=b"\x89PNG", content_type="image/png"
        ) == {"customModelResult": {}}
    put, patch, delete, cancel, analyze = script.requests
    assert (put.method, json.loads(put.content)) == ("PUT", {"annotationKind": "imageClassification"})
    assert "If-Match" not in put.headers
    assert patch.method == "PATCH" and patch.headers["If-Match"] == "e1"
    assert delete.method == "DELETE" and delete.headers["If-Match"] == "e2"
    assert cancel.url.path == "/computervision/models/m1:cancel" and cancel.content == b""
    assert analyze.headers["Content-Type"] == "image/png"
    assert analyze.content == b"\x89PNG"
    assert analyze.url.params["model-name"] == "m1"
    assert analyze.url.params["api-version"] == "2023-04-01-preview"


def test_delete_without_if_match_is_unconditional() -> None:
    script = Script([httpx.Response(204)])
    with make_client(script) as client:
        client.delete("models/m1")
    assert "If-Match" not in script.requests[0].headers


def test_get_returning_a_list_is_a_shape_error() -> None:
    with make_client(Script([httpx.Response(200, json=[1])])) as client, pytest.raises(RemoteError):
        client.get("datasets/d1")


def test_post_rejects_json_and_content_together() -> None:
    with make_client(Script([httpx.Response(200)])) as client, pytest.raises(ValueError):
        client.post("x", json={}, content=b"x")


def test_no_auth_sends_no_credentials() -> None:
    script = Script([httpx.Response(200, json={})])
    with make_client(script, auth=NoAuth()) as client:
        client.get("datasets")
    headers = script.requests[0].headers
    assert "Ocp-Apim-Subscription-Key" not in headers and "Authorization" not in headers


def test_timeouts_are_configured_per_phase() -> None:
    with make_client(Script([httpx.Response(200)]), timeout=12.0) as client:
        t = client._http.timeout
    assert (t.connect, t.read, t.write, t.pool) == (10.0, 12.0, 12.0, 12.0)


def test_client_is_usable_from_a_thread_pool() -> None:
    from concurrent.futures import ThreadPoolExecutor

    script = Script([lambda r: httpx.Response(200, json={"path": r.url.path})])
    with make_client(script) as client, ThreadPoolExecutor(8) as pool:
        paths = list(pool.map(lambda i: client.get(f"datasets/d{i}")["path"], range(64)))
        stats = client.stats
    assert paths == [f"/computervision/datasets/d{i}" for i in range(64)]
    assert stats.calls == 64 and stats.requests == 64
