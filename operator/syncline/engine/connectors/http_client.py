"""The HTTP client every HTTP connector (odata, rest) of the engine sends through.

Services such as Dataverse throttle with ``429`` (or ``503``) and a ``Retry-After``
header and count every request made while throttled against the caller, so the wait
must hold for the whole run, not only for the thread that was told: one ``RetryGate``
per client is shared by every worker thread, and no thread sends while it is closed.

Interface (stable; the rest connector uses it too)::

    settings = HttpSettings(base_url="https://svc/odata/", timeout_seconds=30,
                            parallelism=4, max_retries=5, secret_name="svc-creds")
    with HttpClient(settings, auth=some_httpx_auth) as http:
        response = http.request("GET", "Customers", params={"$top": "10"})  # relative URL
        data = http.get_json("Customers")                  # 2xx JSON body, else a SynclineError
        results = http.map_parallel(send_one, chunks)       # ``parallelism`` threads, in order

``request`` returns the final response for any status it does not handle itself, so the
caller decides what a 400 or 404 means (a rejected row, a missing entity). It handles:

- ``429`` and ``503`` with ``Retry-After`` (delta seconds or an HTTP date; a ``429``
  without one waits an exponential backoff): the gate closes until then for every
  thread, and the request is sent again; such waits do not use up ``max_retries`` (up
  to ``max_throttle_waits`` of them per request, then 2013).
- Transient failures (connect errors, resets, read timeouts, 502/503/504 without
  ``Retry-After``): up to ``max_retries`` new attempts after an exponential backoff with
  full jitter; then 2000 ConnectionUnreachable, 2003 ConnectionTimeout, or 2014
  HttpRequestFailed for the last status. A request that may have reached the server is
  only sent again when it is idempotent (GET, PUT, PATCH, DELETE, or ``idempotent=True``).
- ``401``/``403`` after the ``httpx.Auth`` had its chance to refresh: 2001
  AuthenticationFailed, naming the Secret, never its values.

``stats`` counts requests sent, retries and throttle waits (for tests and the benchmark).
"""

from __future__ import annotations

import email.utils
import json
import logging
import random
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx

from syncline.errors import SynclineError

log = logging.getLogger("syncline.engine")

T = TypeVar("T")
R = TypeVar("R")

THROTTLE_STATUSES = frozenset({429, 503})
TRANSIENT_STATUSES = frozenset({502, 503, 504})
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "PATCH", "DELETE"})


@dataclass(frozen=True)
class HttpSettings:
    """How one connection's client behaves (from the Connection's spec.options)."""

    base_url: str
    timeout_seconds: float
    """How long connecting may take (the Connection's connectTimeoutSeconds)."""
    read_timeout_seconds: float = 120.0
    """How long an answer may take: a $batch of many operations is slow to answer, and a
    request timed out while the service still works on it would be sent again."""
    parallelism: int = 4
    max_retries: int = 5
    max_throttle_waits: int = 20
    backoff_base_seconds: float = 0.25
    backoff_max_seconds: float = 20.0
    max_retry_after_seconds: float = 300.0
    """A longer Retry-After is waited out only this long before the request is sent again."""
    secret_name: str = "(none)"  # noqa: S105 - a Secret's name, not a credential
    """The Secret the credentials came from, named in 2001 (never its values)."""
    verify: bool | str = True


@dataclass
class HttpStats:
    """What the client did; updated under the client's lock."""

    requests: int = 0
    retries: int = 0
    throttled: int = 0
    by_method: dict[str, int] = field(default_factory=dict)


