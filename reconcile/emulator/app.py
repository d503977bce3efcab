"""The HTTP surface: Starlette routes under ``/computervision``, the admin surface under
``/_emulator``, and one raw ASGI layer in front for auth, faults and the request log.

Order of a request: request log start -> auth (401, APIM shape) -> rate limit (429)
-> injected faults (latency, errors, dropped connections) -> route -> log. Every
error leaves as ``{"error": {...}}`` plus ``x-ms-error-code``.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from reconcile.api import versions
from reconcile.emulator import lenient
from reconcile.emulator.apierror import ApiError, bad_request, rate_limited, unauthorized
from reconcile.emulator.faults import FaultConfig, FaultInjector
from reconcile.emulator.inputs import BadBody, parse_paging
from reconcile.emulator.requestlog import DROPPED, RequestLog
from reconcile.emulator.service import Reply, Service
from reconcile.emulator.shared.gateway import ADMIN_PREFIX, Capture, LogOnce, answer_with_faults
from reconcile.emulator.shared.gateway import read_bounded_body, request_headers, send_error
from reconcile.limits import REQUEST_IMAGE_BYTES, REQUEST_JSON_BYTES, Limit

API_PREFIX = "/computervision"

#: observer(method, path, query, status, headers, body) is called after every API answer.
Observer = Callable[[str, str, str, int, dict[str, str], bytes], None]


def error_response(err: ApiError) -> JSONResponse:
    headers = {"x-ms-error-code": err.code, **err.headers}
    return JSONResponse(err.body(), status_code=err.status, headers=headers)


def _reply(reply: Reply) -> Response:
    if reply.body is None:
        return Response(status_code=reply.status)
    return JSONResponse(reply.body, status_code=reply.status)


def _version(request: Request) -> versions.ApiVersion:
    raw = request.query_params.get("api-version")
    if raw is None:
        raise bad_request(
            f"The api-version query parameter is required; supported: {', '.join(versions.API_VERSION_NAMES)}.",
            inner_code="MissingApiVersionParameter",
            target="api-version",
        )
    try:
        return versions.get(raw)
    except KeyError:
        raise bad_request(
            f"Unsupported api-version {raw!r}; supported: {', '.join(versions.API_VERSION_NAMES)}.",
            inner_code="UnsupportedApiVersion",
            target="api-version",
        ) from None


def payload_too_large(limit: Limit) -> ApiError:
    """413 in the service's error shape: the body is over ``limit`` (nothing of it was kept)."""
    return ApiError(413, "InvalidRequest", f"The request body is larger than {limit.value} bytes.",
                    inner_code="PayloadTooLarge")


async def read_body(request: Request, limit: Limit, too_large: Callable[[Limit], ApiError] = payload_too_large) -> bytes:
    """The request body, refused (``too_large``, default 413) past ``limit`` bytes."""
    return await read_bounded_body(request, limit, too_large)


def _image_too_large(limit: Limit) -> ApiError:
    # The contract's answer for an image over 20,971,520 bytes (docs/service-api.md §5).
    return bad_request(f"The image must be 1 to {limit.value} bytes.", inner_code="InvalidImageSize")


async def _json_body(request: Request, shape: lenient.Shape) -> Any:
    """The canonicalized body, or a :class:`BadBody` (raised later, after the name-exists check).

    Raises a 413 :class:`ApiError` for a body over ``requestJsonBytes``.
    """
    raw = await read_body(request, REQUEST_JSON_BYTES)
    if not raw.strip():
        return BadBody(bad_request("The request body is empty; send a JSON object.", inner_code="InvalidBody"))
    try:
        return lenient.canonicalize(lenient.parse(raw), shape)
    except (lenient.LenientJsonError, UnicodeDecodeError) as exc:
        return BadBody(bad_request(f"The request body is not valid JSON: {exc}.", inner_code="InvalidJson"))


def _base_url(request: Request) -> str:
    return str(request.url.replace(query=""))


