"""``VisionClient``: the only code that sends HTTP requests to the Vision data plane.

Every call goes through one loop (:meth:`VisionClient._send`):

1. wait for the shared :class:`~reconcile.client.ratelimit.TokenBucket` (client-side pacing);
2. send with the auth headers, ``api-version``, ``User-Agent`` and an
   ``x-ms-client-request-id`` that stays the same across the retries of one call;
3. on 429, 500, 502, 503, 504, a timeout or a connection failure, wait
   (``Retry-After`` or jittered exponential backoff, see :mod:`reconcile.client.retry`)
   and try again, up to ``max_retries`` times and within ``deadline`` seconds;
4. otherwise classify the failure once, in :mod:`reconcile.client.errors`
   (steps 3 and 4 are :mod:`reconcile.client.attempts`, shared with the ARM client).

**Writes are retried too** (PUT, PATCH, DELETE, POST). When an earlier attempt of
a write ended with an unknown outcome (timeout, dropped connection, 5xx), the
service may already have applied it, so a later attempt can answer 409 (create),
412 (PATCH with If-Match) or 404 (DELETE) *because of our own first attempt*.
The client does not guess: the error it raises has ``ambiguous_write = True`` and
the caller (apply) settles the question by reading the resource.
"""

from __future__ import annotations

import functools
import json as jsonlib
import logging
import random
import ssl
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Final

import httpx

from reconcile import __version__, defaults
from reconcile.api.names import LIST_TOP_MAX
from reconcile.client import errors as classify
from reconcile.client.attempts import CallAttempts, RetryableFailure, failed_response, failed_transport
from reconcile.client.auth import Auth
from reconcile.client.counters import Counters
from reconcile.client.ratelimit import TokenBucket
from reconcile.client.redact import install as install_redaction
from reconcile.client.redact import redact
from reconcile.client.retry import RetryPolicy
from reconcile.errors import ConfigError, ReconcileError

logger = logging.getLogger("reconcile.client")
install_redaction(logger)

USER_AGENT: Final = f"vision-gitops/{__version__}"
BASE_PATH: Final = "computervision/"
#: The client paces at this fraction of ``rate_limit_tps``: requests do not
#: arrive at the service exactly as spaced when sent, and the service counts arrivals.
PACING_FRACTION: Final = 0.95


@dataclass(frozen=True, slots=True)
class ClientStats:
    """Counters of one client since it was created (a snapshot; safe to keep)."""

    calls: int = 0
    """Logical calls (a page of a list is one call)."""
    requests: int = 0
    """HTTP attempts sent (calls + retries)."""
    retries: int = 0
    pages: int = 0
    """List pages fetched."""
    throttled_waits: int = 0
    """Attempts that had to wait for the client-side rate limit."""
    throttle_wait_s: float = 0.0
    retry_wait_s: float = 0.0
    responses_429: int = 0
    responses_5xx: int = 0
    transport_errors: int = 0
    """Timeouts and connection failures."""


@dataclass(frozen=True, slots=True)
class _Call:
    """One logical call, the same for each of its attempts."""

    method: str
    path: str
    """Relative to ``/computervision/``, without the query: what messages and logs show."""
    url: httpx.URL
    body: bytes | None
    headers: dict[str, str]
    request_id: str
    write: bool


