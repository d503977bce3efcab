"""The swagger validator itself: it accepts Microsoft's examples and rejects what the schema forbids."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from tests.emulator.azureml.swagger import OPERATIONS, OPTIONAL_OPERATIONS, check_body, find_operation, operations

EXAMPLES = Path(__file__).parent / "swagger" / "examples"
WS = ("/subscriptions/s/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/ws")
CASES = {
    "AutoMLJob-createOrUpdate.json": ("PUT", WS + "/jobs/j"),
    "OnlineEndpoint-createOrUpdate.json": ("PUT", WS + "/onlineEndpoints/e"),
    "ManagedOnlineDeployment-createOrUpdate.json": ("PUT", WS + "/onlineEndpoints/e/deployments/d"),
    "DataVersionBase-createOrUpdate.json": ("PUT", WS + "/data/d/versions/1"),
    "ModelVersion-createOrUpdate.json": ("PUT", WS + "/models/m/versions/1"),
    "Workspace-get.json": ("GET", WS),
}


def test_every_emulated_operation_is_in_the_swagger():
    assert {op.operation_id for op in operations()} == set(OPERATIONS + OPTIONAL_OPERATIONS)
    assert len(OPERATIONS) == 31


@pytest.mark.parametrize("name", sorted(CASES))
def test_microsofts_examples_validate(name):
    example = json.loads((EXAMPLES / name).read_text())
    op = find_operation(*CASES[name])
    assert op is not None
    if op.body_schema() is not None:
        assert check_body(op.file, op.body_schema(), example["parameters"]["body"], request=True) == []
    for status, response in example["responses"].items():
        assert check_body(op.file, op.spec["responses"][status]["schema"], response["body"], request=False) == []


def _job() -> tuple:
    op = find_operation(*CASES["AutoMLJob-createOrUpdate.json"])
    body = json.loads((EXAMPLES / "AutoMLJob-createOrUpdate.json").read_text())["parameters"]["body"]
    return op, body


def test_an_unknown_property_is_a_violation_even_inside_a_derived_definition():
    op, body = _job()
    bad = copy.deepcopy(body)
    bad["properties"]["taskDetails"]["bogus"] = 1
    assert any("'bogus' is not in the schema" in e for e in check_body(op.file, op.body_schema(), bad, request=True))


def test_discriminators_pick_the_concrete_definition():
    op, body = _job()
    bad = copy.deepcopy(body)
    bad["properties"]["taskDetails"]["taskType"] = "NoSuchTask"
    assert any("names no definition" in e for e in check_body(op.file, op.body_schema(), bad, request=True))
    ok = copy.deepcopy(body)  # an ImageClassification-only property is fine on that task
    ok["properties"]["taskDetails"]["limitSettings"]["maxTrials"] = 2
    assert check_body(op.file, op.body_schema(), ok, request=True) == []


def test_required_properties_and_types_are_checked():
    op, body = _job()
    bad = copy.deepcopy(body)
    del bad["properties"]["taskDetails"]["trainingData"]
    bad["properties"]["isArchived"] = "no"
    errors = check_body(op.file, op.body_schema(), bad, request=True)
    assert any("'trainingData' is missing" in e for e in errors)
    assert any("expected boolean" in e for e in errors)