class RetryGate:
    """One closed-until time shared by all threads of a client.

    ``close_for`` moves the reopening time later (never earlier); ``wait`` blocks until
    it has passed. Threads call ``wait`` immediately before each send.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open_at = 0.0
        self.closed_seconds = 0.0
        """Total time the gate stayed closed (overlapping closes counted once)."""

    def close_for(self, seconds: float) -> None:
        with self._lock:
            now = time.monotonic()
            until = now + max(seconds, 0.0)
            if until > self._open_at:
                self.closed_seconds += until - max(self._open_at, now)
                self._open_at = until

    def wait(self) -> None:
        while True:
            with self._lock:
                remaining = self._open_at - time.monotonic()
            if remaining <= 0:
                return
            time.sleep(remaining)


class HttpClient:
    """A thread-safe ``httpx.Client`` with the throttling, retry and error rules above."""

    def __init__(
        self,
        settings: HttpSettings,
        auth: httpx.Auth | None = None,
        *,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.settings = settings
        self.gate = RetryGate()
        self.stats = HttpStats()
        self._lock = threading.Lock()
        self._random = random.Random()  # noqa: S311 - jitter, not security
        self.endpoint = _public_endpoint(settings.base_url)
        base = settings.base_url if settings.base_url.endswith("/") else settings.base_url + "/"
        limits = httpx.Limits(
            max_connections=settings.parallelism + 2,
            max_keepalive_connections=settings.parallelism + 2,
        )
        self._client = httpx.Client(
            base_url=base,
            auth=auth,
            headers=dict(headers or {}),
            timeout=httpx.Timeout(
                max(settings.read_timeout_seconds, settings.timeout_seconds),
                connect=settings.timeout_seconds,
            ),
            limits=limits,
            verify=settings.verify,
            follow_redirects=False,
        )

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._client.close()

    # -- sending ---------------------------------------------------------------------
    def request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, str] | None = None,
        json: Any = None,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        idempotent: bool | None = None,
    ) -> httpx.Response:
        """The final response (any status but 401/403 and exhausted retries, see above)."""
        method = method.upper()
        repeatable = method in IDEMPOTENT_METHODS if idempotent is None else idempotent
        retries = throttle_waits = 0
        while True:
            self.gate.wait()
            self._count(method)
            try:
                response = self._client.request(
                    method, url, params=params, json=json, content=content, headers=headers
                )
            except httpx.TransportError as err:
                sent = not isinstance(err, httpx.ConnectError | httpx.ConnectTimeout)
                if retries >= self.settings.max_retries or (sent and not repeatable):
                    raise self._transport_error(err) from None
                retries += 1
                self._backoff(retries, method, url, type(err).__name__)
                continue
            status = response.status_code
            wait = retry_after_seconds(response.headers.get("Retry-After"))
            if status == 429 and wait is None:  # throttled without saying how long
                wait = min(
                    self.settings.backoff_max_seconds,
                    self.settings.backoff_base_seconds * 2 ** (throttle_waits + 1),
                )
            if status in THROTTLE_STATUSES and wait is not None:
                response.close()
                if throttle_waits >= self.settings.max_throttle_waits:
                    raise SynclineError(
                        "HttpThrottled",
                        endpoint=self.endpoint,
                        status=status,
                        attempts=throttle_waits + 1,
                    )
                throttle_waits += 1
                with self._lock:
                    self.stats.throttled += 1
                self.gate.close_for(min(wait, self.settings.max_retry_after_seconds))
                log.info(
                    "throttled; all requests wait",
                    extra={"endpoint": self.endpoint, "status": status, "seconds": wait},
                )
                continue
            if status in TRANSIENT_STATUSES and repeatable:
                if retries < self.settings.max_retries:
                    response.close()
                    retries += 1
                    self._backoff(retries, method, url, f"HTTP {status}")
                    continue
                raise self.status_error(response)
            if status in (401, 403):
                response.close()
                raise SynclineError(
                    "AuthenticationFailed", endpoint=self.endpoint, secret=self.settings.secret_name
                )
            return response

    def get_json(
        self,
        url: str,
        *,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Any:
        """The JSON body of a 2xx answer to GET ``url``; 2014 for any other status."""
        response = self.request("GET", url, params=params, headers=headers)
        if not response.is_success:
            raise self.status_error(response)
        return response.json()

    def map_parallel(self, fn: Callable[[T], R], items: Iterable[T]) -> list[R]:
        """``fn`` over ``items`` on up to ``parallelism`` threads; results in order.

        The first exception is raised after every started call has finished (so nothing
        is left running against the service when the caller moves on)."""
        work = list(items)
        if self.settings.parallelism <= 1 or len(work) <= 1:
            return [fn(item) for item in work]
        with ThreadPoolExecutor(
            max_workers=min(self.settings.parallelism, len(work)),
            thread_name_prefix="syncline-http",
        ) as pool:
            futures = [pool.submit(fn, item) for item in work]
            errors = [f.exception() for f in futures]
        for error in errors:
            if error is not None:
                raise error
        return [f.result() for f in futures]

    # -- errors ----------------------------------------------------------------------
    def status_error(self, response: httpx.Response) -> SynclineError:
        """2014 for an answer the caller cannot use; the body's first line, shortened."""
        request = response.request
        return SynclineError(
            "HttpRequestFailed",
            endpoint=self.endpoint,
            method=request.method,
            path=request.url.path,
            status=response.status_code,
            detail=_short(response),
        )

    def _transport_error(self, err: httpx.TransportError) -> SynclineError:
        if isinstance(err, httpx.TimeoutException) and not isinstance(err, httpx.ConnectTimeout):
            seconds = max(self.settings.read_timeout_seconds, self.settings.timeout_seconds)
            return SynclineError("ConnectionTimeout", endpoint=self.endpoint, seconds=seconds)
        detail = str(err).splitlines()[0] if str(err) else type(err).__name__
        return SynclineError("ConnectionUnreachable", endpoint=self.endpoint, detail=detail[:200])

    # -- helpers ---------------------------------------------------------------------
    def _count(self, method: str) -> None:
        with self._lock:
            self.stats.requests += 1
            self.stats.by_method[method] = self.stats.by_method.get(method, 0) + 1

    def _backoff(self, attempt: int, method: str, url: str, why: str) -> None:
        """Full jitter: a random pause up to base * 2^attempt (capped), this thread only."""
        cap = min(
            self.settings.backoff_max_seconds, self.settings.backoff_base_seconds * 2**attempt
        )
        pause = self._random.uniform(0, cap)
        with self._lock:
            self.stats.retries += 1
        log.warning(
            "transient failure; sending again",
            extra={
                "endpoint": self.endpoint,
                "method": method,
                "path": urlsplit(url).path,
                "error": why,
                "attempt": attempt,
                "pause": round(pause, 3),
            },
        )
        time.sleep(pause)


def retry_after_seconds(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta seconds or an HTTP date)."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - (now or datetime.now(UTC))).total_seconds(), 0.0)


def _public_endpoint(url: str) -> str:
    """The base URL without credentials, query or fragment (safe for messages)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return f"{parts.scheme}://{host}{parts.path}".rstrip("/")


def _short(response: httpx.Response) -> str:
    """An error's first line: OData's error.message when the body has one."""
    try:
        body = response.read().decode("utf-8", "replace")
    except httpx.HTTPError:
        return response.reason_phrase
    try:
        data = json.loads(body)
        message = data.get("error", {}).get("message") if isinstance(data, dict) else None
        if isinstance(message, str):
            return message.splitlines()[0][:300] if message else response.reason_phrase
    except ValueError:
        pass
    lines = body.strip().splitlines()
    return (lines[0][:300] if lines else "") or response.reason_phrase
