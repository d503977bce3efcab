"""Auth, api-version handling, unknown routes and the request log."""

from __future__ import annotations

import httpx
import pytest

from tests.fixtures.emulator import api, raw, start_validated

V = "2023-04-01-preview"


def _assert_401(r: httpx.Response) -> None:
    assert r.status_code == 401
    err = r.json()["error"]
    assert err["code"] == "401" and "Access denied" in err["message"]
    assert r.headers["x-ms-error-code"] == "401"


def test_missing_or_wrong_key_is_401(emulator):
    url = emulator.endpoint + "/computervision/datasets"
    _assert_401(raw("GET", url, params={"api-version": V}))
    _assert_401(raw("GET", url, params={"api-version": V}, headers={"Ocp-Apim-Subscription-Key": "wrong"}))
    _assert_401(raw("GET", url, params={"api-version": V}, headers={"Authorization": "Bearer test-key"}))


def test_bearer_token_and_key_both_work():
    srv, watch = start_validated(key="k-123456", token="tok-abcdef")
    with srv:
        url = srv.endpoint + "/computervision/datasets"
        ok_key = raw("GET", url, params={"api-version": V}, headers={"Ocp-Apim-Subscription-Key": "k-123456"})
        ok_token = raw("GET", url, params={"api-version": V}, headers={"Authorization": "Bearer tok-abcdef"})
        bad_token = raw("GET", url, params={"api-version": V}, headers={"Authorization": "Bearer nope"})
    assert ok_key.status_code == ok_token.status_code == 200
    _assert_401(bad_token)
    assert not watch.violations


def test_token_only_server_refuses_keys():
    srv, _ = start_validated(key=None, token="tok-abcdef")
    with srv:
        r = raw("GET", srv.endpoint + "/computervision/models", params={"api-version": V},
                      headers={"Ocp-Apim-Subscription-Key": "anything"})
    _assert_401(r)


@pytest.mark.parametrize("params, inner", [({}, "MissingApiVersionParameter"),
                                           ({"api-version": "2022-10-12-preview"}, "UnsupportedApiVersion")])
def test_missing_or_unknown_api_version(emulator, params, inner):
    r = raw("GET", emulator.endpoint + "/computervision/datasets", params=params,
                  headers={"Ocp-Apim-Subscription-Key": emulator.key})
    assert r.status_code == 400
    assert r.json()["error"]["innererror"]["code"] == inner
    assert r.headers["x-ms-error-code"] == "InvalidRequest"


def test_unknown_route_and_method_use_the_error_shape(emulator):
    with api(emulator) as c:
        unknown = c.get("/widgets")
        method = c.post("/datasets/x")
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "404"
    assert method.status_code == 405 and method.headers["x-ms-error-code"] == "405"


def test_request_log_records_method_path_status(emulator):
    import time

    before = time.time()
    with api(emulator) as c:
        c.get("/datasets")
        c.get("/models/none", params={"subscription-key": "k-secret", "top": 3})
    after = time.time()
    log = list(emulator.request_log)
    assert [(r.method, r.path, r.status) for r in log] == [
        ("GET", "/computervision/datasets", 200),
        ("GET", "/computervision/models/none", 404),
    ]
    assert log[0].query == f"api-version={V}"
    # A key sent in the query string never reaches the log; other parameters do.
    assert "k-secret" not in log[1].query and "subscription-key" not in log[1].query and "top=3" in log[1].query
    assert before <= log[0].started <= log[1].started <= after
    assert all(r.started + r.duration <= after for r in log)
    assert emulator.request_log.count(method="GET", status=404) == 1
    emulator.request_log.clear()
    assert len(emulator.request_log) == 0


def test_admin_surface(emulator):
    h = {"Ocp-Apim-Subscription-Key": emulator.key}
    base = emulator.endpoint + "/_emulator"
    assert raw("GET", base + "/health").json() == {"status": "ok"}
    assert raw("GET", base + "/clock").status_code == 401
    before = raw("GET", base + "/clock", headers=h).json()
    after = raw("POST", base + "/clock/advance", params={"seconds": 90}, headers=h).json()
    assert after["epoch"] - before["epoch"] == 90 and after["kind"] == "manual"
    assert raw("POST", base + "/clock/advance", params={"seconds": -1}, headers=h).status_code == 400
    with api(emulator) as c:
        c.get("/datasets")
    records = raw("GET", base + "/requests", headers=h).json()["value"]
    assert [(r["method"], r["status"]) for r in records] == [("GET", 200)]  # admin calls are not logged
    assert raw("DELETE", base + "/requests", headers=h).status_code == 204
    assert raw("GET", base + "/requests", headers=h).json()["value"] == []
    assert raw("PUT", base + "/faults", json={"bogus": 1}, headers=h).status_code == 400
    assert raw("PUT", base + "/faults", json={"error_statuses": [404]}, headers=h).status_code == 400


def test_faults_set_through_the_admin_surface_take_effect(emulator):
    h = {"Ocp-Apim-Subscription-Key": emulator.key}
    base = emulator.endpoint + "/_emulator"
    faults = raw("PUT", base + "/faults", json={"error_rate": 1.0, "error_statuses": [503], "seed": 7}, headers=h)
    assert faults.status_code == 200 and faults.json()["error_statuses"] == [503]
    with api(emulator) as c:
        failing = c.get("/datasets")
        assert raw("PUT", base + "/faults", json={}, headers=h).status_code == 200  # back to no faults
        healthy = c.get("/datasets")
    assert failing.status_code == 503 and failing.json()["error"]["code"]
    assert healthy.status_code == 200
    assert raw("GET", base + "/faults", headers=h).json()["error_rate"] == 0.0
