"""The HTTP surface of the Azure ML emulator: Starlette routes behind one raw ASGI gateway.

Order of a request: request log -> auth (Bearer on ARM, run history and MLflow) ->
ARM throttling (token buckets; headers on every ARM answer) -> injected faults
(latency, 429/5xx, dropped connections; the Vision emulator's injector) -> route.
ARM errors leave as ``ErrorResponse`` + ``x-ms-error-code``; MLflow errors in
MLflow's ``{"error_code", "message"}`` shape.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from collections.abc import Callable
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from reconcile import safejson
from reconcile.emulator.azureml.arm import PROVIDER, ArmError, check_api_version
from reconcile.emulator.azureml.runs import LOG_NAME, RunViews
from reconcile.emulator.azureml.scoring import Scorer, ScoringError
from reconcile.emulator.azureml.base import DATA, DATA_VERSION, MODEL, MODEL_VERSION, Call, Reply
from reconcile.emulator.azureml.service import AzureMLService
from reconcile.emulator.azureml.throttle import Throttle, kind_of
from reconcile.emulator.faults import FaultConfig, FaultInjector
from reconcile.emulator.requestlog import RequestLog
from reconcile.emulator.shared.gateway import ADMIN_PREFIX, Capture, LogOnce, answer_with_faults
from reconcile.emulator.shared.gateway import read_bounded_body, request_headers, send_error
from reconcile.errors import InputError
from reconcile.limits import REQUEST_IMAGE_BYTES, REQUEST_JSON_BYTES, Limit

WS = ("/subscriptions/{sub}/resourceGroups/{rg}/providers/" + PROVIDER + "/workspaces/{ws}")
LOCATIONS = "/subscriptions/{sub}/providers/" + PROVIDER + "/locations/{region}"
RUN_SCOPE = "/history/v1.0" + WS
MLFLOW = "/mlflow/{v}" + WS + "/api/2.0/mlflow"

#: observer(method, path, query, request_body, status, headers, body) after every answer.
Observer = Callable[[str, str, str, bytes, int, dict[str, str], bytes], None]


def arm_error_response(err: ArmError) -> JSONResponse:
    return JSONResponse(err.body(), status_code=err.status, headers={"x-ms-error-code": err.code, **err.headers})


def _reply(reply: Reply) -> Response:
    if reply.body is None:
        return Response(status_code=reply.status, headers=reply.headers)
    return JSONResponse(reply.body, status_code=reply.status, headers=reply.headers)


def _base(request: Request) -> str:
    return f"{request.url.scheme}://{request.url.netloc}"


def _too_large(limit: Limit) -> ArmError:
    return ArmError(413, "RequestEntityTooLarge",
                    f"The request content is larger than the {limit.name} limit of {limit.shown}.")


async def _bounded_body(request: Request, limit: Limit) -> bytes:
    """The request body, refused with 413 past ``limit`` bytes (declared or streamed; nothing is kept)."""
    return await read_bounded_body(request, limit, _too_large)


async def _json(request: Request, required: bool = True) -> Any:
    raw = await _bounded_body(request, REQUEST_JSON_BYTES)
    if not raw.strip():
        if required:
            raise ArmError(400, "InvalidRequestContent", "The request content was invalid: the body is empty.")
        return None
    try:
        return safejson.loads(raw, limit=REQUEST_JSON_BYTES, shown="the request content")
    except InputError as exc:
        raise ArmError(400, "InvalidRequestContent", f"The request content was invalid and could not be "
                       f"deserialized: {exc}.") from None


def build_app(service: AzureMLService) -> Starlette:
    runs = RunViews(service)
    scorer = Scorer(service)

    def call_of(request: Request) -> Call:
        p = request.path_params
        if not service.ws.matches(p["sub"], p["rg"], p["ws"]):
            raise ArmError(404, "ResourceNotFound", f"The Resource '{PROVIDER}/workspaces/{p['ws']}' under resource "
                           f"group '{p['rg']}' was not found.")
        version = check_api_version(request.query_params.get("api-version"))
        return Call(_base(request), version, request.url.path, dict(request.query_params))

    def run(fn: Callable[..., Reply], *args: Any) -> Any:
        return run_in_threadpool(fn, *args)

    async def workspace(request: Request) -> Response:
        return _reply(await run(service.workspace, call_of(request)))

    async def datastores(request: Request) -> Response:
        return _reply(await run(service.list_datastores, call_of(request)))

    async def datastore(request: Request) -> Response:
        return _reply(await run(service.get_datastore, call_of(request), request.path_params["name"]))

    async def datastore_secrets(request: Request) -> Response:
        c = call_of(request)
        await _json(request, required=False)  # 2024-10-01-preview sends {"expirableSecret": ...}; ignored
        return _reply(await run(service.datastore_secrets, c, request.path_params["name"]))

    def containers(kind: str) -> Callable[[Request], Any]:
        async def handler(request: Request) -> Response:
            return _reply(await run(service.list_containers, call_of(request), kind))
        return handler

    def container(kind: str) -> Callable[[Request], Any]:
        async def handler(request: Request) -> Response:
            c, name = call_of(request), request.path_params["name"]
            if request.method == "GET":
                return _reply(await run(service.get_container, c, kind, name))
            if request.method == "PUT":
                return _reply(await run(service.put_container, c, kind, name, await _json(request)))
            return _reply(await run(service.delete_asset, c, kind, name, None))
        return handler

    def versions(kind: str) -> Callable[[Request], Any]:
        async def handler(request: Request) -> Response:
            return _reply(await run(service.list_versions, call_of(request), kind, request.path_params["name"]))
        return handler

    def version(kind: str) -> Callable[[Request], Any]:
        async def handler(request: Request) -> Response:
            c, p = call_of(request), request.path_params
            if request.method == "GET":
                return _reply(await run(service.get_version, c, kind, p["name"], p["version"]))
            if request.method == "PUT":
                return _reply(await run(service.put_version, c, kind, p["name"], p["version"], await _json(request)))
            return _reply(await run(service.delete_asset, c, kind, p["name"], p["version"]))
        return handler

    async def jobs(request: Request) -> Response:
        return _reply(await run(service.list_jobs, call_of(request)))

    async def job(request: Request) -> Response:
        c, name = call_of(request), request.path_params["id"]
        if request.method == "GET":
            return _reply(await run(service.get_job, c, name))
        if request.method == "PUT":
            return _reply(await run(service.put_job, c, name, await _json(request)))
        return _reply(await run(service.delete_job, c, name))

    async def job_cancel(request: Request) -> Response:
        return _reply(await run(service.cancel_job, call_of(request), request.path_params["id"]))

    async def endpoints(request: Request) -> Response:
        return _reply(await run(service.list_endpoints, call_of(request)))

    async def endpoint(request: Request) -> Response:
        c, name = call_of(request), request.path_params["ep"]
        if request.method == "GET":
            return _reply(await run(service.get_endpoint, c, name))
        if request.method == "PUT":
            return _reply(await run(service.put_endpoint, c, name, await _json(request)))
        if request.method == "PATCH":
            return _reply(await run(service.patch_endpoint, c, name, await _json(request)))
        return _reply(await run(service.delete_endpoint, c, name))

    async def endpoint_keys(request: Request) -> Response:
        return _reply(await run(service.endpoint_keys, call_of(request), request.path_params["ep"]))

    async def endpoint_token(request: Request) -> Response:
        return _reply(await run(service.endpoint_token, call_of(request), request.path_params["ep"]))

    async def deployments(request: Request) -> Response:
        return _reply(await run(service.list_deployments, call_of(request), request.path_params["ep"]))

    async def deployment(request: Request) -> Response:
        c, p = call_of(request), request.path_params
        if request.method == "GET":
            return _reply(await run(service.get_deployment, c, p["ep"], p["dep"]))
        if request.method == "PUT":
            return _reply(await run(service.put_deployment, c, p["ep"], p["dep"], await _json(request)))
        return _reply(await run(service.delete_deployment, c, p["ep"], p["dep"]))

    async def compute(request: Request) -> Response:
        return _reply(await run(service.get_compute, call_of(request), request.path_params["name"]))

    async def computes(request: Request) -> Response:
        return _reply(await run(service.list_computes, call_of(request)))

    async def deployment_logs(request: Request) -> Response:
        c, p = call_of(request), request.path_params
        return _reply(await run(service.deployment_logs, c, p["ep"], p["dep"], await _json(request, required=False)))

    def lro_call(request: Request) -> Call:
        p = request.path_params
        if p["sub"].lower() != service.ws.subscription.lower():
            raise ArmError(404, "SubscriptionNotFound", f"The subscription '{p['sub']}' could not be found.")
        return Call(_base(request), check_api_version(request.query_params.get("api-version")), request.url.path,
                    dict(request.query_params))

    async def operation_status(request: Request) -> Response:
        return _reply(await run(service.operation_status, lro_call(request), request.path_params["op"]))

    async def operation_result(request: Request) -> Response:
        c = lro_call(request)
        return _reply(await run(service.operation_result, c, request.path_params["op"], service.render_endpoint(c)))

    # --- outside ARM -------------------------------------------------------------------

    async def discovery(request: Request) -> Response:
        return JSONResponse(service.discovery(_base(request)))

    def scope_ok(request: Request) -> None:
        p = request.path_params
        if not service.ws.matches(p["sub"], p["rg"], p["ws"]):
            raise ArmError(404, "NotFound", f"Workspace '{p['ws']}' was not found.")

    async def history_run(request: Request) -> Response:
        scope_ok(request)
        return JSONResponse(await run_in_threadpool(runs.history_run, request.path_params["run"], _base(request)))

    async def history_children(request: Request) -> Response:
        scope_ok(request)
        return JSONResponse(await run_in_threadpool(runs.children, request.path_params["run"], _base(request)))

    async def run_log(request: Request) -> Response:
        # The real logFiles are SAS URLs (no bearer token): this route needs none either.
        return PlainTextResponse(await run_in_threadpool(runs.log_text, request.path_params["run"]))

    async def history_patch(request: Request) -> Response:
        scope_ok(request)
        return JSONResponse(await run_in_threadpool(runs.patch, request.path_params["run"], await _json(request)))

    async def mlflow(request: Request) -> Response:
        scope_ok(request)
        op, q = request.path_params["op"], request.query_params
        try:
            if op == "runs/get":
                return JSONResponse(await run_in_threadpool(runs.mlflow_run, q.get("run_id") or q.get("run_uuid") or ""))
            if op == "runs/search":
                return JSONResponse(await run_in_threadpool(runs.search, await _json(request)))
            if op == "metrics/get-history":
                return JSONResponse(await run_in_threadpool(runs.metric_history, q.get("run_id") or "",
                                                            q.get("metric_key") or ""))
            if op == "experiments/get-by-name":
                return JSONResponse(await run_in_threadpool(runs.experiment_by_name, q.get("experiment_name") or ""))
            if op == "artifacts/list":
                return JSONResponse(await run_in_threadpool(runs.artifacts, q.get("run_id") or "", q.get("path") or ""))
        except ArmError as exc:
            code = {404: "RESOURCE_DOES_NOT_EXIST"}.get(exc.status, "INVALID_PARAMETER_VALUE")
            return JSONResponse({"error_code": code, "message": exc.message}, status_code=exc.status)
        return JSONResponse({"error_code": "ENDPOINT_NOT_FOUND", "message": f"MLflow API '{op}' is not emulated."},
                            status_code=404)

    async def score(request: Request) -> Response:
        try:
            raw = await _bounded_body(request, REQUEST_IMAGE_BYTES)
        except ArmError as exc:
            return JSONResponse({"message": exc.message}, status_code=exc.status)
        try:
            answer, dep = await run_in_threadpool(
                scorer.score, request.path_params["ep"], request.headers.get("authorization"),
                request.headers.get("azureml-model-deployment"), raw)
        except ScoringError as exc:
            return JSONResponse({"message": exc.message}, status_code=exc.status)
        return JSONResponse(answer, headers={"azureml-model-deployment": dep})

    async def swagger(request: Request) -> Response:
        if service.get_endpoint_resource(request.path_params["ep"]) is None:
            return JSONResponse({"message": "endpoint not found"}, status_code=404)
        return JSONResponse({"swagger": "2.0", "info": {"title": request.path_params["ep"], "version": "1.0"},
                             "paths": {"/score": {"post": {"responses": {"200": {"description": "predictions"}}}}}})

    routes = [
        Route(WS, workspace, methods=["GET"]),
        Route(WS + "/datastores", datastores, methods=["GET"]),
        Route(WS + "/datastores/{name}", datastore, methods=["GET"]),
        Route(WS + "/datastores/{name}/listSecrets", datastore_secrets, methods=["POST"]),
        Route(WS + "/data", containers(DATA), methods=["GET"]),
        Route(WS + "/data/{name}", container(DATA), methods=["GET", "PUT", "DELETE"]),
        Route(WS + "/data/{name}/versions", versions(DATA_VERSION), methods=["GET"]),
        Route(WS + "/data/{name}/versions/{version}", version(DATA_VERSION), methods=["GET", "PUT", "DELETE"]),
        Route(WS + "/models", containers(MODEL), methods=["GET"]),
        Route(WS + "/models/{name}", container(MODEL), methods=["GET", "PUT", "DELETE"]),
        Route(WS + "/models/{name}/versions", versions(MODEL_VERSION), methods=["GET"]),
        Route(WS + "/models/{name}/versions/{version}", version(MODEL_VERSION), methods=["GET", "PUT", "DELETE"]),
        Route(WS + "/jobs", jobs, methods=["GET"]),
        Route(WS + "/jobs/{id}", job, methods=["GET", "PUT", "DELETE"]),
        Route(WS + "/jobs/{id}/cancel", job_cancel, methods=["POST"]),
        Route(WS + "/onlineEndpoints", endpoints, methods=["GET"]),
        Route(WS + "/onlineEndpoints/{ep}", endpoint, methods=["GET", "PUT", "PATCH", "DELETE"]),
        Route(WS + "/onlineEndpoints/{ep}/listKeys", endpoint_keys, methods=["POST"]),
        Route(WS + "/onlineEndpoints/{ep}/token", endpoint_token, methods=["POST"]),
        Route(WS + "/onlineEndpoints/{ep}/deployments", deployments, methods=["GET"]),
        Route(WS + "/onlineEndpoints/{ep}/deployments/{dep}", deployment, methods=["GET", "PUT", "DELETE"]),
        Route(WS + "/onlineEndpoints/{ep}/deployments/{dep}/getLogs", deployment_logs, methods=["POST"]),
        Route(WS + "/computes", computes, methods=["GET"]),
        Route(WS + "/computes/{name}", compute, methods=["GET"]),
        Route(LOCATIONS + "/mfeOperationsStatus/{op}", operation_status, methods=["GET"]),
        Route(LOCATIONS + "/mfeOperationResults/{op}", operation_result, methods=["GET"]),
        Route("/discovery", discovery, methods=["GET"]),
        Route(RUN_SCOPE + "/runs/{run}/details", history_run, methods=["GET"]),
        Route(RUN_SCOPE + "/runs/{run}/children", history_children, methods=["GET"]),
        Route(RUN_SCOPE + "/runs/{run}", history_run, methods=["GET"]),
        Route(RUN_SCOPE + "/experiments/{exp}/runs/{run}", history_patch, methods=["PATCH"]),
        Route(MLFLOW + "/{op:path}", mlflow, methods=["GET", "POST"]),
        Route("/logs/{run}/" + LOG_NAME, run_log, methods=["GET"]),
        Route("/inference/{ep}/score", score, methods=["POST"]),
        Route("/inference/{ep}/swagger.json", swagger, methods=["GET"]),
    ]

    async def on_arm_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ArmError)
        return arm_error_response(exc)

    async def on_http_error(request: Request, exc: Exception) -> Response:
        if getattr(exc, "status_code", 404) == 405:
            return arm_error_response(ArmError(405, "MethodNotAllowed",
                                               f"The method {request.method} is not allowed on {request.url.path}."))
        if "/providers/" in request.url.path:
            return arm_error_response(ArmError(404, "InvalidResourceType", f"The resource type of "
                                               f"{request.url.path} is not served by the emulator."))
        return arm_error_response(ArmError(404, "NotFound", f"No route for {request.method} {request.url.path}."))

    async def on_crash(request: Request, exc: Exception) -> Response:
        return arm_error_response(ArmError(500, "InternalServerError", f"The emulator failed: {type(exc).__name__}."))

    return Starlette(routes=routes, exception_handlers={ArmError: on_arm_error, HTTPException: on_http_error,
                                                        Exception: on_crash})


def _is_arm(path: str) -> bool:
    return path.startswith("/subscriptions/")


def _needs_bearer(path: str) -> bool:
    return _is_arm(path) or path.startswith("/history/") or path.startswith("/mlflow/")


class Gateway:
    """The raw ASGI layer in front of the routes: what ARM's front door does, plus fault injection."""

    def __init__(self, app: Starlette, admin: Starlette, *, token: str | None, throttle: Throttle,
                 injector: FaultInjector, log: RequestLog) -> None:
        self.app = app
        self.admin = admin
        self.token = token
        self.throttle = throttle
        self.injector = injector
        self.log = log
        self.observers: list[Observer] = []

    def principal(self, headers: dict[str, str]) -> str | None:
        """A stable id of the caller's bearer token (None: no or a wrong token)."""
        auth = headers.get("authorization", "")
        if auth[:7].lower() != "bearer " or not auth[7:].strip():
            return None
        token = auth[7:].strip()
        if self.token is not None and not hmac.compare_digest(token.encode(), self.token.encode()):
            return None
        return hashlib.sha256(token.encode()).hexdigest()[:16]

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        path: str = scope["path"]
        if len(path) > 1 and path.endswith("/"):  # ARM ignores a trailing slash; no redirects
            path = path.rstrip("/") or "/"
            scope = {**scope, "path": path, "raw_path": path.encode()}
        headers = request_headers(scope)
        query = scope.get("query_string", b"").decode("latin-1")
        if path.startswith(ADMIN_PREFIX):
            if path != f"{ADMIN_PREFIX}/health" and self.token is not None and self.principal(headers) is None:
                return await send_error(send, _unauthorized(headers))
            return await self.admin(scope, receive, send)
        log = LogOnce(self.log, scope["method"], path, query)
        request_body = bytearray()

        async def recording_receive() -> Any:
            message = await receive()
            if message.get("type") == "http.request":
                request_body.extend(message.get("body", b""))
            return message

        extra = [(b"x-ms-request-id", str(uuid.uuid4()).encode()),
                 (b"x-ms-correlation-request-id", (headers.get("x-ms-client-request-id") or str(uuid.uuid4())).encode())]
        captured = Capture(send, on_final=lambda: log(captured.status))
        answer = _with_headers(captured, extra)
        try:
            principal = self.principal(headers)
            if _needs_bearer(path) and principal is None:
                await send_error(answer, _unauthorized(headers))
                return
            if _is_arm(path):
                kind = kind_of(scope["method"])
                verdict = self.throttle.take(principal or "anonymous", kind)
                extra.append((f"x-ms-ratelimit-remaining-subscription-{kind}".encode(), str(verdict.remaining).encode()))
                if not verdict.allowed:
                    await send_error(answer, _throttled(verdict.retry_after))
                    return
            if not await answer_with_faults(self.injector, self.app, scope, receive, answer, rate_limited=_throttled,
                                            injected=_injected, app_receive=recording_receive):
                return  # dropped: no answer to observe
        finally:
            log(captured.status)
        for observer in list(self.observers):
            observer(scope["method"], path, query, bytes(request_body), captured.status, captured.headers,
                     bytes(captured.body))


def _with_headers(send: Any, extra: list[tuple[bytes, bytes]]) -> Any:
    async def wrapped(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": list(message.get("headers", [])) + extra}
        await send(message)
    return wrapped


def _unauthorized(headers: dict[str, str]) -> ArmError:
    if "authorization" not in headers:
        return ArmError(401, "AuthenticationFailed", "Authentication failed. The 'Authorization' header is missing.")
    return ArmError(401, "InvalidAuthenticationToken", "The access token is invalid.")


def _throttled(retry_after: int) -> ArmError:
    return ArmError(429, "TooManyRequests", "The request is being throttled as the limit has been reached for "
                    f"operation type. Please retry after {retry_after} seconds.",
                    headers={"Retry-After": str(retry_after)})


def _injected(status: int, config: FaultConfig) -> ArmError:
    if status == 429:
        return _throttled(config.retry_after_seconds)
    messages = {500: "InternalServerError", 502: "BadGateway", 503: "ServiceUnavailable", 504: "GatewayTimeout"}
    headers = {"Retry-After": str(config.retry_after_seconds)} if status == 503 else {}
    return ArmError(status, messages[status], f"{messages[status]} (injected by the emulator).", headers=headers)
