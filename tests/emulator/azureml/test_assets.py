"""ARM conventions and the asset operations of the Azure ML emulator (REFERENCE §1, §3.1–3.3, §3.5)."""

from __future__ import annotations

import httpx
import pytest

from tests.fixtures.azureml import API_VERSION, TOKEN, arm, classification_rows, register_data, write_mltable

pytestmark = pytest.mark.azurite


def test_unknown_or_missing_api_version_is_refused_as_arm_does(azureml):
    with arm(azureml) as c:
        r = c.get("/data", params={"api-version": "2019-05-01"})
        assert r.status_code == 400
        assert r.json()["error"]["code"] == "InvalidApiVersionParameter"
        assert r.headers["x-ms-error-code"] == "InvalidApiVersionParameter"
    r = httpx.get(azureml.workspace_url + "/data", headers={"Authorization": f"Bearer {TOKEN}"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "MissingApiVersionParameter"


@pytest.mark.parametrize("version", ["2023-04-01-preview", "2024-01-01-preview", "2024-04-01", "2025-12-01"])
def test_the_versions_clients_send_are_accepted(azureml, version):
    with arm(azureml, version) as c:
        assert c.get("/data").status_code == 200


def test_arm_routes_need_a_bearer_token(azureml):
    r = httpx.get(azureml.workspace_url, params={"api-version": API_VERSION})
    assert r.status_code == 401 and r.json()["error"]["code"] == "AuthenticationFailed"
    r = httpx.get(azureml.workspace_url, params={"api-version": API_VERSION}, headers={"Authorization": "Bearer no"})
    assert r.status_code == 401 and r.json()["error"]["code"] == "InvalidAuthenticationToken"


def test_another_workspace_is_not_found(azureml):
    url = azureml.workspace_url.replace("vision-gitops-ws", "other-ws")
    r = httpx.get(url, params={"api-version": API_VERSION}, headers={"Authorization": f"Bearer {TOKEN}"})
    assert r.status_code == 404 and r.json()["error"]["code"] == "ResourceNotFound"


def test_workspace_and_default_datastore_point_at_the_planes_outside_arm(azureml):
    with arm(azureml) as c:
        ws = c.get("").json()
        assert ws["properties"]["discoveryUrl"] == azureml.endpoint + "/discovery"
        assert ws["properties"]["mlFlowTrackingUri"].startswith("azureml://127.0.0.1:")
        assert r_ok(c.get("/datastores", params={"isDefault": "true"}))["value"][0]["name"] == "workspaceblobstore"
        store = r_ok(c.get("/datastores/workspaceblobstore"))
        assert store["properties"]["containerName"] == azureml.service.blobs.config.container
        assert "key" not in str(store["properties"]["credentials"]).lower().replace("accountkey", "")
        secrets = r_ok(c.post("/datastores/workspaceblobstore/listSecrets", json={"expirableSecret": True}))
        assert secrets == {"secretsType": "AccountKey", "key": azureml.service.blobs.config.key}
    discovery = httpx.get(azureml.endpoint + "/discovery").json()  # no Authorization, as azure-ai-ml calls it
    assert discovery["api"] == azureml.endpoint


def r_ok(r: httpx.Response) -> dict:
    assert r.status_code == 200, r.text
    return r.json()


def test_data_versions_are_immutable_archivable_and_hidden_when_archived(azureml):
    uri = write_mltable(azureml, "vision-gitops/ds/fruit/aaa/train", classification_rows({"red": 2, "blue": 2}))
    with arm(azureml) as c:
        first = register_data(c, "fruit", "1", uri, tags={"owner": "a"})
        assert first.status_code == 201
        assert first.json()["id"].endswith("/data/fruit/versions/1")
        assert register_data(c, "fruit", "1", uri, tags={"owner": "a"}).status_code == 200  # same body: no-op
        moved = register_data(c, "fruit", "1", uri.replace("aaa", "bbb"))
        assert moved.status_code == 400
        assert moved.json()["error"] == {"code": "UserError", "message": "Asset paths cannot be updated.",
                                         "details": [], "additionalInfo": []}
        container = r_ok(c.get("/data/fruit"))
        assert container["properties"]["latestVersion"] == "1" and container["properties"]["nextVersion"] == "2"
        archived = register_data(c, "fruit", "1", uri, isArchived=True)
        assert archived.status_code == 200 and archived.json()["properties"]["isArchived"] is True
        assert r_ok(c.get("/data/fruit/versions"))["value"] == []
        assert [v["name"] for v in r_ok(c.get("/data/fruit/versions", params={"listViewType": "All"}))["value"]] == ["1"]
        assert [v["name"] for v in r_ok(c.get("/data/fruit/versions",
                                                params={"listViewType": "ArchivedOnly"}))["value"]] == ["1"]
        refused = c.delete("/data/fruit/versions/1")
        assert refused.status_code == 400 and "archive" in refused.json()["error"]["message"]


def test_a_container_names_its_last_created_version_and_keeps_the_maps_it_is_given(azureml):
    """What the backend's fast observe relies on: ``latestVersion`` is the version created last (a re-PUT of an
    older one does not move it), and a container PUT replaces its tags and properties without touching it."""
    uri = write_mltable(azureml, "vision-gitops/ds/veg/aaa/train", classification_rows({"red": 2, "blue": 2}))
    with arm(azureml) as c:
        assert register_data(c, "veg", "b2", uri).status_code == 201
        assert register_data(c, "veg", "a1", uri.replace("aaa", "bbb")).status_code == 201
        assert register_data(c, "veg", "b2", uri, tags={"x": "y"}).status_code == 200  # older version re-tagged
        assert r_ok(c.get("/data/veg"))["properties"]["latestVersion"] == "a1"
        put = c.put("/data/veg", json={"properties": {"dataType": "mltable", "tags": {"t": "1"},
                                                      "properties": {"vision-gitops/mirrors": "a1"}}})
        assert put.status_code == 200
        listed = next(x for x in r_ok(c.get("/data"))["value"] if x["name"] == "veg")["properties"]
        assert (listed["latestVersion"], listed["tags"], listed["properties"]) == ("a1", {"t": "1"},
                                                                                   {"vision-gitops/mirrors": "a1"})
        assert register_data(c, "veg", "c3", uri.replace("aaa", "ccc"), isArchived=True).status_code == 201
        assert r_ok(c.get("/data/veg"))["properties"]["latestVersion"] == "c3"  # archived or not


def test_lists_page_with_next_links(azureml):
    azureml.settings.page_size = 2
    with arm(azureml) as c:
        for v in range(5):
            assert register_data(c, "paged", str(v), "azureml://datastores/workspaceblobstore/paths/p/").status_code == 201
        names, url, pages = [], "/data/paged/versions", 0
        params: dict | None = {"$orderBy": "createdtime desc"}
        while url and pages < 10:
            body = r_ok(c.get(url, params=params) if params else httpx.get(url, headers=c.headers))
            names += [v["name"] for v in body["value"]]
            url, params, pages = body.get("nextLink"), None, pages + 1
        assert names == ["4", "3", "2", "1", "0"] and pages == 3
        assert [v["name"] for v in r_ok(c.get("/data/paged/versions", params={"$top": "1",
                                              "$orderBy": "createdtime desc"}))["value"]] == ["4"]


def test_model_versions_return_flavors_and_refuse_a_new_path(azureml):
    body = {"properties": {"modelType": "mlflow_model", "modelUri": "azureml://jobs/j_HD_0/outputs/artifacts/outputs/"
                           "mlflow-model/", "tags": {"spec": "1"}, "properties": {}, "isAnonymous": False,
                           "isArchived": False}}
    with arm(azureml) as c:
        created = c.put("/models/fruit-model/versions/1", json=body)
        assert created.status_code == 201
        assert isinstance(created.json()["properties"]["flavors"], dict)
        body["properties"]["tags"] = {"spec": "2"}
        assert c.put("/models/fruit-model/versions/1", json=body).json()["properties"]["tags"] == {"spec": "2"}
        body["properties"]["modelUri"] = "azureml://jobs/other/outputs/artifacts/outputs/mlflow-model/"
        assert c.put("/models/fruit-model/versions/1", json=body).json()["error"]["message"] == \
            "Asset paths cannot be updated."
        assert [m["name"] for m in r_ok(c.get("/models"))["value"]] == ["fruit-model"]
        assert r_ok(c.get("/models/fruit-model"))["properties"]["latestVersion"] == "1"
        assert c.get("/models/nope/versions/1").status_code == 404


def test_bad_bodies_get_a_user_error_naming_the_field(azureml):
    with arm(azureml) as c:
        r = c.put("/data/x/versions/1", json={"properties": {"dataType": "mltable"}})
        assert r.status_code == 400 and "dataUri" in r.json()["error"]["message"]
        r = c.put("/data/x/versions/1", content=b"{not json")
        assert r.status_code == 400 and r.json()["error"]["code"] == "InvalidRequestContent"
        r = c.put("/data/bad name/versions/1", json={"properties": {"dataType": "mltable", "dataUri": "azureml://x"}})
        assert r.status_code == 400 and "name" in r.json()["error"]["message"]


def test_oversized_and_overly_deep_bodies_are_refused(azureml):
    from reconcile.limits import JSON_DEPTH, REQUEST_JSON_BYTES

    with arm(azureml) as c:
        big = c.put("/data/x/versions/1", content=b"{" + b" " * REQUEST_JSON_BYTES.value + b"}",
                    headers={"content-type": "application/json"})
        assert big.status_code == 413 and "requestJsonBytes" in big.json()["error"]["message"]
        deep = c.put("/data/x/versions/1", content=b"[" * (JSON_DEPTH.value + 1) + b"]" * (JSON_DEPTH.value + 1))
        assert deep.status_code == 400 and "jsonDepth" in deep.json()["error"]["message"]


def test_a_resource_type_it_does_not_serve_is_named(azureml):
    with arm(azureml) as c:
        r = c.get("/codes")
        assert r.status_code == 404 and r.json()["error"]["code"] == "InvalidResourceType"
        assert c.delete("/datastores/workspaceblobstore").status_code == 405
