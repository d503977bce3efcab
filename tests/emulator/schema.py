"""Response conformance: every emulator answer checked against the official swagger (jsonschema).

The swaggers (and their x-ms-examples) are copies from Azure/azure-rest-api-specs
(MIT; provenance in ``swagger/SOURCE.md``). :class:`SwaggerValidator` finds the
operation for (method, path, api-version), picks the response schema for the
status (or ``default`` = ErrorResponse for undeclared statuses) and returns the
list of violations (empty when the answer conforms).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import jsonschema

SWAGGER_DIR = Path(__file__).parent / "swagger"
VERSIONS = ("2023-02-01-preview", "2023-04-01-preview", "2023-07-01-preview")
PREFIX = "/computervision"

#: The 15 model-customization operations (docs/service-api.md §3) + the analyze stream overload.
OPERATIONS = (
    "Datasets_Register", "Datasets_Get", "Datasets_Update", "Datasets_Unregister", "Datasets_List",
    "Models_Create", "Models_Get", "Models_Delete", "Models_List", "Models_CancelTraining",
    "ModelEvaluations_Create", "ModelEvaluations_Get", "ModelEvaluations_Delete", "ModelEvaluations_List",
    "ImageAnalysis_Analyze", "ImageAnalysis_AnalyzeFromImageStream",
)

_DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
_FORMATS = jsonschema.FormatChecker()


@_FORMATS.checks("date-time")
def _is_date_time(value: object) -> bool:
    return not isinstance(value, str) or bool(_DATE_TIME.match(value))


@dataclass(frozen=True)
class Operation:
    version: str
    operation_id: str
    method: str
    template: str
    pattern: re.Pattern[str]
    spec: dict[str, Any]


@lru_cache(maxsize=None)
def swagger(version: str) -> dict[str, Any]:
    return json.loads((SWAGGER_DIR / version / "UnifiedVision.json").read_text())


def _pattern(template: str) -> re.Pattern[str]:
    out, pos = "", 0
    for m in re.finditer(r"\{(\w+)\}", template):
        out += re.escape(template[pos : m.start()]) + f"(?P<{m.group(1)}>[^/]+?)"
        pos = m.end()
    return re.compile("^" + out + re.escape(template[pos:]) + "$")


@lru_cache(maxsize=None)
def operations(version: str) -> tuple[Operation, ...]:
    doc = swagger(version)
    ops = []
    for table in ("paths", "x-ms-paths"):
        for template, methods in doc.get(table, {}).items():
            path = template.split("?")[0]
            for method, spec in methods.items():
                if method == "parameters" or spec.get("operationId") not in OPERATIONS:
                    continue
                ops.append(Operation(version, spec["operationId"], method.upper(), path, _pattern(path), spec))
    # Literal suffixes (":cancel") before the catch-all "{name}" templates.
    ops.sort(key=lambda o: (-len(o.template.replace("{name}", "")), o.template))
    return tuple(ops)


def find_operation(version: str, method: str, path: str) -> Operation | None:
    rel = path[len(PREFIX):] if path.startswith(PREFIX) else path
    for op in operations(version):
        if op.method == method and op.pattern.match(rel):
            return op
    return None


@lru_cache(maxsize=None)
def _validator(version: str, ref: str) -> jsonschema.Draft4Validator:
    schema = {"$ref": ref, "definitions": swagger(version)["definitions"]}
    return jsonschema.Draft4Validator(schema, format_checker=_FORMATS)


def schema_errors(version: str, ref: str, body: Any) -> list[str]:
    return [
        f"{'/'.join(str(p) for p in e.absolute_path) or '<root>'}: {e.message}"
        for e in _validator(version, ref).iter_errors(body)
    ]


class SwaggerValidator:
    """Checks one answer; :meth:`check` returns human-readable violations."""

    def check(self, method: str, path: str, query: str, status: int, headers: dict[str, str], body: bytes) -> list[str]:
        from urllib.parse import parse_qs

        where = f"{method} {path}?{query} -> {status}"
        version = (parse_qs(query).get("api-version") or [None])[0]
        known = version in VERSIONS
        op = find_operation(version if known else VERSIONS[1], method, path) if path.startswith(PREFIX) else None
        responses = op.spec["responses"] if op else {"default": swagger(VERSIONS[1])["paths"]["/datasets"]["get"]["responses"]["default"]}
        declared = responses.get(str(status))
        problems: list[str] = []
        if declared is None:
            if 200 <= status < 300:
                return [f"{where}: status {status} is not declared for {op.operation_id if op else 'this path'}"]
            declared = responses["default"]
            if "x-ms-error-code" not in headers:
                problems.append(f"{where}: error answer without an x-ms-error-code header")
        schema = declared.get("schema")
        if schema is None:
            if body:
                problems.append(f"{where}: expected no body, got {len(body)} bytes")
            return problems
        if not headers.get("content-type", "").startswith("application/json"):
            problems.append(f"{where}: content-type {headers.get('content-type')!r} is not JSON")
        try:
            doc = json.loads(body)
        except ValueError:
            return problems + [f"{where}: body is not JSON"]
        ref = schema.get("$ref")
        if ref is None:
            return problems
        problems += [f"{where}: {e}" for e in schema_errors(version if known else VERSIONS[1], ref, doc)]
        if status >= 400 and isinstance(doc, dict) and isinstance(doc.get("error"), dict):
            if headers.get("x-ms-error-code") != doc["error"].get("code"):
                problems.append(f"{where}: x-ms-error-code does not equal error.code")
        return problems
