"""Connection: resolve the Secret, test the system, discover its catalog, report truthfully.

The Secret's values live only in local variables on their way to the connector check;
every message that leaves this module goes through the shared scrubber first
(:mod:`syncline.redaction`, the same one the engine uses), in case a driver echoes a
credential in an error: every value, whatever its length, and the error keeps its code.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import urlsplit

import kopf
from pydantic import ValidationError

from syncline.api.base import GROUP, VERSION
from syncline.api.connection import MAX_ENTITIES, ConnectionSpec, Entity, required_secret_keys
from syncline.controllers import followers, kube, watched
from syncline.controllers.dependencies import request_reconcile, users_of_connection
from syncline.controllers.publish import publish
from syncline.controllers.settings import current
from syncline.controllers.single_flight import SingleFlight, probe_key
from syncline.controllers.status import Verdict, failed, ready_condition, succeeded
from syncline.controllers.watched import outcome_digest
from syncline.engine.catalog import check_connection, describe_entity, discover_entities
from syncline.errors import SynclineError
from syncline.observability.metrics import timed
from syncline.redaction import Redactor, redact

logger = logging.getLogger(__name__)

REFRESH_ANNOTATION = f"{GROUP}/refresh"
TICK_SECONDS = 10.0
"""How often the timer looks at each Connection; it only works when a check is due."""
_probes = concurrent.futures.ThreadPoolExecutor(max_workers=4, thread_name_prefix="probe")
_same_probes: SingleFlight[tuple[list[Entity], int]] = SingleFlight()
T = TypeVar("T")


def describe_endpoint(spec: ConnectionSpec) -> str:
    """Where the system is, for messages: never a URL's user info or query (tokens hide there)."""
    ep = spec.endpoint
    if ep.url:
        parts = urlsplit(ep.url)
        return f"{parts.scheme}://{parts.hostname or ''}{f':{parts.port}' if parts.port else ''}"
    if ep.host:
        port = f":{ep.port}" if ep.port else ""
        return f"{ep.host}{port}/{ep.database or ''}".rstrip("/")
    return ep.path or spec.type.value


def required_credentials(
    spec: ConnectionSpec, secret_name: str, namespace: str, data: Mapping[str, str] | None
) -> dict[str, str]:
    """The keys the connection type needs from the Secret; 2100 / 2101 when absent."""
    if data is None:
        raise SynclineError("SecretNotFound", name=secret_name, namespace=namespace)
    needed = required_secret_keys(spec)
    missing = [k for k in needed if not data.get(k)]
    if missing:
        raise SynclineError(
            "SecretKeyMissing", name=secret_name, key=", ".join(missing), type=spec.type.value
        )
    return {k: v for k, v in data.items() if k in needed} or dict(data)


def probe(
    spec: ConnectionSpec, credentials: Mapping[str, str], timeout: float
) -> tuple[list[Entity], int]:
    """Check the connection, then discover entities; both bounded by ``timeout`` overall."""

    def work() -> tuple[list[Entity], int]:
        check_connection(spec, credentials, timeout_seconds=timeout)
        return discover_entities(spec, credentials, timeout_seconds=timeout, limit=MAX_ENTITIES)

    key = probe_key(spec.model_dump(mode="json"), credentials)  # identical ones share a probe
    return _same_probes.run(key, lambda: _bounded(spec, timeout, work))


def _bounded(spec: ConnectionSpec, timeout: float, work: Callable[[], T]) -> T:
    """``work`` in its own thread, so a driver that ignores its timeout cannot hang the
    handler: past the deadline it is 2003 and the thread is abandoned."""
    future = _probes.submit(work)
    try:
        return future.result(timeout=2 * timeout + 5)
    except concurrent.futures.TimeoutError:
        future.cancel()
        raise SynclineError(
            "ConnectionTimeout", endpoint=describe_endpoint(spec), seconds=timeout
        ) from None


def _credentials(spec: ConnectionSpec, namespace: str) -> dict[str, str]:
    """The values the connector needs from the Connection's Secret (none without one)."""
    if spec.credentials is None:
        return {}
    name = spec.credentials.secret_ref.name
    return required_credentials(spec, name, namespace, kube.read_secret(namespace, name))


def _scrubbed(spec: ConnectionSpec, err: Exception, secrets: list[str]) -> SynclineError:
    """A catalog error with no credential value in it; a driver's own exception as 2000."""
    if isinstance(err, SynclineError):
        return Redactor(secrets).error(err)
    detail = redact(f"{type(err).__name__}: {err}", secrets)
    return SynclineError("ConnectionUnreachable", endpoint=describe_endpoint(spec), detail=detail)


def assess(spec: ConnectionSpec, namespace: str, timeout: float) -> tuple[Verdict, dict[str, Any]]:
    """Credentials, check, discovery -> verdict and the catalog fields of status."""
    secrets: list[str] = []
    try:
        credentials = _credentials(spec, namespace)
        secrets = list(credentials.values())
        entities, count = probe(spec, credentials, timeout)
    except Exception as err:  # a driver's own exception too: reported, redacted, as 2000
        return failed([_scrubbed(spec, err, secrets)]), {}
    message = f"Connected to {describe_endpoint(spec)}; {count} entities discovered."
    if count > len(entities):
        truncated = SynclineError(
            "CatalogTruncated", name=describe_endpoint(spec), count=count, limit=len(entities)
        )
        message += f" {truncated}"
    fields = {"entityCount": count, "entities": [e.to_wire() for e in entities]}
    return succeeded("Connected", message), fields


