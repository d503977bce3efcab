"""Conformance with the official swaggers: every x-ms-example replayed, and generated traffic.

Every answer in this module (as in every test using the ``emulator`` fixture) is
also validated against the swagger response schema by the fixture's observer.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.emulator.schema import OPERATIONS, SWAGGER_DIR, VERSIONS, operations, swagger
from tests.fixtures.emulator import api, detection_coco, png_bytes, raw, start_validated, wait_for_status, write_coco

EXAMPLES = sorted((v, p) for v in VERSIONS for p in (SWAGGER_DIR / v / "examples").glob("*.json"))
#: Response fields whose example values the emulator must reproduce exactly (others: same shape).
EXACT = {"name", "annotationKind", "annotationFileUris", "status", "modelName", "modelVersion", "evaluationParameters"}


def shape_problems(expected: Any, actual: Any, path: str = "$") -> list[str]:
    """Where ``actual`` lacks a key of ``expected`` or has another JSON type (extra keys are allowed)."""
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{path}: expected an object, got {type(actual).__name__}"]
        out = []
        for key, value in expected.items():
            if key not in actual:
                out.append(f"{path}.{key}: missing")
                continue
            if key in EXACT and value != actual[key]:
                out.append(f"{path}.{key}: expected {value!r}, got {actual[key]!r}")
            out += shape_problems(value, actual[key], f"{path}.{key}")
        return out
    if isinstance(expected, list):
        if not isinstance(actual, list):
            return [f"{path}: expected an array"]
        if expected and not actual:
            return [f"{path}: expected items, got none"]
        return shape_problems(expected[0], actual[0], f"{path}[0]") if expected else []
    numbers = (int, float)
    if isinstance(expected, bool) or isinstance(actual, bool):
        return [] if type(expected) is type(actual) else [f"{path}: type differs"]
    if isinstance(expected, numbers):
        return [] if isinstance(actual, numbers) else [f"{path}: expected a number"]
    return [] if isinstance(actual, type(expected)) else [f"{path}: expected {type(expected).__name__}"]


def _trained_detector(srv, c, tmp_path: Path, model: str, dataset: str = "setup-train") -> None:
    uri = write_coco(tmp_path / f"{dataset}.json",
                     detection_coco({"class1": [[0.3, 0.15, 0.5, 0.8]] * 4, "class2": [[0, 0.1, 0.4, 0.7]] * 2}))
    if c.get(f"/datasets/{dataset}").status_code == 404:
        assert c.put(f"/datasets/{dataset}", json={"annotationKind": "imageObjectDetection",
                                                   "annotationFileUris": [uri]}).status_code == 201
    body = {"trainingParameters": {"trainingDatasetName": dataset, "timeBudgetInHours": 1}}
    assert c.put(f"/models/{model}", json=body).status_code == 201
    wait_for_status(srv, c, f"/models/{model}", {"succeeded"})


def _replay(srv, c, tmp_path: Path, example: dict[str, Any]) -> tuple[Any, Any]:
    """Create what the example presupposes, send its request, return (response, expected)."""
    op, p = example["operationId"], example["parameters"]
    name, body = p.get("name"), p.get("body")
    expected_status, expected = next(iter(example["responses"].items()))
    if op.startswith("Datasets_") and op not in ("Datasets_Register",):
        c.put(f"/datasets/{name or 'my_dataset_name'}",
              json={"annotationKind": "imageClassification", "annotationFileUris": ["https://example.com/dataset.json"]})
    if op in ("Models_Get", "Models_List", "Models_CancelTraining", "Models_Delete"):
        exp = (expected.get("body") or {})
        first = exp.get("value", [exp])[0] if exp else {}
        tp = first.get("trainingParameters") or {"timeBudgetInHours": 1, "trainingDatasetName": "my_dataset_name"}
        c.put(f"/models/{name or first.get('name')}", json={"trainingParameters": tp})
        if op == "Models_Delete":  # only terminal models can be deleted: let it fail (no such dataset)
            wait_for_status(srv, c, f"/models/{name}", {"failed"})
    if op.startswith("ModelEvaluations_"):
        _trained_detector(srv, c, tmp_path, name)
        if op != "ModelEvaluations_Create":
            exp = expected.get("body") or {}
            first = exp.get("value", [exp])[0] if exp else {}
            ev = p.get("evaluationName") or first.get("name")
            test = (first.get("evaluationParameters") or {}).get("testDatasetName", "my_test_dataset_name")
            c.put(f"/models/{name}/evaluations/{ev}", json={"evaluationParameters": {"testDatasetName": test}})
            if op == "ModelEvaluations_Delete":
                wait_for_status(srv, c, f"/models/{name}/evaluations/{ev}", {"failed"})
    if op.startswith("ImageAnalysis_"):
        model = p["model-name"]
        _trained_detector(srv, c, tmp_path, model)
        meta = expected["body"]["metadata"]
        image = png_bytes(meta["width"], meta["height"])
        if op == "ImageAnalysis_Analyze":
            # The example's https://example.com image is unreachable here: serve the same size locally.
            local = tmp_path / "image.png"
            local.write_bytes(image)
            return c.post("/imageanalysis:analyze", params={"model-name": model}, json={"url": local.as_uri()}), (
                expected_status, expected)
        assert base64.b64decode(body)  # the example's stream is the text "bytes", not an image
        return c.post("/imageanalysis:analyze", params={"model-name": model}, content=image,
                      headers={"content-type": "application/octet-stream"}), (expected_status, expected)
    ev_name = p.get("evaluationName")
    routes = {
        "Datasets_Register": ("PUT", f"/datasets/{name}"),
        "Datasets_Get": ("GET", f"/datasets/{name}"),
        "Datasets_Update": ("PATCH", f"/datasets/{name}"),
        "Datasets_Unregister": ("DELETE", f"/datasets/{name}"),
        "Datasets_List": ("GET", "/datasets"),
        "Models_Create": ("PUT", f"/models/{name}"),
        "Models_Get": ("GET", f"/models/{name}"),
        "Models_Delete": ("DELETE", f"/models/{name}"),
        "Models_List": ("GET", "/models"),
        "Models_CancelTraining": ("POST", f"/models/{name}:cancel"),
        "ModelEvaluations_Create": ("PUT", f"/models/{name}/evaluations/{ev_name}"),
        "ModelEvaluations_Get": ("GET", f"/models/{name}/evaluations/{ev_name}"),
        "ModelEvaluations_Delete": ("DELETE", f"/models/{name}/evaluations/{ev_name}"),
        "ModelEvaluations_List": ("GET", f"/models/{name}/evaluations"),
    }
    method, path = routes[op]
    kwargs = {"json": body} if body is not None else {}
    return c.request(method, path, **kwargs), (expected_status, expected)


@pytest.mark.parametrize(("version", "path"), EXAMPLES, ids=[f"{v}/{p.stem}" for v, p in EXAMPLES])
def test_every_official_example_replays(emulator, tmp_path, version, path):
    example = json.loads(path.read_text())
    assert example["operationId"] in OPERATIONS
    with api(emulator, version) as c:
        response, (status, expected) = _replay(emulator, c, tmp_path, example)
    assert response.status_code == int(status), response.text
    if "body" in expected:
        assert shape_problems(expected["body"], response.json()) == []
    else:
        assert response.content == b""


@pytest.mark.parametrize("version", VERSIONS)
def test_the_emulator_serves_every_operation_of_the_swagger(emulator, version):
    """Each operation the swagger declares reaches a handler: never the router's 404 or 405 fallback."""
    declared = operations(version)
    assert {o.operation_id for o in declared} == set(OPERATIONS)  # the generated traffic below covers them all
    with api(emulator, version) as c:
        for op in declared:
            path = op.template.replace("{name}", "none-such").replace("{evaluationName}", "none-such")
            kwargs: dict[str, Any] = {}
            if op.operation_id == "ImageAnalysis_AnalyzeFromImageStream":
                kwargs = {"content": png_bytes(8, 8), "headers": {"content-type": "application/octet-stream"}}
            elif op.method in ("PUT", "PATCH", "POST"):
                kwargs = {"json": {}}
            response = c.request(op.method, path, **kwargs)
            code = (response.json().get("error") or {}).get("code") if response.content else None
            assert response.status_code != 405 and code != "404", (op.operation_id, response.status_code, response.text)


