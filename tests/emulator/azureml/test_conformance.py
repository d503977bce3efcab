"""One pass over all 31 ARM operations (and the 3 optional ones), every exchange checked against the swaggers."""

from __future__ import annotations

import httpx
import pytest

from tests.emulator.azureml.swagger import OPERATIONS, OPTIONAL_OPERATIONS
from tests.fixtures.azureml import TOKEN, arm, automl_job_body, register_data, start_validated

pytestmark = pytest.mark.azurite
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def _finish(srv, response: httpx.Response) -> httpx.Response:
    """Follow an LRO answer (either header) to its end, moving the clock."""
    url = response.headers.get("azure-asyncoperation") or response.headers.get("location")
    for _ in range(50):
        r = httpx.get(url, headers=AUTH)
        if r.status_code != 202 and (r.status_code != 200 or not r.content or r.json().get("status") != "InProgress"):
            return r
        srv.advance_clock(30)
    raise AssertionError(f"{url} never finished")


def test_all_31_operations_answer_as_their_swagger_says(azurite):
    srv, watch = start_validated(azurite)
    try:
        with arm(srv) as c:
            assert c.get("").status_code == 200
            assert c.get("/datastores").status_code == 200
            assert c.get("/datastores/workspaceblobstore").status_code == 200
            assert c.post("/datastores/workspaceblobstore/listSecrets").status_code == 200
            uri = "azureml://datastores/workspaceblobstore/paths/ds/"
            assert register_data(c, "ds", "1", uri).status_code == 201
            assert c.get("/data/ds/versions/1").status_code == 200
            assert c.get("/data/ds/versions").status_code == 200
            assert c.get("/data").status_code == 200
            container = c.get("/data/ds").json()
            archived = c.put("/data/ds", json={"properties": {**container["properties"], "isArchived": True}})
            assert archived.status_code == 200 and archived.json()["properties"]["isArchived"] is True
            assert c.get("/data").json()["value"] == []
            train = f"{srv.workspace.scope}/data/ds/versions/1"
            assert c.put("/jobs/j1", json=automl_job_body(srv, "ImageClassification", train)).status_code == 201
            assert c.get("/jobs/j1").status_code == 200
            assert c.get("/jobs").status_code == 200
            _finish(srv, c.post("/jobs/j1/cancel"))
            assert _finish(srv, c.delete("/jobs/j1")).status_code == 204
            model = {"properties": {"modelType": "custom_model", "modelUri": "azureml://datastores/x/paths/m/"}}
            assert c.put("/models/m/versions/1", json=model).status_code == 201
            assert c.get("/models/m/versions/1").status_code == 200
            assert c.get("/models/m/versions").status_code == 200
            assert c.get("/models/m").status_code == 200
            assert c.get("/models").status_code == 200
            endpoint = {"location": "westeurope", "properties": {"authMode": "Key"}}
            _finish(srv, c.put("/onlineEndpoints/ep", json=endpoint))
            assert c.get("/onlineEndpoints/ep").status_code == 200
            assert c.get("/onlineEndpoints").status_code == 200
            _finish(srv, c.patch("/onlineEndpoints/ep", json={"tags": {"a": "b"}}))
            assert c.post("/onlineEndpoints/ep/listKeys").status_code == 200
            assert c.post("/onlineEndpoints/ep/token").status_code == 200
            deployment = {"location": "westeurope", "properties": {"endpointComputeType": "Managed",
                                                                   "model": "azureml:m:1"}}
            _finish(srv, c.put("/onlineEndpoints/ep/deployments/d", json=deployment))
            assert c.get("/onlineEndpoints/ep/deployments/d").status_code == 200
            assert c.get("/onlineEndpoints/ep/deployments").status_code == 200
            logs = c.post("/onlineEndpoints/ep/deployments/d/getLogs", json={"containerType": "InferenceServer",
                                                                             "tail": 2})
            assert "Failed" in logs.json()["content"]  # the model was not trained here
            compute = c.get("/computes/gpu-cluster").json()
            assert compute["properties"]["properties"]["scaleSettings"]["maxNodeCount"] == 4
            assert c.get("/computes/cpu-cluster").status_code == 404
            assert [x["name"] for x in c.get("/computes").json()["value"]] == ["gpu-cluster"]  # Compute_List
            assert c.put("/models/m2", json={"properties": {"description": "made first"}}).status_code == 201
            assert _finish(srv, c.delete("/onlineEndpoints/ep/deployments/d")).status_code == 204
            assert c.get("/onlineEndpoints/ep/deployments/d").status_code == 404
            assert _finish(srv, c.delete("/onlineEndpoints/ep")).status_code == 204
    finally:
        srv.stop()
    assert watch.validator.seen == set(OPERATIONS + OPTIONAL_OPERATIONS)
    assert not watch.violations, "\n".join(watch.violations[:20])
