"""``ArmClient``: the only code that sends HTTP requests to Azure Resource Manager (Azure ML).

The ARM counterpart of :class:`~reconcile.client.http.VisionClient`, with the same error
mapping (:mod:`reconcile.client.errors`), retry policy and redaction, and what ARM adds
(REFERENCE §1, §7):

- **throttling**: ARM refills a token bucket per operation kind (reads 250 +25/s, writes
  200 +10/s, deletes 200 +10/s) and reports what is left in
  ``x-ms-ratelimit-remaining-subscription-<kind>``. :class:`ArmBudget` keeps our estimate of
  that bucket from the last header and holds a call back only when it would find it empty,
  so we cause no 429 ourselves and do not slow down while there is room;
  a 429 still waits ``Retry-After`` and pauses every caller of that kind;
- **paging**: ``{"value": [...], "nextLink"}`` followed verbatim, on the same host only;
- **long-running operations**: ``Azure-AsyncOperation`` (status document: ``InProgress`` …
  ``Succeeded``/``Failed``/``Canceled``; any other value counts as in progress) or
  ``Location`` (202 while running), polled at the service's ``Retry-After`` within a deadline.

Writes are retried (ARM PUTs are create-or-update; a repeated identical PUT is answered 200),
and an error after an attempt with an unknown outcome carries ``ambiguous_write``.
"""

from __future__ import annotations

import json as jsonlib
import logging
import random
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlencode

import httpx

from reconcile import __version__
from reconcile.client import errors as classify
from reconcile.client.attempts import CallAttempts, failed_response, failed_transport
from reconcile.client.auth import Auth
from reconcile.client.counters import Counters
from reconcile.client.ratelimit import MirroredBucket
from reconcile.client.redact import install as install_redaction
from reconcile.client.redact import redact
from reconcile.client.retry import RetryPolicy, parse_retry_after
from reconcile.errors import ConfigError, ReconcileError, RemoteError, ServiceUnavailableError

logger = logging.getLogger("reconcile.client.arm")
install_redaction(logger)

USER_AGENT: Final = f"vision-gitops/{__version__}"
#: ARM's buckets per operation kind: (size, refill per second) (REFERENCE §7).
ARM_BUCKETS: Final = {"reads": (250.0, 25.0), "writes": (200.0, 10.0), "deletes": (200.0, 10.0)}
#: Terminal values of an Azure-AsyncOperation status document; anything else is still running.
LRO_DONE: Final = frozenset({"succeeded", "failed", "canceled", "cancelled"})
#: Poll interval when the service names none, and the most we wait between polls.
LRO_DEFAULT_POLL_S: Final = 5.0
LRO_MAX_POLL_S: Final = 60.0
#: Regional Azure ML hosts (MLflow, run history) the bearer token may also be sent to.
AZUREML_API_SUFFIX: Final = ".api.azureml.ms"


def op_kind(method: str) -> str:
    """ARM's bucket for ``method``: GET/HEAD read, DELETE delete, everything else writes."""
    m = method.upper()
    return "reads" if m in ("GET", "HEAD") else "deletes" if m == "DELETE" else "writes"


