"""`reconcile status` and `reconcile predict` on a service: azureml environment."""

from __future__ import annotations

import pytest

from reconcile.errors import InputError
from reconcile.status import status_document
from reconcile.workflow import load_desired, make_plan, observe_with_metrics, run_apply
from tests.backends.azureml.test_workflow import _train, project  # noqa: F401 - project is a fixture

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


def test_predict_says_scoring_needs_an_online_deployment(project) -> None:  # noqa: F811
    _srv, session = project
    with pytest.raises(InputError) as caught:
        session.backend.predict("clf", image=b"\x89PNG")
    text = str(caught.value)
    assert "online endpoint" in text and "deployment" in text.lower()
