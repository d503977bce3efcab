"""Crash-safe training submission: the intent is durable before the model PUT is sent, and a
re-run after a crash adopts the submitted model instead of paying for a second run."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from reconcile.inventory.store import state_store_for
from reconcile.workflow import load_desired, make_plan, run_apply
from tests.fixtures.emulator import classification_coco
from tests.fixtures.project import coco_file


class Killed(BaseException):
    """Stands in for SIGKILL right after the service accepted the training run."""


class Wrapped:
    def __init__(self, inner: Any, **overrides: Any) -> None:
        self._inner = inner
        self.__dict__.update(overrides)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def _docs(root) -> list[dict]:
    uri = coco_file(root, "train.json", classification_coco({"circle": 4, "square": 4}))
    return [
        {"kind": "Dataset", "name": "train", "annotationKind": "imageClassification", "labels": [{"uri": uri}]},
        {"kind": "Model", "name": "clf", "modelKind": "Generic-Classifier", "trainingDataset": "train",
         "budgetHours": 1},
    ]


def _model_201s(emulator: Any) -> int:
    return sum(1 for r in emulator.request_log
               if r.method == "PUT" and r.path == "/computervision/models/clf" and r.status == 201)


def test_intent_before_put_then_rerun_adopts_even_if_the_list_lags(project, emulator) -> None:
    proj = project([])
    proj.write_specs(_docs(proj.root))
    store = state_store_for(proj.config())
    seen: dict[str, Any] = {}

    with proj.session() as s:
        real_create = s.backend.create_model

        def create_then_die(request: Any) -> Any:
            seen["intent"] = store.load().records.get("model/clf")
            real_create(request)
            raise Killed()

        s.backend = Wrapped(s.backend, create_model=create_then_die)
        plan = make_plan(s, load_desired(s.config))
        with pytest.raises(Killed):
            run_apply(s, plan, waiter=proj.waiter(s))

    intent = seen["intent"]
    assert intent is not None and intent.intent is not None and intent.intent.spec_hash == intent.spec_hash
    assert intent.labels_digest  # the dataset digest the run trains on
    assert _model_201s(emulator) == 1

    # The re-run's list does not show the model yet (eventual consistency after the crash):
    # the plan says create, but the intent makes apply read it by name and adopt it.
    with proj.session() as s:
        real_observe = s.backend.observe

        def lagging(**kw: Any) -> Any:
            live = real_observe(**kw)
            return replace(live, models={n: m for n, m in live.models.items() if n != "clf"})

        s.backend = Wrapped(s.backend, observe=lagging)
        plan = make_plan(s, load_desired(s.config))
        assert {c.address: c.action for c in plan.changes}["model/clf"] == "create"
        result = run_apply(s, plan, waiter=proj.waiter(s))
    assert result.adopted == ["model/clf"] and not result.failed
    assert _model_201s(emulator) == 1
    assert not any(r.method == "PUT" and r.path == "/computervision/models/clf" and r.status == 409
                   for r in emulator.request_log), "adopted by a read, not by a second PUT"

    # Not listed yet, so not recorded as seen: the intent stays until a run sees it live.
    assert store.load().records["model/clf"].intent is not None
    assert not proj.plan().has_changes
    proj.apply()
    rec = store.load().records["model/clf"]
    assert rec.intent is None and rec.live_fingerprint
    assert _model_201s(emulator) == 1
