"""Fakes for client tests: a virtual clock and a scripted Vision API behind ``httpx.MockTransport``."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

from reconcile.client import KeyAuth, VisionClient

TEST_KEY = "k3y-for-client-tests-0123456789"


class VirtualClock:
    """``monotonic`` + ``sleep`` on virtual time; ``sleeps`` records every requested wait."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class MaxRandom(random.Random):
    """An rng whose ``uniform(a, b)`` is always ``b``: makes the jitter ceiling observable."""

    def uniform(self, a: float, b: float) -> float:  # noqa: D102
        return b


Step = httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]


@dataclass
class Script:
    """Answers requests with ``steps`` in order (the last one repeats); records every request."""

    steps: list[Step]
    requests: list[httpx.Request] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        step = self.steps[min(len(self.requests) - 1, len(self.steps) - 1)]
        if isinstance(step, Exception):
            raise type(step)(str(step), request=request)
        if isinstance(step, httpx.Response):
            return httpx.Response(step.status_code, headers=step.headers, content=step.content)
        return step(request)


def error(status: int, code: str = "SomeCode", message: str = "something failed", **headers: str) -> httpx.Response:
    """A response in the service's error shape (docs/service-api.md §2)."""
    hdrs = {"x-ms-error-code": code, **{k.replace("_", "-"): v for k, v in headers.items()}}
    return httpx.Response(status, headers=hdrs, json={"error": {"code": code, "message": message}})


def make_client(
    handler: Callable[[httpx.Request], httpx.Response],
    clock: VirtualClock | None = None,
    **overrides: object,
) -> VisionClient:
    """A client on virtual time whose pacing never waits (unless overridden), so sleeps are retry waits."""
    clock = clock or VirtualClock()
    options: dict[str, object] = dict(
        endpoint="https://example.cognitiveservices.azure.com",
        api_version="2023-04-01-preview",
        auth=KeyAuth(TEST_KEY),
        transport=httpx.MockTransport(handler),
        sleep=clock.sleep,
        monotonic=clock.monotonic,
        wallclock=lambda: 1_700_000_000.0,
        rng=random.Random(1234),
        rate_limit_tps=10_000.0,
        rate_limit_burst=9_000.0,
    )
    options.update(overrides)
    return VisionClient(**options)  # type: ignore[arg-type]
