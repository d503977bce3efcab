"""Online endpoints and deployments: LROs, traffic, keys and scoring by the trained model (REFERENCE §3.6–3.7, §4.5)."""

from __future__ import annotations

import base64

import httpx
import pytest

from tests.fixtures.azureml import (
    COLOURS, TOKEN, arm, automl_job_body, classification_rows, colour_png, register_data, wait_job, write_mltable,
)

pytestmark = pytest.mark.azurite
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def _trained_model(srv, c, name: str = "colours") -> str:
    uri = write_mltable(srv, f"vision-gitops/ds/{name}/1", classification_rows({"red": 5, "blue": 5, "green": 5}))
    assert register_data(c, name, "1", uri).status_code == 201
    train = f"{srv.workspace.scope}/data/{name}/versions/1"
    assert c.put(f"/jobs/{name}-job", json=automl_job_body(srv, "ImageClassification", train)).status_code == 201
    wait_job(srv, c, f"{name}-job", {"Completed"})
    run = httpx.get(f"{srv.endpoint}/mlflow/v2.0{srv.workspace.scope}/api/2.0/mlflow/runs/get",
                    params={"run_id": f"{name}-job"}, headers=AUTH).json()["run"]
    best = {t["key"]: t["value"] for t in run["data"]["tags"]}["automl_best_child_run_id"]
    body = {"properties": {"modelType": "mlflow_model", "isAnonymous": False, "isArchived": False, "tags": {},
                           "properties": {},
                           "modelUri": f"azureml://jobs/{best}/outputs/artifacts/outputs/mlflow-model/"}}
    assert c.put(f"/models/{name}-model/versions/1", json=body).status_code == 201
    return f"{srv.workspace.scope}/models/{name}-model/versions/1"


def _poll(srv, url: str, *, step: float = 15.0, max_steps: int = 100) -> httpx.Response:
    """Poll an LRO URL as azure-core does, moving the clock between polls."""
    for _ in range(max_steps):
        r = httpx.get(url, headers=AUTH)
        if r.status_code != 202 and not (r.status_code == 200 and r.json().get("status") == "InProgress"):
            return r
        srv.advance_clock(step)
    raise AssertionError(f"{url} never finished")


def _endpoint_body(traffic: dict | None = None, auth: str = "Key") -> dict:
    return {"location": "westeurope", "identity": {"type": "SystemAssigned"}, "tags": {},
            "properties": {"authMode": auth, "traffic": traffic or {}, "publicNetworkAccess": "Enabled"}}


def _deployment_body(model: str) -> dict:
    return {"location": "westeurope", "sku": {"name": "Default", "capacity": 1}, "tags": {},
            "properties": {"endpointComputeType": "Managed", "model": model, "instanceType": "Standard_DS3_v2",
                           "appInsightsEnabled": False, "environmentVariables": {}, "properties": {}}}


def _score_body(*colours: str) -> dict:
    data = [base64.b64encode(colour_png(COLOURS[c], seed=99)).decode() for c in colours]
    return {"input_data": {"columns": ["image"], "data": data}}


def test_an_endpoint_serves_the_trained_model_through_its_traffic(azureml_pixels):
    azureml = azureml_pixels
    with arm(azureml) as c:
        model = _trained_model(azureml, c)
        created = c.put("/onlineEndpoints/colours-ep", json=_endpoint_body())
        assert created.status_code == 201
        assert created.json()["properties"]["provisioningState"] == "Creating"
        status = _poll(azureml, created.headers["azure-asyncoperation"])
        assert status.json()["status"] == "Succeeded"
        ep = c.get("/onlineEndpoints/colours-ep").json()
        assert ep["properties"]["provisioningState"] == "Succeeded"

        dep = c.put("/onlineEndpoints/colours-ep/deployments/blue", json=_deployment_body(model))
        assert dep.status_code == 201 and dep.json()["properties"]["provisioningState"] == "Creating"
        assert _poll(azureml, dep.headers["azure-asyncoperation"]).json()["status"] == "Succeeded"
        got = c.get("/onlineEndpoints/colours-ep/deployments/blue").json()
        assert got["properties"]["scaleSettings"] == {"scaleType": "Default"}  # azure-ai-ml needs the defaults

        keys = c.post("/onlineEndpoints/colours-ep/listKeys").json()
        score_uri = ep["properties"]["scoringUri"]
        headers = {"Authorization": f"Bearer {keys['primaryKey']}"}
        no_traffic = httpx.post(score_uri, json=_score_body("red"), headers=headers)
        assert no_traffic.status_code == 424  # a new deployment gets 0 % until the endpoint names it
        direct = httpx.post(score_uri, json=_score_body("red"), headers={**headers, "azureml-model-deployment": "blue"})
        assert direct.status_code == 200

        assert c.put("/onlineEndpoints/colours-ep", json=_endpoint_body({"blue": 100})).status_code == 200
        answer = httpx.post(score_uri, json=_score_body("red", "blue", "green"), headers=headers)
        assert answer.status_code == 200 and answer.headers["azureml-model-deployment"] == "blue"
        picks = [p["labels"][max(range(len(p["probs"])), key=p["probs"].__getitem__)] for p in answer.json()]
        assert picks == ["red", "blue", "green"]
        assert httpx.post(score_uri, json=_score_body("red"), headers={"Authorization": "Bearer wrong"}).status_code == 401