# --- generated traffic ----------------------------------------------------------------


def strategy(schema: dict[str, Any], defs: dict[str, Any], depth: int = 0) -> st.SearchStrategy:
    """A hypothesis strategy for swagger-2 ``schema`` (the subset these swaggers use)."""
    if "$ref" in schema:
        return strategy(defs[schema["$ref"].split("/")[-1]], defs, depth)
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    kind = schema.get("type", "object")
    if kind == "object":
        props = schema.get("properties", {})
        if not props and "additionalProperties" in schema:
            return st.dictionaries(st.text(min_size=1, max_size=8), strategy(schema["additionalProperties"], defs, depth + 1),
                                   max_size=12)
        required = set(schema.get("required", []))
        fields = {k: strategy(v, defs, depth + 1) for k, v in props.items() if depth < 4 or k in required}
        return st.fixed_dictionaries(
            {k: v for k, v in fields.items() if k in required},
            optional={k: v for k, v in fields.items() if k not in required},
        )
    if kind == "array":
        return st.lists(strategy(schema["items"], defs, depth + 1), min_size=schema.get("minItems", 0),
                        max_size=min(schema.get("maxItems", 4), 4 if depth else 12))
    if kind == "integer":
        return st.integers(schema.get("minimum", -10), min(schema.get("maximum", 2000), 2000))
    if kind == "number":
        return st.floats(schema.get("minimum", -10), schema.get("maximum", 2000), allow_nan=False)
    if kind == "boolean":
        return st.booleans()
    if schema.get("format") == "uri":
        return st.sampled_from(["https://a.blob.core.windows.net/c/x.json", "file:///nonexistent.json",
                                "http://127.0.0.1:9/y.json", "not a uri"])
    if schema.get("format") == "date-time":
        return st.just("2023-01-13T20:46:20.189Z")
    if "pattern" in schema:
        return st.from_regex(schema["pattern"], fullmatch=True).filter(lambda s: len(s) <= schema.get("maxLength", 255))
    return st.text(max_size=schema.get("maxLength", 20))