def describe_live(connection: Mapping[str, Any], entity: str) -> Entity:
    """One entity as its system describes it now: for projects whose entity lies beyond
    the truncated catalog in status. The Connection check's own path (its Secret, the
    connection timeout, a bounded thread, scrubbed errors); 2004 when it does not exist.
    """
    namespace = connection["metadata"]["namespace"]
    spec = ConnectionSpec.model_validate(connection.get("spec") or {})
    timeout = current().connection_timeout_seconds
    secrets: list[str] = []
    try:
        credentials = _credentials(spec, namespace)
        secrets = list(credentials.values())
        return _bounded(
            spec,
            timeout,
            lambda: describe_entity(spec, credentials, entity, timeout_seconds=timeout),
        )
    except Exception as err:
        raise _scrubbed(spec, err, secrets) from None


@timed("Connection")
def reconcile_connection(body: Mapping[str, Any], indexes: Mapping[str, Any]) -> None:
    """One pass: assess, write status, and nudge users when the outcome changed."""
    meta = body["metadata"]
    namespace, name = meta["namespace"], meta["name"]
    previous = dict(body.get("status") or {})
    try:
        spec = ConnectionSpec.model_validate(body.get("spec") or {})
    except ValidationError as err:
        invalid = SynclineError("ParameterInvalid", field="spec", detail=_first_problem(err))
        verdict, fields = failed([invalid]), dict[str, Any]()
    else:
        verdict, fields = assess(spec, namespace, current().connection_timeout_seconds)
    fields["lastCheckTime"] = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    publish(kube.CONNECTION, body, verdict, fields)
    before = outcome_digest(previous.get("conditions"), previous.get("entities"))
    after = outcome_digest(
        [{"type": "Ready", "status": "True" if verdict.ready else "False"}],
        fields.get("entities", previous.get("entities")),
    )
    if before != after:
        # Only the sets: each passes the change on to its projects (connectionset.py), so
        # a project is not reconciled once for the Connection and again for its set.
        for set_name in sorted(set(indexes["sets_by_connection"].get((namespace, name), []))):
            request_reconcile(
                kube.CONNECTION_SET, namespace, set_name, f"Connection/{name}@{after}"
            )


def _first_problem(err: ValidationError) -> str:
    first = err.errors()[0]
    location = ".".join(str(p) for p in first.get("loc", ()))
    return f"{location}: {first.get('msg', 'invalid')}"


@kopf.on.resume(GROUP, VERSION, "connections", backoff=5)
@kopf.on.create(GROUP, VERSION, "connections", backoff=5)
@kopf.on.update(GROUP, VERSION, "connections", backoff=5)
def connection_changed(body: kopf.Body, **kwargs: Any) -> None:
    """Spec, Secret reference or the refresh annotation changed: check and discover again.

    ``kwargs`` carries kopf's indexes (sets_by_connection, projects_by_set) by name.
    """
    reconcile_connection(body, kwargs)


@kopf.timer(GROUP, VERSION, "connections", interval=TICK_SECONDS, initial_delay=TICK_SECONDS)
def connection_timer(body: kopf.Body, status: kopf.Status, **kwargs: Any) -> None:
    """Re-discover when the catalog is older than the setting; retry failures sooner."""
    settings = current()
    now = datetime.now(UTC)
    if is_due(status, settings.rediscovery_seconds, now, settings.retry_seconds):
        reconcile_connection(body, kwargs)


@kopf.on.event(GROUP, VERSION, "connections")
async def connection_event(event: kopf.RawEvent, body: kopf.Body, **kwargs: Any) -> None:
    """A deleted Connection: the sets and projects using it must stop claiming Ready.

    Async: every Connection event passes here; only a deletion has work (in a thread)."""
    watched.observe(kube.CONNECTION.kind, event, body)
    namespace, name = str(body["metadata"].get("namespace") or ""), body["metadata"]["name"]
    followers.changed(namespace)
    if event.get("type") == "DELETED":
        await asyncio.to_thread(_connection_deleted, body, kwargs)
        return
    # A catalog change while its sets stay Ready reaches their projects from here.
    sets = sorted(set(kwargs["sets_by_connection"].get((namespace, name), [])))
    await followers.nudge(namespace, sets)


def _connection_deleted(body: kopf.Body, kwargs: Mapping[str, Any]) -> None:
    meta = body["metadata"]
    namespace, name = meta["namespace"], meta["name"]
    users = users_of_connection(
        namespace, name, kwargs["sets_by_connection"], kwargs["projects_by_set"]
    )
    for kind, user in users:
        request_reconcile(kind, namespace, user, f"Connection/{name}@deleted:{meta.get('uid')}")


def is_due(status: Mapping[str, Any], interval: float, now: datetime, retry: float = 60.0) -> bool:
    """A failing connection is retried after ``retry``; a Ready one after ``interval``."""
    checked = status.get("lastCheckTime")
    if not checked:
        return True
    age = (now - datetime.fromisoformat(str(checked).replace("Z", "+00:00"))).total_seconds()
    ready = ready_condition(status.get("conditions"))
    healthy = ready is not None and ready.get("status") == "True"
    return age >= (interval if healthy else min(interval, retry))
