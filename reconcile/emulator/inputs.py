"""Validation of request inputs per api-version (docs/service-api.md §2, §3).

Each ``parse_*`` function takes a canonicalized JSON body and returns typed values,
or raises :class:`~reconcile.emulator.apierror.ApiError` (400) naming the field and
the rule. Read-only and unknown properties are ignored, as the service does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from reconcile.api import names, versions
from reconcile.emulator.apierror import ApiError, bad_request
from reconcile.emulator.records import Auth
from reconcile.limits import CUSTOM_PROPERTY_CHARS, URI_CHARS

_ANNOTATION_KINDS = {k.lower(): k for k in versions.ANNOTATION_KINDS}
_AUTH_KINDS = {k.lower(): k for k in versions.AUTHENTICATION_KINDS}
URI_SCHEMES = ("https", "http", "file")


def check_name(name: str, field: str = "name") -> str:
    problem = names.name_problem(name)
    if problem:
        raise bad_request(f"Invalid {field} {name!r}: {problem}.", inner_code="InvalidName", target=field)
    return name


class BadBody:
    """A body that could not be parsed; its error is raised only after the create-only name check."""

    def __init__(self, error: ApiError) -> None:
        self.error = error


def require_object(body: Any, what: str) -> dict[str, Any]:
    if isinstance(body, BadBody):
        raise body.error
    if not isinstance(body, dict):
        raise bad_request(f"The request body must be a JSON object describing the {what}.", inner_code="InvalidBody")
    return body


# --- datasets ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DatasetFields:
    """The dataset properties a request sent (``present`` names those it contained)."""

    present: frozenset[str]
    annotation_kind: str | None = None
    annotation_file_uris: list[str] | None = None
    custom_properties: dict[str, str] | None = None
    authentication: Auth | None = None
    annotation_data: dict[str, Any] | None = None


def parse_dataset(body: Any, version: versions.ApiVersion) -> DatasetFields:
    body = require_object(body, "dataset")
    present = set()
    kind = uris = props = auth = data = None
    if body.get("annotationKind") is not None:
        present.add("annotationKind")
        raw = body["annotationKind"]
        kind = _ANNOTATION_KINDS.get(raw.lower()) if isinstance(raw, str) else None
        if kind is None:
            raise bad_request(
                f"annotationKind {raw!r} is not one of {', '.join(versions.ANNOTATION_KINDS)}.",
                inner_code="InvalidAnnotationKind",
                target="annotationKind",
            )
    if "annotationFileUris" in body:
        present.add("annotationFileUris")
        uris = _parse_uris(body["annotationFileUris"])
    if "customProperties" in body:
        present.add("customProperties")
        props = _parse_properties(body["customProperties"])
    if "authentication" in body:
        present.add("authentication")
        auth = _parse_auth(body["authentication"])
    if body.get("annotationData") is not None:
        if not version.inline_annotation_data:
            raise bad_request(
                f"annotationData (inline COCO) is not available in api-version {version.name}; "
                "use 2023-07-01-preview or annotationFileUris.",
                inner_code="UnsupportedProperty",
                target="annotationData",
            )
        present.add("annotationData")
        data = _parse_annotation_data(body["annotationData"])
    return DatasetFields(frozenset(present), kind, uris, props, auth, data)


def _parse_uris(raw: Any) -> list[str] | None:
    if raw is None:
        return None
    if not isinstance(raw, list) or not all(isinstance(u, str) for u in raw):
        raise bad_request("annotationFileUris must be an array of URI strings.", inner_code="InvalidBody",
                          target="annotationFileUris")
    if len(raw) > names.MAX_ANNOTATION_FILE_URIS:
        raise bad_request(
            f"annotationFileUris has {len(raw)} entries; at most {names.MAX_ANNOTATION_FILE_URIS} are allowed.",
            inner_code="TooManyAnnotationFiles",
            target="annotationFileUris",
        )
    for i, uri in enumerate(raw):
        if len(uri) > URI_CHARS.value:
            raise bad_request(f"annotationFileUris[{i}] is longer than {URI_CHARS.value} characters.",
                              inner_code="InvalidArgument", target=f"annotationFileUris[{i}]")
        try:
            parts = urlsplit(uri)
        except ValueError:
            parts = urlsplit("")
        ok = parts.scheme.lower() in URI_SCHEMES and (
            bool(parts.netloc) if parts.scheme.lower() != "file" else bool(parts.path)
        )
        if not ok:
            shown = parts._replace(query="").geturl() if parts.scheme else uri.split("?", 1)[0][:200]
            raise ApiError(
                400,
                "DatasetInvalidAnnotationUri",
                f"annotationFileUris[{i}] {shown!r} is not an absolute URI ({', '.join(URI_SCHEMES)}).",
                target=f"annotationFileUris[{i}]",
            )
    return list(raw)


def _parse_properties(raw: Any) -> dict[str, str] | None:
    if raw is None:
        return None
    if not isinstance(raw, dict) or not all(isinstance(v, str) for v in raw.values()):
        raise bad_request("customProperties must be an object of string values.", inner_code="InvalidBody",
                          target="customProperties")
    if len(raw) > names.MAX_CUSTOM_PROPERTIES:
        raise bad_request(
            f"customProperties has {len(raw)} pairs; at most {names.MAX_CUSTOM_PROPERTIES} are allowed.",
            inner_code="TooManyCustomProperties",
            target="customProperties",
        )
    for key, value in raw.items():
        if len(key) > CUSTOM_PROPERTY_CHARS.value or len(value) > CUSTOM_PROPERTY_CHARS.value:
            raise bad_request(f"A customProperties key or value is longer than {CUSTOM_PROPERTY_CHARS.value} characters.",
                              inner_code="InvalidArgument", target="customProperties")
    return dict(raw)


def _parse_auth(raw: Any) -> Auth | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise bad_request("authentication must be an object {kind, sasToken?}.", inner_code="InvalidBody",
                          target="authentication")
    lowered = {str(k).lower(): v for k, v in raw.items()}
    kind_raw = lowered.get("kind")
    kind = _AUTH_KINDS.get(kind_raw.lower()) if isinstance(kind_raw, str) else None
    if kind is None:
        raise bad_request(
            f"authentication.kind {kind_raw!r} is not one of {', '.join(versions.AUTHENTICATION_KINDS)}.",
            inner_code="InvalidAuthenticationKind",
            target="authentication.kind",
        )
    token = lowered.get("sastoken")
    if token is not None and not isinstance(token, str):
        raise bad_request("authentication.sasToken must be a string.", inner_code="InvalidBody",
                          target="authentication.sasToken")
    if kind == "sas" and not token:
        raise bad_request("authentication.kind 'sas' needs a sasToken (the query string, not a URL).",
                          inner_code="MissingSasToken", target="authentication.sasToken")
    if token and token.lower().startswith(("http://", "https://")):
        raise bad_request("authentication.sasToken is the SAS query string only, not a full URL.",
                          inner_code="InvalidSasToken", target="authentication.sasToken")
    return Auth(kind=kind, sas_token=token.lstrip("?") if token else None)


def _parse_annotation_data(raw: Any) -> dict[str, Any]:
    # Structure and the 07-01 caps only; the full COCO check runs when training starts.
    if not isinstance(raw, dict):
        raise bad_request("annotationData must be a COCO object.", inner_code="InvalidBody", target="annotationData")
    limits = {"categories": (1, 100), "images": (1, 1000), "annotations": (1, 1_000_000)}
    for key, (low, high) in limits.items():
        value = raw.get(key)
        if value is None and key != "categories":
            continue
        if not isinstance(value, list) or not low <= len(value) <= high:
            raise bad_request(
                f"annotationData.{key} must be an array of {low}..{high} items.",
                inner_code="InvalidAnnotationData",
                target=f"annotationData.{key}",
            )
    return raw


# --- models and evaluations --------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ModelFields:
    training_dataset_name: str
    budget_hours: int
    model_kind: str | None
    test_dataset_name: str | None
    has_evaluation_parameters: bool


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    return None


def parse_model(body: Any, version: versions.ApiVersion) -> ModelFields:
    body = require_object(body, "model")
    tp = body.get("trainingParameters")
    if not isinstance(tp, dict):
        raise bad_request("trainingParameters is required: {trainingDatasetName, timeBudgetInHours, modelKind?}.",
                          inner_code="MissingTrainingParameters", target="trainingParameters")
    dataset = tp.get("trainingDatasetName")
    if not isinstance(dataset, str):
        raise bad_request("trainingParameters.trainingDatasetName is required.", inner_code="InvalidBody",
                          target="trainingParameters.trainingDatasetName")
    check_name(dataset, "trainingParameters.trainingDatasetName")
    kind = None
    if tp.get("modelKind") is not None:
        raw = tp["modelKind"]
        allowed = {k.lower(): k for k in version.model_kinds}
        kind = allowed.get(raw.lower()) if isinstance(raw, str) else None
        if kind is None:
            raise bad_request(
                f"modelKind {raw!r} is not supported in api-version {version.name}; "
                f"use one of {', '.join(version.model_kinds)}.",
                inner_code="UnsupportedModelKind",
                target="trainingParameters.modelKind",
            )
    budget = _int(tp.get("timeBudgetInHours"))
    cap = version.budget_cap(kind) if kind else version.max_budget_hours
    if budget is None or not 1 <= budget <= cap:
        raise bad_request(
            f"trainingParameters.timeBudgetInHours must be an integer from 1 to {cap}"
            f"{' for ' + kind if kind else ''} in api-version {version.name} (got {tp.get('timeBudgetInHours')!r}).",
            inner_code="InvalidTimeBudget",
            target="trainingParameters.timeBudgetInHours",
        )
    test = None
    ep = body.get("evaluationParameters")
    if ep is not None and not isinstance(ep, dict):
        raise bad_request("evaluationParameters must be an object {testDatasetName?}.", inner_code="InvalidBody",
                          target="evaluationParameters")
    if ep and ep.get("testDatasetName") is not None:
        test = ep["testDatasetName"]
        if not isinstance(test, str):
            raise bad_request("evaluationParameters.testDatasetName must be a string.", inner_code="InvalidBody",
                              target="evaluationParameters.testDatasetName")
        check_name(test, "evaluationParameters.testDatasetName")
    return ModelFields(dataset, budget, kind, test, ep is not None)


def parse_evaluation(body: Any) -> str:
    """The ``testDatasetName`` of an evaluation request."""
    body = require_object(body, "evaluation")
    ep = body.get("evaluationParameters")
    test = ep.get("testDatasetName") if isinstance(ep, dict) else None
    if not isinstance(test, str):
        raise bad_request("evaluationParameters.testDatasetName is required.", inner_code="InvalidBody",
                          target="evaluationParameters.testDatasetName")
    return check_name(test, "evaluationParameters.testDatasetName")


def parse_paging(skip_raw: str | None, top_raw: str | None) -> tuple[int, int]:
    skip = 0 if skip_raw is None else _int(skip_raw)
    top = names.LIST_TOP_DEFAULT if top_raw is None else _int(top_raw)
    if skip is None or not 0 <= skip <= 2147483647:
        raise bad_request(f"skip must be an integer >= 0 (got {skip_raw!r}).", inner_code="InvalidSkip", target="skip")
    if top is None or not 1 <= top <= names.LIST_TOP_MAX:
        raise bad_request(
            f"top must be an integer from 1 to {names.LIST_TOP_MAX} (got {top_raw!r}).",
            inner_code="InvalidTop",
            target="top",
        )
    return skip, top
