"""The plan document keeps its contract: formatVersion required, an unknown major refused with
a clear message, a newer minor accepted with its unknown optional fields ignored."""

from __future__ import annotations

import json

import pytest

from reconcile.backends.base import DesiredModel
from reconcile.errors import InputError
from reconcile.plan.model import FORMAT_VERSION, Plan, ResourceChange, Summary, plan_json_schema


def _plan() -> Plan:
    change = ResourceChange(address="model/m", kind="Model", name="m", action="create", reason="does not exist",
                            reason_code="does-not-exist",
                            desired=DesiredModel(name="m", model_kind="Generic-Classifier", training_dataset="d",
                                                 budget_hours=1))
    return Plan(format_version=FORMAT_VERSION, tool_version="0", created_at="2026-01-01T00:00:00Z",
                environment="test", service="vision", endpoint="http://emulator", api_version="v",
                specs_fingerprint="", live_fingerprint="", changes=[change], summary=Summary(create=1))


def test_a_plan_round_trips_with_its_typed_values() -> None:
    plan = _plan()
    again = Plan.from_json(plan.to_json())
    assert again == plan and isinstance(again.changes[0].desired, DesiredModel)


def test_format_version_is_required() -> None:
    doc = json.loads(_plan().to_json())
    del doc["formatVersion"]
    with pytest.raises(InputError, match="p.json: not a vision-gitops plan \\(no formatVersion\\)"):
        Plan.from_json(json.dumps(doc), where="p.json")
    assert "formatVersion" in plan_json_schema()["required"]


@pytest.mark.parametrize("version", ["9.0", "1.1", "3.0"])
def test_an_unknown_major_version_is_refused_naming_both_versions(version: str) -> None:
    doc = {**json.loads(_plan().to_json()), "formatVersion": version}
    with pytest.raises(InputError) as exc:
        Plan.from_json(json.dumps(doc), where="p.json")
    assert f"plan format {version} cannot be read" in str(exc.value) and "reads format 2.x" in str(exc.value)


def test_a_newer_minor_version_with_new_optional_fields_is_accepted() -> None:
    doc = json.loads(_plan().to_json())
    doc["formatVersion"] = "2.7"
    doc["someNewField"] = {"x": 1}
    doc["changes"][0]["anotherNewField"] = "y"
    doc["summary"]["newCount"] = 3
    plan = Plan.from_json(json.dumps(doc))
    assert plan.format_version == "2.7" and plan.changes[0].action == "create"


@pytest.mark.parametrize("text", ["{", "[]", '{"formatVersion": "2.0"}'])
def test_anything_else_is_a_clear_input_error(text: str) -> None:
    with pytest.raises(InputError, match="p.json: not a"):
        Plan.from_json(text, where="p.json")


def test_the_schema_states_the_contract() -> None:
    schema = plan_json_schema()
    assert "refuses a plan whose **major** version it does not know" in schema["description"]
    assert "refuses a major version it does not know" in schema["properties"]["formatVersion"]["description"]
    assert schema.get("additionalProperties") is not False  # newer minors may add optional fields