class ArmBudget(MirroredBucket):
    """Our estimate of one ARM bucket, fed by ``x-ms-ratelimit-remaining-*`` answers
    (see :class:`~reconcile.client.ratelimit.MirroredBucket`)."""

    def __init__(self, size: float, refill: float, *, monotonic: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        super().__init__(refill, size, monotonic=monotonic, sleep=sleep)

    @property
    def size(self) -> float:
        return self.burst

    @property
    def refill(self) -> float:
        return self.rate


@dataclass(frozen=True, slots=True)
class ArmStats:
    calls: int = 0
    requests: int = 0
    retries: int = 0
    pages: int = 0
    responses_429: int = 0
    responses_5xx: int = 0
    lro_polls: int = 0
    budget_wait_s: float = 0.0


@dataclass(frozen=True, slots=True)
class ArmResponse:
    status: int
    body: dict[str, Any] | None
    headers: Mapping[str, str]


class ArmClient:
    """A thread-safe, throttle-aware, retrying client of one ARM base URL.

    Paths are absolute ARM paths (``/subscriptions/...``). Every method raises only
    :class:`~reconcile.errors.ReconcileError` subclasses with the attributes listed in
    :mod:`reconcile.client.errors`.
    """

    def __init__(
        self,
        *,
        endpoint: str,
        api_version: str,
        auth: Auth,
        max_retries: int = 6,
        timeout: float = 30.0,
        verify: Any = True,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
        deadline: float = 300.0,
        max_retry_after: float = 60.0,
    ) -> None:
        url = httpx.URL(endpoint.rstrip("/") + "/")
        if url.scheme not in ("https", "http") or not url.host:
            raise ConfigError(f"the ARM endpoint {redact(endpoint)!r} is not an http(s) URL",
                              hint="use https://management.azure.com (or the emulator's https://127.0.0.1:PORT)")
        self._base = url
        self._root = str(url)  # ends in "/"
        self.api_version = api_version
        self._auth = auth
        self._policy = RetryPolicy(max_retries=max_retries, backoff_base=1.0, backoff_cap=60.0,
                                   max_retry_after=max_retry_after, deadline=deadline)
        self._sleep, self._monotonic = sleep, monotonic
        self._rng = rng or random.Random()
        self._rng_lock = threading.Lock()
        self.budgets = {k: ArmBudget(s, r, monotonic=monotonic, sleep=sleep) for k, (s, r) in ARM_BUCKETS.items()}
        self._counters = Counters(ArmStats)
        self._http = httpx.Client(
            transport=transport, verify=verify, follow_redirects=False,
            timeout=httpx.Timeout(connect=min(10.0, timeout), read=timeout, write=timeout, pool=timeout),
            headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
        )

    # --- public API -------------------------------------------------------------

    @property
    def stats(self) -> ArmStats:
        return self._counters.snapshot()

    def get(self, path: str, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        return self._object("GET", path, self._send("GET", path, params=params))

    def put(self, path: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """A synchronous create-or-update (data, model, job); return the resource."""
        return self._object("PUT", path, self._send("PUT", path, json=dict(body)))

    def post(self, path: str, body: Mapping[str, Any] | None = None) -> ArmResponse:
        r = self._send("POST", path, json=dict(body) if body is not None else None)
        return ArmResponse(r.status_code, self._maybe_object(r), dict(r.headers))

    def begin(self, method: str, path: str, body: Mapping[str, Any] | None = None) -> ArmResponse:
        """Send a call that may be long-running; return its first answer (see :meth:`wait_lro`)."""
        r = self._send(method, path, json=dict(body) if body is not None else None)
        return ArmResponse(r.status_code, self._maybe_object(r), dict(r.headers))

    def wait_lro(self, first: ArmResponse, *, path: str, deadline: float = 1800.0) -> dict[str, Any] | None:
        """Poll a long-running operation to its end; return the final resource (``None`` if it has none).

        Follows ``Azure-AsyncOperation`` (then GETs ``path``, final-state-via original-uri) or
        ``Location`` (202 while running). Raises :class:`RemoteError` naming the operation when it
        ends ``Failed``/``Canceled``, :class:`ServiceUnavailableError` past ``deadline`` seconds.
        """
        headers = {k.lower(): v for k, v in first.headers.items()}
        async_url = headers.get("azure-asyncoperation")
        location = headers.get("location")
        if not async_url and not location:
            return first.body
        start = self._monotonic()
        poll = self._poll_wait(headers)
        while True:
            if self._monotonic() - start + poll > deadline:
                raise ServiceUnavailableError(f"{path}: the operation did not finish within {deadline:g} s",
                                              hint="run again later; the service keeps working on it")
            if poll > 0:
                self._sleep(poll)
            self._add(lro_polls=1)
            if async_url:
                r = self._send("GET", self._same_host(async_url, path))
                doc = self._maybe_object(r) or {}
                status = str(doc.get("status", ""))
                if status.lower() in LRO_DONE:
                    if status.lower() != "succeeded":
                        err = doc.get("error") if isinstance(doc.get("error"), dict) else {}
                        raise RemoteError(redact(f"{path}: the operation ended {status}: "
                                                 f"{err.get('code', '')} {err.get('message', '')}".strip()))
                    return self._maybe_object(self._send("GET", path)) if first.status in (200, 201) else doc
            else:
                r = self._send("GET", self._same_host(location, path))  # type: ignore[arg-type]
                if r.status_code != 202:
                    return self._maybe_object(r)
            poll = self._poll_wait({k.lower(): v for k, v in r.headers.items()})

    def get_absolute(self, url: str) -> dict[str, Any]:
        """GET a full URL on ARM's host or a regional Azure ML host (MLflow, REFERENCE §4.3)."""
        target = httpx.URL(url)
        if not (target.scheme == "https" and (target.host or "").endswith(AZUREML_API_SUFFIX)):
            target = self._same_host(url, target.path)
        return self._object("GET", target.path, self._send("GET", target))

    def list(self, path: str, params: Mapping[str, Any] | None = None) -> Iterator[dict[str, Any]]:
        """Yield every item of a pageable list, following ``nextLink`` on the same host only."""
        seen: set[str] = set()
        response = self._send("GET", path, params=params)
        while True:
            self._add(pages=1)
            body = self._object("GET", path, response)
            items = body.get("value")
            if not isinstance(items, list):
                raise classify.unexpected_answer("GET", path, "a list response without a 'value' array")
            for item in items:
                if isinstance(item, dict):
                    yield item
            link = body.get("nextLink")
            if not link:
                return
            if not isinstance(link, str) or link in seen:
                raise classify.unexpected_answer("GET", path, "a nextLink that repeats an earlier page")
            seen.add(link)
            response = self._send("GET", self._same_host(link, path))

    def score(self, url: str, body: Mapping[str, Any], *, key: str, deployment: str | None = None) -> Any:
        """POST ``body`` to an online endpoint's scoring URI with its ``key`` (not the ARM token), once.

        Only ARM's own host (an emulator serves scoring there) or ``*.inference.ml.azure.com`` is called.
        ``deployment`` pins the answer to that deployment (``azureml-model-deployment``, REFERENCE §4.5)."""
        target = httpx.URL(url)
        same = (target.scheme, target.host, target.port) == (self._base.scheme, self._base.host, self._base.port)
        if not same and not (target.scheme == "https" and (target.host or "").endswith(".inference.ml.azure.com")):
            raise self._shape("POST", target.path, f"a scoring URI on another host ({target.host})")
        headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
        if deployment:
            headers["azureml-model-deployment"] = deployment
        self._add(calls=1, requests=1)
        ctx = dict(method="POST", path=target.path, request_id=None, attempts=1)
        try:
            response = self._http.post(target, content=jsonlib.dumps(dict(body)).encode(), headers=headers)
        except httpx.HTTPError as exc:
            raise classify.from_exception(exc, ambiguous_write=False, **ctx) from None
        if not 200 <= response.status_code < 300:
            raise classify.from_response(response, ambiguous_write=False, **ctx)
        try:
            return response.json()
        except ValueError:
            raise self._shape("POST", target.path, "a scoring answer that is not JSON") from None

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ArmClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return redact(f"ArmClient(endpoint={str(self._base)!r}, api_version={self.api_version!r}, auth={self._auth!r})")

    # --- the request loop --------------------------------------------------------

    def _send(self, method: str, target: str | httpx.URL, *, params: Mapping[str, Any] | None = None,
              json: Any = None) -> httpx.Response:
        if isinstance(target, httpx.URL):
            url, path = target, target.path
        else:
            path, has_query, _ = target.partition("?")
            query = {"api-version": self.api_version, **(params or {})}
            if has_query:
                url = httpx.URL(self._root + target.lstrip("/")).copy_merge_params(query)
            else:  # one parse instead of three: a list of 1,000 datasets sends 1,000 of these
                url = httpx.URL(self._root + target.lstrip("/") + "?" + urlencode(query))
        body = jsonlib.dumps(json, separators=(",", ":")).encode() if json is not None else None
        request_id = str(uuid.uuid4())
        kind = op_kind(method)
        attempts = CallAttempts(self._policy, method, path, request_id, classify.is_write(method), self._monotonic,
                                self._rng, self._rng_lock)
        refreshed = False
        self._add(calls=1)
        while True:
            attempt = attempts.next()
            ctx = attempts.context()
            waited, ticket = self.budgets[kind].acquire_ticket()
            if waited:
                self._add(budget_wait_s=waited)
            headers = {"x-ms-client-request-id": request_id}
            if body is not None:
                headers["Content-Type"] = "application/json"
            try:
                headers.update(self._auth.headers())
            except ReconcileError as err:
                raise classify.annotate(err, status=None, code=None, ambiguous_write=attempts.ambiguous, **ctx) from None
            self._add(requests=1)
            try:
                response = self._http.request(method, url, content=body, headers=headers)
            except httpx.HTTPError as exc:
                failure = failed_transport(exc, ambiguous=attempts.ambiguous, context=ctx)
            else:
                remaining = response.headers.get(f"x-ms-ratelimit-remaining-subscription-{kind}")
                if remaining and remaining.strip().isdigit():
                    self.budgets[kind].report(int(remaining), ticket)
                status = response.status_code
                if 200 <= status < 300:
                    return response
                if status == 401 and not refreshed and self._auth.invalidate():
                    refreshed = True
                    continue
                failure = failed_response(response, ambiguous=attempts.ambiguous, context=ctx)
                if status == 429:
                    self._add(responses_429=1)
                    if failure.retry_after is not None:
                        self.budgets[kind].pause(min(failure.retry_after, self._policy.max_retry_after))
                else:
                    self._add(responses_5xx=1)
            wait = attempts.wait_after(failure)
            self._add(retries=1)
            logger.info("retrying %s %s in %.2f s (attempt %d, id %s)", method, path, wait, attempt + 1, request_id)
            if wait > 0:
                self._sleep(wait)

    # --- helpers -----------------------------------------------------------------

    def _add(self, **deltas: float) -> None:
        self._counters.add(**deltas)

    def _poll_wait(self, headers: Mapping[str, str]) -> float:
        hint = parse_retry_after(headers)
        return min(LRO_MAX_POLL_S, hint if hint is not None else LRO_DEFAULT_POLL_S)

    def _same_host(self, link: str, path: str) -> httpx.URL:
        try:
            url = self._base.join(link)
        except httpx.InvalidURL:
            raise classify.unexpected_answer("GET", path, "a link that is not a URL") from None
        if (url.scheme, url.host, url.port) != (self._base.scheme, self._base.host, self._base.port):
            raise classify.unexpected_answer("GET", path, f"a link to another host ({url.host}); refusing to send credentials there")
        return url

    @staticmethod
    def _maybe_object(response: httpx.Response) -> dict[str, Any] | None:
        if not response.content:
            return None
        try:
            body = response.json()
        except ValueError:
            return None
        return body if isinstance(body, dict) else None

    def _object(self, method: str, path: str, response: httpx.Response) -> dict[str, Any]:
        body = self._maybe_object(response)
        if body is None:
            raise classify.unexpected_answer(method, path, f"HTTP {response.status_code} with a body that is not a JSON object")
        return body
