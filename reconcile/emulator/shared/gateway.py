"""Pieces of the raw ASGI gateway both emulators put in front of their routes.

Each room's ``Gateway`` keeps its own order of checks and its own error shapes
(APIM's for Image Analysis, ARM's for Azure ML); what is the same lives here:
capturing an answer, dropping a connection, sending an error before any route
runs, reading a body with a size limit, logging a request once, and the
fault-injection step.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from starlette.requests import Request

from reconcile.emulator.faults import FaultConfig, FaultInjector
from reconcile.emulator.requestlog import DROPPED, RequestLog, RequestRecord, clean_query
from reconcile.limits import Limit

ADMIN_PREFIX = "/_emulator"

ASGIApp = Callable[[dict[str, Any], Any, Any], Awaitable[None]]


class ErrorAnswer(Protocol):
    """A room's error exception as the gateway sends it (``ApiError``, ``ArmError``)."""

    status: int
    code: str
    headers: dict[str, str]

    def body(self) -> dict[str, Any]: ...


def request_headers(scope: dict[str, Any]) -> dict[str, str]:
    """The request's headers, names lower-cased (the last of a repeated name wins)."""
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}


async def send_error(send: Any, err: ErrorAnswer) -> None:
    """Answer ``err`` as JSON with ``x-ms-error-code``, without going through a route."""
    body = json.dumps(err.body()).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
               (b"x-ms-error-code", err.code.encode())]
    headers += [(k.lower().encode(), v.encode()) for k, v in err.headers.items()]
    await send({"type": "http.response.start", "status": err.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def read_bounded_body(request: Request, limit: Limit, too_large: Callable[[Limit], Exception]) -> bytes:
    """The request body, streamed and refused (``too_large(limit)`` raised) past ``limit`` bytes;
    a declared Content-Length over the limit is refused before reading. Nothing of a refused body is kept."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit.value:
        raise too_large(limit)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit.value:
            raise too_large(limit)
    return bytes(body)


class Capture:
    """Passes ASGI send messages through (or swallows them, ``send=None``) and remembers
    status, headers and body."""

    def __init__(self, send: Any, on_final: Callable[[], None] | None = None) -> None:
        self.send = send
        self.on_final = on_final
        """Called just before the final body message is passed on."""
        self.status = DROPPED
        self.headers: dict[str, str] = {}
        self.body = bytearray()

    async def __call__(self, message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
            self.headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in message.get("headers", [])}
        elif message["type"] == "http.response.body":
            self.body += message.get("body", b"")
            if not message.get("more_body", False) and self.on_final is not None:
                self.on_final()
        if self.send is not None:
            await self.send(message)


class LogOnce:
    """Appends one :class:`RequestRecord` for a request, at the first call (later calls do nothing).

    Called just before the last body byte leaves: a client that has its answer must
    find its request in the log (tests clear and count it right away).
    """

    def __init__(self, log: RequestLog, method: str, path: str, query: str) -> None:
        self._log, self._method, self._path, self._query = log, method, path, query
        self._started, self._t0 = time.time(), time.perf_counter()
        self._done = False

    def __call__(self, status: int) -> None:
        if not self._done:
            self._done = True
            self._log.append(RequestRecord(self._method, self._path, clean_query(self._query), status,
                                           self._started, time.perf_counter() - self._t0))


async def answer_with_faults(
    injector: FaultInjector,
    app: ASGIApp,
    scope: dict[str, Any],
    receive: Any,
    send: Any,
    *,
    rate_limited: Callable[[int], ErrorAnswer],
    injected: Callable[[int, FaultConfig], ErrorAnswer],
    app_receive: Any = None,
) -> bool:
    """Let the injector decide this request's fault, then answer: after a delay, with an
    injected 429 (``rate_limited``) or 5xx (``injected``), by dropping the connection
    before or after the route ran (the write happens, the client never hears of it),
    or through ``app``. ``app_receive`` (default ``receive``) is what the route reads from.
    Returns False when the connection was dropped (the client got no answer)."""
    app_receive = receive if app_receive is None else app_receive
    decision = injector.decide()
    if decision.latency:
        await asyncio.sleep(decision.latency)
    if decision.rate_limited_for is not None:
        await send_error(send, rate_limited(decision.rate_limited_for))
    elif decision.drop_before:
        drop_connection(receive)
        return False
    elif decision.error_status is not None:
        await send_error(send, injected(decision.error_status, injector.config))
    elif decision.drop_after:
        await app(scope, app_receive, Capture(None))  # the write happens ...
        drop_connection(receive)  # ... but the client never hears of it
        return False
    else:
        await app(scope, app_receive, send)
    return True


def drop_connection(receive: Any) -> None:
    """Close the client's socket without an answer: the client sees a transport error.

    uvicorn's ``receive`` is a bound method of its request cycle, which owns the
    transport; aborting it sends a TCP reset, and marking the cycle disconnected
    stops uvicorn from answering 500 in our place (so the server runs h11).
    """
    cycle = getattr(receive, "__self__", None)
    transport = getattr(cycle, "transport", None)
    if transport is None:
        raise RuntimeError("dropping connections needs uvicorn's h11 protocol")
    cycle.disconnected = True
    transport.abort()
