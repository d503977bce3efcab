"""Contract checks of the Azure ML emulator: requests and answers against the stored 2024-04-01 swaggers.

Swagger 2.0 as AutoRest writes it is not plain JSON Schema: polymorphic bodies pick
their concrete definition by a discriminator (``jobType``, ``taskType``,
``dataType``...), definitions extend each other through ``allOf`` while each says
``additionalProperties: false``, and ``x-ms-enum`` with ``modelAsString`` makes an
enum extensible. :class:`SwaggerValidator` implements exactly those rules:

* an object's allowed properties are the union along its ``allOf`` chain; any other
  property is a violation;
* a discriminated object is checked against the definition its discriminator value
  names (an unknown value is a violation);
* enums are closed unless ``modelAsString`` is true (the service's answers use
  values outside the list, e.g. job status ``Scheduled``);
* ``null`` is accepted only where ``x-nullable`` says so; ``required`` is enforced,
  ``readOnly`` properties are allowed in requests (clients echo what they read).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

SWAGGER_DIR = Path(__file__).parent / "swagger"
FILES = ("mfe.json", "machineLearningServices.json", "types.json", "managedidentity.json", "privatelinks.json")
#: The operations the emulator serves (REFERENCE §2), by operationId.
OPERATIONS = (
    "Workspaces_Get", "Datastores_List", "Datastores_Get", "Datastores_ListSecrets", "DataContainers_Get",
    "DataContainers_List", "DataContainers_CreateOrUpdate", "DataVersions_CreateOrUpdate", "DataVersions_Get",
    "DataVersions_List", "Jobs_CreateOrUpdate", "Jobs_Get", "Jobs_List", "Jobs_Cancel", "Jobs_Delete",
    "ModelContainers_Get", "ModelContainers_List", "ModelVersions_CreateOrUpdate", "ModelVersions_Get",
    "ModelVersions_List", "OnlineEndpoints_CreateOrUpdate", "OnlineEndpoints_Get", "OnlineEndpoints_List",
    "OnlineEndpoints_Update", "OnlineEndpoints_Delete", "OnlineEndpoints_ListKeys", "OnlineEndpoints_GetToken",
    "OnlineDeployments_CreateOrUpdate", "OnlineDeployments_Get", "OnlineDeployments_List",
    "OnlineDeployments_Delete",
)
#: Served too (REFERENCE §2, "optional"): the training cluster (its node count bounds a job's cost; read by Compute_List)
#: and logs.
OPTIONAL_OPERATIONS = ("Compute_Get", "Compute_List", "OnlineDeployments_GetLogs", "ModelContainers_CreateOrUpdate")
_DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?$")
_DURATION = re.compile(r"^-?P(?!$)(\d+(\.\d+)?Y)?(\d+(\.\d+)?M)?(\d+(\.\d+)?W)?(\d+(\.\d+)?D)?"
                       r"(T(?=\d)(\d+(\.\d+)?H)?(\d+(\.\d+)?M)?(\d+(\.\d+)?S)?)?$")
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


@lru_cache(maxsize=None)
def document(name: str) -> dict[str, Any]:
    return json.loads((SWAGGER_DIR / name).read_text())


Ref = tuple[str, str]  # (file, definition name)


def _ref(current: str, ref: str) -> Ref:
    file, _, pointer = ref.partition("#")
    name = pointer.rsplit("/", 1)[-1]
    return (Path(file).name if file else current, name)


@lru_cache(maxsize=None)
def _subtypes() -> dict[Ref, dict[str, Ref]]:
    """For each discriminated base, its concrete definitions by discriminator value (transitively)."""
    parents: dict[Ref, list[Ref]] = {}
    for f in FILES:
        for name, d in document(f).get("definitions", {}).items():
            parents[(f, name)] = [_ref(f, p["$ref"]) for p in d.get("allOf", []) if "$ref" in p]

    def ancestors(r: Ref) -> list[Ref]:
        out, todo = [], list(parents.get(r, []))
        while todo:
            p = todo.pop()
            out.append(p)
            todo.extend(parents.get(p, []))
        return out

    subs: dict[Ref, dict[str, Ref]] = {}
    for r in parents:
        d = document(r[0])["definitions"][r[1]]
        value = d.get("x-ms-discriminator-value", r[1])
        for a in [r] + ancestors(r):
            if document(a[0])["definitions"][a[1]].get("discriminator"):
                subs.setdefault(a, {})[value] = r
    return subs


@dataclass
class _Flat:
    properties: dict[str, tuple[str, dict[str, Any]]]
    required: set[str]
    closed: bool
    additional: tuple[str, dict[str, Any]] | None
    discriminator: tuple[Ref, str] | None


def _flatten(file: str, schema: dict[str, Any], here: Ref | None) -> _Flat:
    flat = _Flat({}, set(schema.get("required", [])), schema.get("additionalProperties") is False, None, None)
    if isinstance(schema.get("additionalProperties"), dict):
        flat.additional = (file, schema["additionalProperties"])
    if schema.get("discriminator") and here is not None:
        flat.discriminator = (here, schema["discriminator"])
    for part in schema.get("allOf", []):
        if "$ref" in part:
            r = _ref(file, part["$ref"])
            parent = _flatten(r[0], document(r[0])["definitions"][r[1]], r)
        else:
            parent = _flatten(file, part, None)
        flat.properties.update({k: v for k, v in parent.properties.items() if k not in flat.properties})
        flat.required |= parent.required
        flat.closed = flat.closed or parent.closed
        flat.additional = flat.additional or parent.additional
        flat.discriminator = flat.discriminator or parent.discriminator
    for k, v in schema.get("properties", {}).items():
        flat.properties[k] = (file, v)
    return flat


class _Checker:
    def __init__(self, request: bool) -> None:
        self.request = request
        self.errors: list[str] = []

    def check(self, file: str, schema: dict[str, Any], value: Any, where: str, here: Ref | None = None) -> None:
        if "$ref" in schema:
            r = _ref(file, schema["$ref"])
            return self.check(r[0], document(r[0])["definitions"][r[1]], value, where, r)
        if value is None:
            if not schema.get("x-nullable"):
                self.errors.append(f"{where}: null is not allowed")
            return
        kind = schema.get("type") or ("object" if "properties" in schema or "allOf" in schema
                                      or "additionalProperties" in schema else None)
        if kind == "object":
            return self._object(file, schema, value, where, here)
        if kind == "array":
            if not isinstance(value, list):
                self.errors.append(f"{where}: expected an array, got {type(value).__name__}")
                return
            for i, item in enumerate(value):
                self.check(file, schema.get("items", {}), item, f"{where}[{i}]")
            return
        self._scalar(kind, schema, value, where)

    def _scalar(self, kind: str | None, schema: dict[str, Any], value: Any, where: str) -> None:
        ok = {"string": isinstance(value, str), "boolean": isinstance(value, bool),
              "integer": isinstance(value, int) and not isinstance(value, bool),
              "number": isinstance(value, (int, float)) and not isinstance(value, bool)}.get(kind or "", True)
        if not ok:
            self.errors.append(f"{where}: expected {kind}, got {type(value).__name__} {value!r}")
            return
        if "enum" in schema and not (schema.get("x-ms-enum") or {}).get("modelAsString", False):
            if value not in schema["enum"]:
                self.errors.append(f"{where}: {value!r} is not one of {schema['enum']}")
        fmt = schema.get("format")
        if isinstance(value, str):
            if fmt == "date-time" and not _DATE_TIME.match(value):
                self.errors.append(f"{where}: {value!r} is not a date-time")
            if fmt == "duration" and not _DURATION.match(value):
                self.errors.append(f"{where}: {value!r} is not an ISO 8601 duration")
            if fmt == "uuid" and not _UUID.match(value):
                self.errors.append(f"{where}: {value!r} is not a uuid")
            if "pattern" in schema and not re.search(schema["pattern"], value):
                self.errors.append(f"{where}: {value!r} does not match {schema['pattern']}")
            if "minLength" in schema and len(value) < schema["minLength"]:
                self.errors.append(f"{where}: shorter than {schema['minLength']}")
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if "minimum" in schema and value < schema["minimum"]:
                self.errors.append(f"{where}: {value} < minimum {schema['minimum']}")
            if "maximum" in schema and value > schema["maximum"]:
                self.errors.append(f"{where}: {value} > maximum {schema['maximum']}")

    def _object(self, file: str, schema: dict[str, Any], value: Any, where: str, here: Ref | None) -> None:
        if not isinstance(value, dict):
            self.errors.append(f"{where}: expected an object, got {type(value).__name__}")
            return
        flat = _flatten(file, schema, here)
        if flat.discriminator is not None:
            base, prop = flat.discriminator
            tag = value.get(prop)
            concrete = _subtypes().get(base, {}).get(tag) if isinstance(tag, str) else None
            if concrete is None:
                self.errors.append(f"{where}.{prop}: {tag!r} names no definition derived from {base[1]}")
                return
            if concrete != here:
                flat = _flatten(concrete[0], document(concrete[0])["definitions"][concrete[1]], concrete)
        for name in sorted(flat.required - set(value)):
            self.errors.append(f"{where}: required property {name!r} is missing")
        for key, item in value.items():
            if key in flat.properties:
                f, sub = flat.properties[key]
                self.check(f, sub, item, f"{where}.{key}")
            elif flat.additional is not None:
                self.check(flat.additional[0], flat.additional[1], item, f"{where}.{key}")
            elif flat.closed:
                self.errors.append(f"{where}: property {key!r} is not in the schema")


@dataclass(frozen=True)
class Operation:
    operation_id: str
    method: str
    file: str
    pattern: re.Pattern[str]
    spec: dict[str, Any]

    def body_schema(self) -> dict[str, Any] | None:
        params = self.spec.get("parameters", [])
        for p in params:
            if p.get("in") == "body":
                return p["schema"]
        return None


def _pattern(template: str) -> re.Pattern[str]:
    out, pos = "", 0
    for m in re.finditer(r"\{(\w+)\}", template):
        out += re.escape(template[pos:m.start()]) + "[^/]+"
        pos = m.end()
    return re.compile("^" + out + re.escape(template[pos:]) + "$", re.IGNORECASE)


@lru_cache(maxsize=None)
def operations() -> tuple[Operation, ...]:
    ops = []
    for f in ("mfe.json", "machineLearningServices.json"):
        for template, methods in document(f)["paths"].items():
            for method, spec in methods.items():
                if isinstance(spec, dict) and spec.get("operationId") in OPERATIONS + OPTIONAL_OPERATIONS:
                    ops.append(Operation(spec["operationId"], method.upper(), f, _pattern(template), spec))
    return tuple(ops)


def find_operation(method: str, path: str) -> Operation | None:
    for op in operations():
        if op.method == method and op.pattern.match(path):
            return op
    return None


def check_body(file: str, schema: dict[str, Any], body: Any, *, request: bool, where: str = "body") -> list[str]:
    c = _Checker(request)
    c.check(file, schema, body, where)
    return c.errors


def definition(name: str, file: str = "mfe.json") -> tuple[str, dict[str, Any]]:
    return file, {"$ref": f"#/definitions/{name}"}


class SwaggerValidator:
    """Checks one exchange; :meth:`check` returns human-readable violations (empty: conforms)."""

    def __init__(self) -> None:
        self.seen: set[str] = set()
        """operationIds of the exchanges checked so far (coverage)."""

    def check(self, method: str, path: str, query: str, request_body: bytes, status: int,
              headers: dict[str, str], body: bytes) -> list[str]:
        if not path.startswith("/subscriptions/") or "/providers/Microsoft.MachineLearningServices/locations/" in path:
            return []
        where = f"{method} {path}?{query} -> {status}"
        op = find_operation(method, path)
        if op is None:
            return [f"{where}: no operation of the swagger matches"] if status < 400 else []
        self.seen.add(op.operation_id)
        problems: list[str] = []
        version = (parse_qs(query).get("api-version") or [""])[0]
        schema = op.body_schema()
        if schema is not None and request_body and status < 500:
            try:
                sent = json.loads(request_body)
            except ValueError:
                sent = None
            if sent is not None and status < 400:
                problems += [f"{where}: request {e}" for e in check_body(op.file, schema, sent, request=True)]
        declared = op.spec["responses"].get(str(status))
        if declared is None:
            if 200 <= status < 300:
                return problems + [f"{where}: status {status} is not declared for {op.operation_id}"]
            declared = op.spec["responses"]["default"]
            if headers.get("x-ms-error-code") is None:
                problems.append(f"{where}: error answer without x-ms-error-code")
        if status < 400 and not any(h.startswith("x-ms-ratelimit-remaining-subscription-") for h in headers):
            problems.append(f"{where}: no x-ms-ratelimit-remaining-subscription-* header")
        response_schema = declared.get("schema")
        if response_schema is None:
            if body:
                problems.append(f"{where}: expected no body, got {len(body)} bytes")
            return problems
        try:
            doc = json.loads(body)
        except ValueError:
            return problems + [f"{where}: body is not JSON"]
        problems += [f"{where}: {e}" for e in check_body(op.file, response_schema, doc, request=False)]
        if version and status in (201, 202) and "Azure-AsyncOperation".lower() not in headers \
                and "location" not in headers and op.operation_id.endswith(("CreateOrUpdate", "Delete", "Cancel")) \
                and op.operation_id.startswith("Online"):
            problems.append(f"{where}: an LRO answer without Azure-AsyncOperation or Location")
        return problems