# Mostly a small pool of names, so that GET/PATCH/DELETE/cancel meet resources that exist.
NAME = st.one_of(st.sampled_from(["a", "b", "c"]), st.sampled_from(["a", "b"]), st.from_regex(r"^[a-zA-Z0-9][a-zA-Z0-9._-]{0,12}$", fullmatch=True),
                 st.sampled_from(["-bad", "a b", "x" * 256, "ok"]))
JUNK = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=5),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
                    max_leaves=8)


@st.composite
def request_strategy(draw) -> tuple[str, str, str, dict[str, Any]]:
    version = draw(st.sampled_from(VERSIONS))
    op = draw(st.sampled_from([o for o in operations(version)]))
    path = op.template
    for param in ("name", "evaluationName"):
        path = path.replace("{" + param + "}", draw(NAME))
    kwargs: dict[str, Any] = {"params": {"api-version": version}}
    for p in op.spec.get("parameters", []):
        if p.get("in") == "query" and p["name"] in ("skip", "top") and draw(st.booleans()):
            kwargs["params"][p["name"]] = draw(st.integers(-2, 40))
        if p.get("in") == "query" and p["name"] == "model-name":
            kwargs["params"]["model-name"] = draw(NAME)
        if p.get("in") == "header" and draw(st.booleans()):
            kwargs["headers"] = {p["name"]: draw(st.sampled_from(["*", '"abc"', "abc"]))}
        if p.get("in") == "body":
            if op.operation_id == "ImageAnalysis_AnalyzeFromImageStream":
                kwargs["content"] = draw(st.sampled_from([png_bytes(8, 8), b"", b"junk"]))
                kwargs.setdefault("headers", {})["content-type"] = "application/octet-stream"
            elif draw(st.integers(0, 4)) == 0:
                kwargs["json"] = draw(JUNK)
            else:
                kwargs["json"] = draw(strategy(p["schema"], swagger(version)["definitions"]))
    return op.method, "/computervision" + path, op.operation_id, kwargs


@pytest.fixture(scope="module")
def generated_target():
    srv, watch = start_validated()
    yield srv, watch
    srv.stop()


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
          derandomize=True)
@given(request=request_strategy())
def test_generated_traffic_finds_no_5xx_and_no_schema_violation(generated_target, request):
    srv, watch = generated_target
    method, path, _op, kwargs = request
    headers = {"Ocp-Apim-Subscription-Key": srv.key, **kwargs.pop("headers", {})}
    response = raw(method, srv.endpoint + path, headers=headers, timeout=30, **kwargs)
    srv.clock.advance(600)  # let runs start, finish and fail along the way
    assert response.status_code < 500, response.text
    assert watch.violations == []