def test_traffic_must_name_existing_deployments_and_add_up_to_100(azureml):
    with arm(azureml) as c:
        assert c.put("/onlineEndpoints/ep", json=_endpoint_body()).status_code == 201
        r = c.put("/onlineEndpoints/ep", json=_endpoint_body({"ghost": 100}))
        assert r.status_code == 400 and "ghost" in r.json()["error"]["message"]
        r = c.patch("/onlineEndpoints/ep", json={"properties": {"traffic": {}}})
        assert r.status_code == 400 and "PUT" in r.json()["error"]["message"]
        r = c.patch("/onlineEndpoints/ep", json={"tags": {"team": "vision"}})
        assert r.status_code == 202
        final = _poll(azureml, r.headers["location"])
        assert final.status_code == 200 and final.json()["tags"] == {"team": "vision"}


def test_a_deployment_of_an_unknown_model_is_refused_and_quota_can_fail(azureml):
    with arm(azureml) as c:
        assert c.put("/onlineEndpoints/ep", json=_endpoint_body()).status_code == 201
        r = c.put("/onlineEndpoints/ep/deployments/d", json=_deployment_body(azureml.workspace.scope +
                                                                            "/models/ghost/versions/1"))
        assert r.status_code == 400 and "ghost:1" in r.json()["error"]["message"]
        body = {"properties": {"modelType": "custom_model", "modelUri": "azureml://datastores/x/paths/m/"}}
        assert c.put("/models/foreign/versions/1", json=body).status_code == 201
        r = c.put("/onlineEndpoints/ep/deployments/d", json=_deployment_body("azureml:foreign:1"))
        assert r.status_code == 201
        status = _poll(azureml, r.headers["azure-asyncoperation"]).json()
        assert status["status"] == "Failed" and "AutoML job" in status["error"]["message"]
        assert c.get("/onlineEndpoints/ep/deployments/d").json()["properties"]["provisioningState"] == "Failed"
        azureml.settings.quota_exceeded = True
        r = c.put("/onlineEndpoints/ep/deployments/e", json=_deployment_body("azureml:foreign:1"))
        assert r.status_code == 400 and r.json()["error"]["details"][0]["code"] == "InferencingClientCreateDeploymentFailed"


def test_deleting_an_endpoint_is_a_location_lro_and_takes_its_deployments(azureml):
    with arm(azureml) as c:
        model = _trained_model(azureml, c, "del")
        assert c.put("/onlineEndpoints/gone", json=_endpoint_body(auth="AMLToken")).status_code == 201
        azureml.advance_clock(60)
        dep = c.put("/onlineEndpoints/gone/deployments/d1", json=_deployment_body(model))
        _poll(azureml, dep.headers["azure-asyncoperation"])
        assert c.put("/onlineEndpoints/gone", json=_endpoint_body({"d1": 100}, auth="AMLToken")).status_code == 200
        refused = c.delete("/onlineEndpoints/gone/deployments/d1")
        assert refused.status_code == 400 and "traffic" in refused.json()["error"]["message"]
        token = c.post("/onlineEndpoints/gone/token").json()["accessToken"]
        uri = c.get("/onlineEndpoints/gone").json()["properties"]["scoringUri"]
        assert httpx.post(uri, json=_score_body("red"), headers={"Authorization": f"Bearer {token}"}).status_code == 200
        r = c.delete("/onlineEndpoints/gone")
        assert r.status_code == 202
        assert c.get("/onlineEndpoints/gone").json()["properties"]["provisioningState"] == "Deleting"
        assert _poll(azureml, r.headers["location"]).status_code == 204
        assert c.get("/onlineEndpoints/gone").status_code == 404
        assert c.get("/onlineEndpoints").json()["value"] == []


def test_endpoints_and_their_keys_survive_a_restart(azurite, tmp_path):
    from tests.fixtures.azureml import blob_config, start_validated

    blob = blob_config(azurite)
    srv, _ = start_validated(azurite, blob=blob, state_dir=tmp_path)
    with arm(srv) as c:
        assert c.put("/onlineEndpoints/kept", json=_endpoint_body()).status_code == 201
        keys = c.post("/onlineEndpoints/kept/listKeys").json()
    srv.stop()
    srv2, watch = start_validated(azurite, blob=blob, state_dir=tmp_path)
    try:
        with arm(srv2) as c:
            assert c.get("/onlineEndpoints/kept").json()["name"] == "kept"
            assert c.post("/onlineEndpoints/kept/listKeys").json() == keys
    finally:
        srv2.stop()
    assert not watch.violations


def test_a_traffic_split_sends_requests_to_both_deployments_in_proportion(azureml):
    with arm(azureml) as c:
        model = _trained_model(azureml, c, "split")
        _poll(azureml, c.put("/onlineEndpoints/split-ep", json=_endpoint_body()).headers["azure-asyncoperation"])
        for dep in ("blue", "green"):
            _poll(azureml, c.put(f"/onlineEndpoints/split-ep/deployments/{dep}",
                                 json=_deployment_body(model)).headers["azure-asyncoperation"])
        assert c.put("/onlineEndpoints/split-ep", json=_endpoint_body({"blue": 75, "green": 25})).status_code == 200
        key = c.post("/onlineEndpoints/split-ep/listKeys").json()["primaryKey"]
        uri = c.get("/onlineEndpoints/split-ep").json()["properties"]["scoringUri"]
        body = _score_body("red")
        with httpx.Client(headers={"Authorization": f"Bearer {key}"}) as scorer:
            served = [scorer.post(uri, json=body).headers["azureml-model-deployment"] for _ in range(100)]
        assert served.count("blue") == 75 and served.count("green") == 25
        assert "green" in served[:8]  # interleaved, not 75 blue then 25 green
