"""The operator runs Syncline's own periodic work on the built-in schedules.

One loop in its own thread ticks every ``housekeeping_tick_seconds``: it reads the
schedules ConfigMap (``syncline.housekeeping.store``) on each tick, so a changed cron takes
effect at the next tick without a restart, and runs each work whose cron fired since the
previous tick (a missed firing runs once, late, not once per missed minute). Each tick
also forwards pending audit records to syslog. The operator runs as one replica; a
second would repeat each work, which is harmless (every work is idempotent) but wasteful.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import kopf
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from syncline import audit
from syncline.api.run import IntegrationRun
from syncline.audit.forwarding import forward_pending
from syncline.audit.verification_events import warn_audit
from syncline.controllers import kube
from syncline.controllers.connection import REFRESH_ANNOTATION
from syncline.controllers.runs import delete_run
from syncline.controllers.settings import current
from syncline.errors import SynclineError
from syncline.history.naming import PROJECT_LABEL
from syncline.history.retention import expired
from syncline.housekeeping import store
from syncline.housekeeping.schedules import due, effective_crons
from syncline.observability.metrics import RECORDER

logger = logging.getLogger(__name__)
PAGE = 100
"""Objects per list request: what the sweeps hold at once, however many there are."""
RECHECKS_PER_SECOND = 20
GROUP, VERSION = "syncline.dev", "v1alpha1"


def _namespaces() -> list[str | None]:
    """The watched namespaces, or None for all of them."""
    return list(current().namespaces) or [None]


def _pages(plural: str, limit: int) -> Iterator[list[dict[str, Any]]]:
    """Every object of ``plural`` in the watched namespaces, a page at a time (a list of
    everything at once was, with a thousand projects, megabytes of bodies held at once)."""
    custom = kube.custom_api()
    for namespace in _namespaces():
        token: str | None = None
        while True:
            paging: dict[str, Any] = {"limit": limit, **({"_continue": token} if token else {})}
            if namespace is None:
                listing = custom.list_cluster_custom_object(GROUP, VERSION, plural, **paging)
            else:
                listing = custom.list_namespaced_custom_object(
                    GROUP, VERSION, namespace, plural, **paging
                )
            yield listing["items"]
            token = (listing.get("metadata") or {}).get("continue")
            if not token:
                break


def clean_up_history(_api: client.ApiClient, _namespace: str) -> str:
    """Every project's finished runs past its spec.history.retentionDays (default 45).

    The runs are listed a page at a time across the watched namespaces, not per project:
    a thousand projects were a thousand list requests every ten minutes, while a page
    bounds what is held at once however long the history."""
    retention = {
        (p["metadata"]["namespace"], p["metadata"]["name"]): int(
            ((p.get("spec") or {}).get("history") or {}).get("retentionDays", 45)
        )
        for page in _pages("integrationprojects", PAGE)
        for p in page
    }
    now, deleted = datetime.now(UTC), 0
    for page in _pages("integrationruns", PAGE):
        by_project: dict[tuple[str, str], list[IntegrationRun]] = {}
        for item in page:
            meta = item["metadata"]
            key = (meta["namespace"], (meta.get("labels") or {}).get(PROJECT_LABEL, ""))
            if key in retention:
                by_project.setdefault(key, []).append(IntegrationRun.model_validate(item))
        for (namespace, project), runs in by_project.items():
            for name in expired(runs, retention[(namespace, project)], now):
                delete_run(namespace, name)
                deleted += 1
    return f"deleted {deleted} runs"


def recheck_connections(_api: client.ApiClient, _namespace: str) -> str:
    """Ask the Connection controller to check each Connection again (its refresh
    annotation), so the check runs where it always does, with its Secret and status.

    Paced at :data:`RECHECKS_PER_SECOND`: asked all at once, a thousand Connections were
    a thousand handler invocations waiting for the operator's 16 threads at the same
    moment, each holding its object (the operator's memory peaked then)."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    asked = 0
    for page in _pages("connections", PAGE):
        for item in page:
            meta = item["metadata"]
            wanted = {REFRESH_ANNOTATION: f"builtin-{stamp}"}
            kube.annotate(kube.CONNECTION, meta["namespace"], meta["name"], wanted)
            asked += 1
            time.sleep(1 / RECHECKS_PER_SECOND)
    return f"{asked} connections asked to re-check"


def rotate_audit_log(api: client.ApiClient, namespace: str) -> str:
    deleted = audit.rotate(api, namespace=namespace)
    return f"rotated; {len(deleted)} files past retention deleted"


def verify_audit_log(api: client.ApiClient, namespace: str) -> str:
    result = audit.verify_and_checkpoint(api, namespace=namespace)
    error = result.error()
    if error is not None:
        RECORDER.audit_failure(error.code)
        warn_audit(api, namespace, error.name, f"{error} {result.reason}")
        return f"BROKEN: {result.reason}"
    return f"intact ({result.records_checked} records)"


WORK: dict[str, Callable[[client.ApiClient, str], str]] = {
    "history-cleanup": clean_up_history,
    "connection-recheck": recheck_connections,
    "audit-rotation": rotate_audit_log,
    "audit-verification": verify_audit_log,
}


class Housekeeper:
    """The loop; ``tick(now)`` is one pass (tests may call it directly)."""

    def __init__(self, api: client.ApiClient, namespace: str, since: datetime) -> None:
        self.api, self.namespace, self.since = api, namespace, since
        self.stopping = threading.Event()
        self.forwarding_failed = False

    def run(self, interval: float) -> None:
        while not self.stopping.wait(interval):
            try:
                self.tick(datetime.now(UTC))
            except Exception:  # the loop must outlive any one bad tick
                logger.exception("housekeeping tick failed")

    def tick(self, now: datetime) -> None:
        logger.debug("housekeeping tick %s", now.isoformat())
        stored, _ = store.read(self.api, self.namespace)
        for name, cron in effective_crons(stored).items():
            if due(cron, self.since, now):
                self._run(name, now)
        self.since = now
        self._forward()

    def _run(self, name: str, now: datetime) -> None:
        try:
            outcome, result = WORK[name](self.api, self.namespace), "Success"
        except (SynclineError, ApiException, OSError) as err:
            outcome, result = f"failed: {type(err).__name__}", "Failure"
            why = str(err) if isinstance(err, SynclineError) else getattr(err, "status", "")
            logger.warning("built-in work %s failed: %s %s", name, type(err).__name__, why)
        logger.info("built-in work %s ran: %s", name, outcome)
        RECORDER.builtin_work(name, result)
        stamp = now.strftime("%Y-%m-%dT%H:%M:%SZ")
        try:
            store.patch(self.api, self.namespace, {}, {f"{store.LAST_RUN_PREFIX}{name}": stamp})
        except ApiException as err:
            logger.warning("last run of %s not noted: HTTP %s", name, err.status)

    def _forward(self) -> None:
        result = forward_pending(self.api, namespace=self.namespace)
        if result.error is not None and not self.forwarding_failed:
            RECORDER.audit_failure(result.error.code)
            warn_audit(self.api, self.namespace, "SyslogForwardingFailed", str(result.error))
        self.forwarding_failed = result.error is not None


_running: list[Housekeeper] = []


@kopf.on.startup()
def start_housekeeping(**_: Any) -> None:
    """Start the loop; its first tick only looks forward (nothing runs at startup)."""
    api = kube.api_client()
    keeper = Housekeeper(api, audit.system_namespace(), datetime.now(UTC))
    interval = current().housekeeping_tick_seconds
    threading.Thread(target=keeper.run, args=(interval,), name="housekeeping", daemon=True).start()
    _running.append(keeper)


@kopf.on.cleanup()
def stop_housekeeping(**_: Any) -> None:
    for keeper in _running:
        keeper.stopping.set()
    _running.clear()