def build_app(service: Service) -> Starlette:
    """The routes of the 15 operations (api-version checked first in each)."""

    def call(fn: Callable[..., Reply], *args: Any) -> Any:
        return run_in_threadpool(fn, *args)

    async def datasets_list(request: Request) -> Response:
        v = _version(request)
        skip, top = parse_paging(request.query_params.get("skip"), request.query_params.get("top"))
        return _reply(await call(service.list_datasets, v, skip, top, _base_url(request)))

    async def dataset(request: Request) -> Response:
        v = _version(request)
        name = request.path_params["name"]
        if request.method == "GET":
            return _reply(await call(service.get_dataset, v, name))
        if request.method == "PUT":
            body = await _json_body(request, lenient.DATASET_SHAPE)
            return _reply(await call(service.register_dataset, v, name, body))
        if request.method == "PATCH":
            body = await _json_body(request, lenient.DATASET_SHAPE)
            return _reply(await call(service.update_dataset, v, name, body, request.headers.get("if-match")))
        return _reply(await call(service.delete_dataset, v, name, request.headers.get("if-match")))

    async def models_list(request: Request) -> Response:
        v = _version(request)
        skip, top = parse_paging(request.query_params.get("skip"), request.query_params.get("top"))
        return _reply(await call(service.list_models, v, skip, top, _base_url(request)))

    async def model(request: Request) -> Response:
        v = _version(request)
        name = request.path_params["name"]
        if request.method == "GET":
            return _reply(await call(service.get_model, v, name))
        if request.method == "PUT":
            body = await _json_body(request, lenient.MODEL_SHAPE)
            return _reply(await call(service.create_model, v, name, body))
        return _reply(await call(service.delete_model, v, name))

    async def model_cancel(request: Request) -> Response:
        v = _version(request)
        return _reply(await call(service.cancel_model, v, request.path_params["name"]))

    async def evaluations_list(request: Request) -> Response:
        v = _version(request)
        skip, top = parse_paging(request.query_params.get("skip"), request.query_params.get("top"))
        return _reply(
            await call(service.list_evaluations, v, request.path_params["name"], skip, top, _base_url(request))
        )

    async def evaluation(request: Request) -> Response:
        v = _version(request)
        model_name, name = request.path_params["name"], request.path_params["evaluation"]
        if request.method == "GET":
            return _reply(await call(service.get_evaluation, v, model_name, name))
        if request.method == "PUT":
            body = await _json_body(request, lenient.EVALUATION_SHAPE)
            return _reply(await call(service.create_evaluation, v, model_name, name, body))
        return _reply(await call(service.delete_evaluation, v, model_name, name))

    async def analyze(request: Request) -> Response:
        v = _version(request)
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        url = image = None
        if content_type in ("application/json", "text/json", ""):
            body = await _json_body(request, lenient.IMAGE_URL_SHAPE)
            if isinstance(body, BadBody):
                raise body.error
            if not isinstance(body, dict) or not isinstance(body.get("url"), str):
                raise bad_request("The JSON body must be {\"url\": \"<image url>\"}.", inner_code="InvalidBody",
                                  target="url")
            url = body["url"]
        else:
            image = await read_body(request, REQUEST_IMAGE_BYTES, _image_too_large)
        q = request.query_params
        return _reply(await call(service.analyze, v, q.get("model-name"), q.get("features"), image, url))

    p = API_PREFIX
    routes = [
        Route(f"{p}/datasets", datasets_list, methods=["GET"]),
        Route(p + "/datasets/{name}", dataset, methods=["GET", "PUT", "PATCH", "DELETE"]),
        Route(f"{p}/models", models_list, methods=["GET"]),
        Route(p + "/models/{name}:cancel", model_cancel, methods=["POST"]),
        Route(p + "/models/{name}/evaluations", evaluations_list, methods=["GET"]),
        Route(p + "/models/{name}/evaluations/{evaluation}", evaluation, methods=["GET", "PUT", "DELETE"]),
        Route(p + "/models/{name}", model, methods=["GET", "PUT", "DELETE"]),
        Route(f"{p}/imageanalysis:analyze", analyze, methods=["POST"]),
    ]

    async def on_api_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ApiError)
        return error_response(exc)

    async def on_http_error(request: Request, exc: Exception) -> Response:
        status = getattr(exc, "status_code", 404)
        if status == 405:
            err = ApiError(405, "405", f"The method {request.method} is not allowed on {request.url.path}.")
        else:
            err = ApiError(404, "404", "Resource not found")
        return error_response(err)

    async def on_crash(request: Request, exc: Exception) -> Response:
        return error_response(ApiError(500, "InternalServerError", f"The emulator failed: {type(exc).__name__}."))

    from starlette.exceptions import HTTPException

    return Starlette(
        routes=routes,
        exception_handlers={ApiError: on_api_error, HTTPException: on_http_error, Exception: on_crash},
    )


class Gateway:
    """The raw ASGI layer in front of the routes (what APIM does for the real service, plus faults)."""

    def __init__(
        self,
        app: Starlette,
        admin: Starlette,
        *,
        key: str | None,
        token: str | None,
        injector: FaultInjector,
        log: RequestLog,
    ) -> None:
        self.app = app
        self.admin = admin
        self.key = key
        self.token = token
        self.injector = injector
        self.log = log
        self.observers: list[Observer] = []

    def authorized(self, headers: dict[str, str], query: str) -> bool:
        if self.key is None and self.token is None:
            return True
        key = headers.get("ocp-apim-subscription-key")
        if self.key is not None and key is not None and hmac.compare_digest(key.encode(), self.key.encode()):
            return True
        auth = headers.get("authorization", "")
        if self.token is not None and auth[:7].lower() == "bearer ":
            return hmac.compare_digest(auth[7:].strip().encode(), self.token.encode())
        return False

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        path: str = scope["path"]
        headers = request_headers(scope)
        query = scope.get("query_string", b"").decode("latin-1")
        if path.startswith(ADMIN_PREFIX):
            if path != f"{ADMIN_PREFIX}/health" and not self.authorized(headers, query):
                return await send_error(send, unauthorized())
            return await self.admin(scope, receive, send)
        log = LogOnce(self.log, scope["method"], path, query)
        captured = Capture(send, on_final=lambda: log(captured.status))
        status = DROPPED
        try:
            if not self.authorized(headers, query):
                await send_error(captured, unauthorized())
            elif not await answer_with_faults(self.injector, self.app, scope, receive, captured,
                                              rate_limited=rate_limited, injected=_injected):
                return  # dropped: no answer to observe
            status = captured.status
        finally:
            log(status)
        for observer in list(self.observers):
            observer(scope["method"], path, query, captured.status, captured.headers, bytes(captured.body))


def _injected(status: int, config: FaultConfig) -> ApiError:
    if status == 429:
        return rate_limited(config.retry_after_seconds)
    headers = {"Retry-After": str(config.retry_after_seconds)} if status == 503 else {}
    messages = {
        500: ("InternalServerError", "An unexpected error occurred (injected by the emulator)."),
        502: ("BadGateway", "The gateway received an invalid response (injected by the emulator)."),
        503: ("ServiceUnavailable", "The service is temporarily unavailable (injected by the emulator)."),
        504: ("GatewayTimeout", "The gateway timed out (injected by the emulator)."),
    }
    code, message = messages[status]
    return ApiError(status, code, message, headers=headers)