class VisionClient:
    """A thread-safe, rate-limited, retrying client of ``{endpoint}/computervision/``.

    Paths are relative to ``{endpoint}/computervision/`` (``"datasets/d1"``,
    ``"models/m1:cancel"``). Every method raises only :class:`~reconcile.errors.ReconcileError`
    subclasses: see :mod:`reconcile.client.errors` for the mapping and for the
    attributes every error carries (``status``, ``code``, ``method``, ``path``,
    ``request_id``, ``attempts``, ``ambiguous_write``).

    ``rate_limit_tps`` is the service limit to stay under (20 on S1); the client
    paces at ``PACING_FRACTION`` of it with at most ``rate_limit_burst`` requests at
    once. ``sleep``, ``monotonic``, ``wallclock`` (for HTTP-date ``Retry-After``)
    and ``rng`` (jitter) are injectable so tests run on virtual time.
    """

    def __init__(
        self,
        *,
        endpoint: str,
        api_version: str,
        auth: Auth,
        rate_limit_tps: float = defaults.RATE_LIMIT_TPS,
        max_retries: int = defaults.MAX_RETRIES,
        timeout: float = defaults.TIMEOUT_SECONDS,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
        rate_limit_burst: float = 1.0,
        backoff_base: float = 0.5,
        backoff_cap: float = 8.0,
        max_retry_after: float = 60.0,
        deadline: float = 120.0,
        wallclock: Callable[[], float] = time.time,
    ) -> None:
        self._base = _base_url(endpoint)
        self.api_version = api_version
        self._auth = auth
        self._policy = RetryPolicy(
            max_retries=max_retries,
            backoff_base=backoff_base,
            backoff_cap=backoff_cap,
            max_retry_after=max_retry_after,
            deadline=deadline,
        )
        if not rate_limit_tps > 0:
            raise ConfigError(f"rate_limit_tps must be > 0, got {rate_limit_tps!r}")
        self.rate_limit_tps = rate_limit_tps
        pace = rate_limit_tps * PACING_FRACTION
        try:
            self._bucket = TokenBucket(
                pace, min(rate_limit_burst, max(1.0, pace)), monotonic=monotonic, sleep=sleep
            )
        except ValueError as exc:
            raise ConfigError(f"invalid client rate limit: {exc}") from None
        self._sleep = sleep
        self._monotonic = monotonic
        self._wallclock = wallclock
        self._rng = rng or random.Random()
        self._rng_lock = threading.Lock()
        self._counters = Counters(ClientStats)
        self._http = httpx.Client(
            transport=transport,
            verify=_ssl_context(),
            timeout=httpx.Timeout(connect=min(10.0, timeout), read=timeout, write=timeout, pool=timeout),
            follow_redirects=False,
            headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
        )

    # --- public API -------------------------------------------------------------

    @property
    def endpoint(self) -> str:
        """``{endpoint}/computervision/`` as used for every relative path."""
        return str(self._base)

    @property
    def stats(self) -> ClientStats:
        """A snapshot of the counters (see :class:`ClientStats`)."""
        return self._counters.snapshot()

    def get(self, path: str, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """GET a resource and return its JSON object."""
        return self._object("GET", path, self._send("GET", path, params=params))

    def put(self, path: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """Create-only PUT (the service answers 409 if the name exists); return the 201 body.

        A 409 with ``ambiguous_write`` set may be our own earlier attempt: GET and compare.
        """
        return self._object("PUT", path, self._send("PUT", path, json=dict(body)))

    def patch(self, path: str, body: Mapping[str, Any], *, if_match: str | None) -> dict[str, Any]:
        """PATCH with an optional ``If-Match`` eTag; return the updated object.

        A 412 with ``ambiguous_write`` set may mean our own earlier attempt moved the eTag.
        """
        headers = {"If-Match": if_match} if if_match else None
        return self._object("PATCH", path, self._send("PATCH", path, json=dict(body), headers=headers))

    def delete(self, path: str, *, if_match: str | None = None) -> None:
        """DELETE (204). A 404 with ``ambiguous_write`` set means an earlier attempt probably deleted it."""
        headers = {"If-Match": if_match} if if_match else None
        self._send("DELETE", path, headers=headers)

    def post(
        self,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        content: bytes | None = None,
        content_type: str | None = None,
    ) -> dict[str, Any] | None:
        """POST a JSON body or raw ``content``; return the JSON object, or ``None`` for an empty body (202)."""
        if json is not None and content is not None:
            raise ValueError("pass json or content, not both")
        headers = {"Content-Type": content_type} if content_type else None
        response = self._send("POST", path, params=params, json=json, content=content, headers=headers)
        if not response.content:
            return None
        return self._object("POST", path, response)

    def list(self, path: str, *, page_size: int = LIST_TOP_MAX) -> Iterator[dict[str, Any]]:
        """Yield every item of a paged list, following ``nextLink`` verbatim.

        ``page_size`` is sent as ``top`` (1..30). A ``nextLink`` that points to another
        host, or that repeats, raises :class:`RemoteError` (following it would send our
        credentials elsewhere or loop forever).
        """
        if not 1 <= page_size <= LIST_TOP_MAX:
            raise ValueError(f"page_size must be 1..{LIST_TOP_MAX}, got {page_size}")
        seen: set[str] = set()
        response = self._send("GET", path, params={"top": page_size})
        display = _display_path(path)
        while True:
            self._counters.add(pages=1)
            body = self._object("GET", display, response)
            items = body.get("value")
            if not isinstance(items, list):
                raise classify.unexpected_answer("GET", display, "a list response without a 'value' array")
            for item in items:
                if not isinstance(item, dict):
                    raise classify.unexpected_answer("GET", display, "a list item that is not a JSON object")
                yield item
            link = body.get("nextLink")
            if not link:
                return
            if not isinstance(link, str) or link in seen:
                raise classify.unexpected_answer("GET", display, "a nextLink that repeats an earlier page")
            seen.add(link)
            url = self._next_url(link, display)
            display = self._relative(url)
            response = self._send("GET", url)

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def __enter__(self) -> VisionClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return redact(f"VisionClient(endpoint={self.endpoint!r}, api_version={self.api_version!r}, auth={self._auth!r})")

    # --- the request loop --------------------------------------------------------

    def _send(
        self,
        method: str,
        target: str | httpx.URL,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """Send one logical call with retries; return the 2xx response or raise a classified error."""
        if isinstance(target, httpx.URL):
            url, path = target, self._relative(target)
            if "api-version" not in url.params:
                # nextLink is followed verbatim; only a missing api-version is added.
                url = url.copy_add_param("api-version", self.api_version)
        else:
            path = _display_path(target)
            query = {"api-version": self.api_version, **(params or {})}
            # Concatenate rather than join: "imageanalysis:analyze" would parse as a URL scheme.
            url = httpx.URL(str(self._base) + target.lstrip("/")).copy_merge_params(query)
        body = content
        if json is not None:
            body = jsonlib.dumps(json, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        call = _Call(
            method=method,
            path=path,
            url=url,
            body=body,
            headers={"Content-Type": "application/json", **(headers or {})},
            request_id=str(uuid.uuid4()),
            write=classify.is_write(method),
        )
        attempts = CallAttempts(self._policy, method, path, call.request_id, call.write, self._monotonic,
                                self._rng, self._rng_lock)
        auth_refreshed = False
        self._counters.add(calls=1)
        while True:
            attempt = attempts.next()
            outcome = self._attempt(call, attempts, may_refresh_auth=not auth_refreshed)
            if isinstance(outcome, httpx.Response):
                if outcome.status_code != 401:
                    return outcome
                # An expired or revoked token: a new one is fetched, once per call, without waiting.
                auth_refreshed = True
                self._counters.add(retries=1)
                continue
            wait = attempts.wait_after(outcome)
            self._counters.add(retries=1, retry_wait_s=wait)
            logger.info(
                "retrying %s %s in %.2f s after %s (attempt %d of %d, id %s)",
                method,
                path,
                wait,
                outcome.reason,
                attempt + 1,
                self._policy.max_retries + 1,
                call.request_id,
            )
            if wait > 0:
                self._sleep(wait)

    def _attempt(
        self, call: _Call, attempts: CallAttempts, *, may_refresh_auth: bool
    ) -> httpx.Response | RetryableFailure:
        """One paced attempt.

        Returns the 2xx response, a 401 response after which a fresh credential may
        help (only if ``may_refresh_auth``), or a :class:`RetryableFailure`; raises the
        classified error otherwise, with ``attempts.ambiguous`` as its ``ambiguous_write``.
        """
        waited = self._bucket.acquire()
        if waited > 0:
            self._counters.add(throttled_waits=1, throttle_wait_s=waited)
        context = attempts.context()
        headers = {**call.headers, "x-ms-client-request-id": call.request_id}
        try:
            headers.update(self._auth.headers())
        except ReconcileError as err:  # e.g. no Entra ID token could be obtained
            raise classify.annotate(err, status=None, code=None, ambiguous_write=attempts.ambiguous, **context) from None
        t0 = self._monotonic()
        self._counters.add(requests=1)
        try:
            response = self._http.request(call.method, call.url, content=call.body, headers=headers)
        except httpx.HTTPError as exc:
            self._log(call, type(exc).__name__, t0, attempts.attempt)
            failure = failed_transport(exc, ambiguous=attempts.ambiguous, context=context)
            self._counters.add(transport_errors=1)
            return failure
        status = response.status_code
        self._log(call, str(status), t0, attempts.attempt)
        if 200 <= status < 300:
            return response
        if status == 401 and may_refresh_auth and self._auth.invalidate():
            return response
        failure = failed_response(response, ambiguous=attempts.ambiguous, context=context, now=self._wallclock)
        if status == 429:
            self._counters.add(responses_429=1)
            if failure.retry_after is not None:
                # The whole resource is throttled: hold back every thread of this client.
                self._bucket.pause(min(failure.retry_after, self._policy.max_retry_after))
        else:
            self._counters.add(responses_5xx=1)
        return failure

    # --- helpers -----------------------------------------------------------------

    def _log(self, call: _Call, outcome: str, t0: float, attempt: int) -> None:
        if logger.isEnabledFor(logging.DEBUG):
            ms = (self._monotonic() - t0) * 1000.0
            logger.debug(
                "%s %s -> %s in %.0f ms (attempt %d, id %s)", call.method, call.path, outcome, ms, attempt, call.request_id
            )

    def _object(self, method: str, path: str, response: httpx.Response) -> dict[str, Any]:
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise classify.unexpected_answer(method, _display_path(path), f"HTTP {response.status_code} with a body that is not a JSON object")
        return body

    def _next_url(self, link: str, path: str) -> httpx.URL:
        try:
            url = self._base.join(link)
        except httpx.InvalidURL:
            raise classify.unexpected_answer("GET", path, "a nextLink that is not a URL") from None
        if (url.scheme, url.host, url.port) != (self._base.scheme, self._base.host, self._base.port):
            raise classify.unexpected_answer("GET", path, f"a nextLink to another host ({url.host}); refusing to send credentials there")
        return url

    def _relative(self, url: httpx.URL) -> str:
        base = self._base.path
        return url.path[len(base) :] if url.path.startswith(base) else url.path


@functools.cache
def _ssl_context() -> ssl.SSLContext:
    # Building one costs ~50 ms (it loads the CA bundle); one per process serves every client.
    return httpx.create_ssl_context()


def _base_url(endpoint: str) -> httpx.URL:
    text = (endpoint or "").strip()
    try:
        url = httpx.URL(text)
    except httpx.InvalidURL:
        url = None
    if url is None or url.scheme not in ("http", "https") or not url.host:
        raise ConfigError(
            f"the Vision endpoint {redact(text)!r} is not an http(s) URL",
            hint="use https://<name>.cognitiveservices.azure.com (or http://127.0.0.1:<port> for the emulator)",
        )
    path = url.path.rstrip("/")
    if not path.endswith("/computervision"):
        path += "/" + BASE_PATH.rstrip("/")
    return url.copy_with(path=path + "/", query=None, fragment=None)


def _display_path(path: str) -> str:
    # Never show a query string: it is where SAS tokens and keys would be.
    return path.split("?", 1)[0].lstrip("/")
