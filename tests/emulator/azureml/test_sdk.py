"""The official azure-ai-ml SDK, unchanged, against the emulator over HTTPS (REFERENCE §8).

It is pointed at the emulator the supported way (``AZUREML_DEV_URL_MFE``), trusts the
emulator's throwaway certificate through ``REQUESTS_CA_BUNDLE`` and reaches Azurite
through the SDK's storage-URL table. Every exchange is checked against the stored
swaggers, request bodies included, so what the SDK sends is validated too. The
emulated clock runs fast so the whole flow takes seconds.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from typing import Any

import httpx
import pytest

from reconcile.emulator.azureml.learner import CentroidLearner
from reconcile.emulator.azureml.pixel_learner import PixelLearner
from reconcile.emulator.clock import SpeedClock
from tests.fixtures.azureml import (
    COLOURS, MLTABLE, TOKEN, arm, classification_rows, colour_png, detection_rows, start_validated, tls_context,
)

ml_sdk = pytest.importorskip("azure.ai.ml", reason="azure-ai-ml is not installed (pip install -e '.[test]')")
pytestmark = [
    pytest.mark.azurite,
    # azure-ai-ml's own schemas use marshmallow options deprecated for marshmallow 4: not ours to fix.
    pytest.mark.filterwarnings("ignore::marshmallow.warnings.RemovedInMarshmallow4Warning"),
]

#: Emulated seconds per real second: a job's ~7 emulated minutes pass in well under a second.
SPEED = 3000.0


class _Credential:
    """What MLClient needs from a credential; the emulator accepts this token."""

    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        from azure.core.credentials import AccessToken

        return AccessToken(TOKEN, int(time.time()) + 3600)


@pytest.fixture
def sdk(azurite, monkeypatch, tmp_path, request):
    speed = getattr(request, "param", SPEED)
    # The full flow trains the shared learners (the emulator's default); the cancel test needs no training.
    learner = PixelLearner() if speed == SPEED else CentroidLearner()
    srv, watch = start_validated(azurite, tls=True, clock=SpeedClock(speed), learner=learner)
    monkeypatch.setenv("AZUREML_DEV_URL_MFE", srv.endpoint)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(srv.cert_file))
    import azure.ai.ml.constants._common as common

    monkeypatch.setitem(common.STORAGE_ACCOUNT_URLS, "AzureBlob", f"http://127.0.0.1:{azurite.port}/{{}}")
    from azure.ai.ml.operations._run_history_constants import RunHistoryConstants

    # jobs.stream polls run history every 2-60 s (read from the environment at import): 1 s keeps it short.
    monkeypatch.setattr(RunHistoryConstants, "_WAIT_COMPLETION_POLLING_INTERVAL_MIN", "1")
    monkeypatch.setattr(RunHistoryConstants, "_WAIT_COMPLETION_POLLING_INTERVAL_MAX", "1")
    ws = srv.workspace
    client = ml_sdk.MLClient(_Credential(), ws.subscription, ws.resource_group, ws.name)
    try:
        yield srv, client, tmp_path, watch
    finally:
        srv.stop()
    if watch.violations:
        pytest.fail("SDK exchanges violate the swagger:\n" + "\n".join(watch.violations[:20]))


def _mltable_folder(srv, folder, rows) -> str:
    """Upload the images where our backend puts them; write JSONL + MLTable locally for the SDK to upload."""
    folder.mkdir()
    lines = []
    for row in rows:
        path = f"vision-gitops/images/{hashlib.sha256(row.image).hexdigest()}.png"
        srv.service.blobs.write(path, row.image)
        lines.append(json.dumps({"image_url": f"azureml://datastores/workspaceblobstore/paths/{path}",
                                 "label": row.label}))
    (folder / "annotations.jsonl").write_text("\n".join(lines) + "\n")
    (folder / "MLTable").write_text(MLTABLE)
    return str(folder)


def test_the_sdk_trains_registers_deploys_and_invokes(sdk, capsys):
    from azure.ai.ml import Input, automl
    from azure.ai.ml.entities import Data, ManagedOnlineDeployment, ManagedOnlineEndpoint, Model

    srv, client, tmp, watch = sdk
    path = _mltable_folder(srv, tmp / "train", classification_rows({"red": 4, "blue": 4, "green": 4}))
    data = client.data.create_or_update(Data(type="mltable", path=path, name="colours", version="1"))
    assert data.path.startswith("azureml://datastores/workspaceblobstore/paths/LocalUpload/")

    job = automl.image_classification(compute="gpu-cluster", experiment_name="sdk",
                                      training_data=Input(type="mltable", path="azureml:colours:1"),
                                      target_column_name="label", primary_metric="accuracy")
    job.set_limits(timeout_minutes=60, max_trials=1, max_concurrent_trials=1)
    submitted = client.jobs.create_or_update(job)
    client.jobs.stream(submitted.name)  # run history and the job's log until the job ends
    assert f"best trial: {submitted.name}_HD_0" in capsys.readouterr().out
    assert client.jobs.get(submitted.name).status == "Completed"
    assert submitted.name in [j.name for j in client.jobs.list()]
    children = list(client.jobs.list(parent_job_name=submitted.name))
    assert [c.name for c in children] == [f"{submitted.name}_HD_0"]

    model = client.models.create_or_update(Model(
        type="mlflow_model", name="colours-model",
        path=f"azureml://jobs/{children[0].name}/outputs/artifacts/outputs/mlflow-model/"))
    assert model.version == "1"

    endpoint = client.online_endpoints.begin_create_or_update(
        ManagedOnlineEndpoint(name="colours-ep", auth_mode="key")).result()
    assert endpoint.provisioning_state == "Succeeded"
    deployment = client.online_deployments.begin_create_or_update(ManagedOnlineDeployment(
        name="blue", endpoint_name="colours-ep", model=f"azureml:colours-model:{model.version}",
        instance_type="Standard_DS3_v2", instance_count=1)).result()
    assert deployment.provisioning_state == "Succeeded"
    endpoint.traffic = {"blue": 100}
    endpoint = client.online_endpoints.begin_create_or_update(endpoint).result()
    assert endpoint.traffic == {"blue": 100}

    request = tmp / "request.json"
    images = [base64.b64encode(colour_png(COLOURS[c], seed=7)).decode() for c in ("red", "green")]
    request.write_text(json.dumps({"input_data": {"columns": ["image"], "data": images}}))
    answer = json.loads(client.online_endpoints.invoke(endpoint_name="colours-ep", request_file=str(request),
                                                       deployment_name="blue"))
    picks = [a["labels"][a["probs"].index(max(a["probs"]))] for a in answer]
    assert picks == ["red", "green"]

    # What the SDK reads is what our REST view (2024-04-01) reads.
    with arm(srv) as c:
        rest_job = c.get(f"/jobs/{submitted.name}").json()
        assert rest_job["properties"]["status"] == client.jobs.get(submitted.name).status
        assert c.get("/data/colours/versions/1").json()["properties"]["dataUri"].rstrip("/") == data.path.rstrip("/")
        assert c.get("/models/colours-model/versions/1").json()["properties"]["modelUri"] == model.path
        rest_ep = c.get("/onlineEndpoints/colours-ep").json()["properties"]
        assert (rest_ep["traffic"], rest_ep["scoringUri"]) == (endpoint.traffic, endpoint.scoring_uri)
        assert c.get("/onlineEndpoints/colours-ep/deployments/blue").json()["properties"]["model"] == deployment.model
    assert watch.validator.seen >= {"Jobs_CreateOrUpdate", "Jobs_Get", "Jobs_List", "DataVersions_CreateOrUpdate",
                                    "ModelVersions_CreateOrUpdate", "ModelVersions_List", "Datastores_Get",
                                    "Datastores_ListSecrets", "OnlineEndpoints_CreateOrUpdate",
                                    "OnlineDeployments_CreateOrUpdate", "OnlineDeployments_List",
                                    "OnlineEndpoints_ListKeys"}


@pytest.mark.parametrize("sdk", [1.0], indirect=True)  # real time: the job is still early when cancelled
def test_the_sdk_submits_a_detection_job_and_cancels_it(sdk):
    from azure.ai.ml import Input, automl
    from azure.ai.ml.entities import Data

    srv, client, tmp, _ = sdk
    path = _mltable_folder(srv, tmp / "boxes", detection_rows({"red": 3, "blue": 3}))
    client.data.create_or_update(Data(type="mltable", path=path, name="boxes", version="1"))
    job = automl.image_object_detection(compute="gpu-cluster", experiment_name="sdk",
                                        training_data=Input(type="mltable", path="azureml:boxes:1"),
                                        target_column_name="label", primary_metric="mean_average_precision")
    job.set_limits(timeout_minutes=60, max_trials=1)
    submitted = client.jobs.create_or_update(job)
    assert submitted.status in ("NotStarted", "Starting")
    poller = client.jobs.begin_cancel(submitted.name)
    assert client.jobs.get(submitted.name).status == "CancelRequested"
    srv.advance_clock(60)
    poller.result()
    assert client.jobs.get(submitted.name).status == "Canceled"
    with pytest.raises(Exception) as missing:
        client.jobs.get("no-such-job")
    assert "ResourceNotFound" in type(missing.value).__name__ or "not found" in str(missing.value).lower()
    assert httpx.get(srv.endpoint + "/discovery", verify=tls_context(srv)).status_code == 200
