"""`reconcile status` and `reconcile predict` on a service: azureml environment."""

from __future__ import annotations

import pytest

from reconcile.errors import ExitCode, InputError
from reconcile.status import status_document
from reconcile.workflow import load_desired, make_plan, observe_with_metrics, run_apply
from tests.backends.azureml.test_workflow import ROOT, _train, project  # noqa: F401 - project is a fixture

pytestmark = pytest.mark.azurite


def test_status_shows_the_models_metrics_and_writes_nothing(project) -> None:  # noqa: F811
    srv, session = project
    run_apply(session, make_plan(session, load_desired(session.config)))
    _train(srv, session, "clf")  # registers the completed job's model, as apply's wait would
    assert session.backend.observe().models["clf"].performance is None  # lists carry no figures
    srv.request_log.clear()
    doc = status_document(observe_with_metrics(session))
    (model,) = doc["models"]
    assert model["status"] == "succeeded"
    assert isinstance(model["metrics"].get("accuracyTop1"), float), model["metrics"]
    assert [r for r in srv.request_log.snapshot() if r.method != "GET"] == []


def _predict_error(session, model: str) -> InputError:
    with pytest.raises(InputError) as caught:
        session.backend.predict(model, image=b"\x89PNG")
    assert caught.value.exit_code == ExitCode.ERROR
    return caught.value


def test_predict_says_what_is_missing_at_each_step_and_writes_nothing(project) -> None:  # noqa: F811
    srv, session = project
    ws = session.config.azureml.workspace_id
    err = _predict_error(session, "clf")
    assert "model clf: there is no such model in workspace" in err.message and "reconcile status" in err.hint

    run_apply(session, make_plan(session, load_desired(session.config)))
    err = _predict_error(session, "clf")
    assert "nothing to score yet" in err.message and "is running" in err.message
    assert err.hint.startswith("`reconcile wait` follows the training")

    _train(srv, session, "clf")
    version = session.backend._newest_job("clf")["name"]
    srv.request_log.clear()
    err = _predict_error(session, "clf")
    assert f"model clf: version {version} is registered, but no online endpoint in workspace" in err.message
    assert f"--model azureml:clf:{version}" in err.hint and "per instance-hour" in err.hint
    assert "Deployment spec" in err.hint
    assert [r for r in srv.request_log.snapshot() if r.method != "GET"] == []

    # a deployment made by hand serves it: while it provisions predict says so, then it scores through it
    first = session.client.begin("PUT", f"{ws}/onlineEndpoints/clf-ep", {
        "location": "westeurope", "identity": {"type": "SystemAssigned"}, "tags": {},
        "properties": {"authMode": "Key", "traffic": {}, "publicNetworkAccess": "Enabled"}})
    for _ in range(50):
        if session.client.get(f"{ws}/onlineEndpoints/clf-ep")["properties"]["provisioningState"] == "Succeeded":
            break
        srv.advance_clock(30)
    session.client.begin("PUT", f"{ws}/onlineEndpoints/clf-ep/deployments/blue", {
        "location": "westeurope", "sku": {"name": "Default", "capacity": 1}, "tags": {},
        "properties": {"endpointComputeType": "Managed", "model": f"{ws}/models/clf/versions/{version}",
                       "instanceType": "Standard_DS3_v2", "appInsightsEnabled": False, "environmentVariables": {},
                       "properties": {}}})
    assert first.status in (200, 201)
    err = _predict_error(session, "clf")
    assert f"version {version} is registered; its online deployment(s) clf-ep/blue (Creating)" in err.message
    for _ in range(50):
        state = session.client.get(f"{ws}/onlineEndpoints/clf-ep/deployments/blue")["properties"]["provisioningState"]
        if state == "Succeeded":
            break
        srv.advance_clock(30)
    image = (ROOT / "data" / "shapes" / "classification" / "images" / "test-001.png").read_bytes()
    prediction = session.backend.predict("clf", image=image)
    assert prediction.model == "clf" and prediction.tags


def test_the_demo_suggests_predict_as_each_service_answers_it() -> None:
    from types import SimpleNamespace

    from reconcile.cli.core import _demo_try

    azureml = _demo_try(SimpleNamespace(name="local-azureml", service="azureml"))
    assert "only through an online deployment" in azureml and "reconcile predict --env local-azureml" in azureml
    vision = _demo_try(SimpleNamespace(name="local", service="vision"))
    assert vision.startswith("Try: `reconcile predict shapes-classifier") and "deployment" not in vision
