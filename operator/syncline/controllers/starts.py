"""Runs whose pod can never start: detected, closed with a code, their Job stopped.

When admission refuses a run's pod (the engine ServiceAccount missing in the
namespace, a quota, Pod Security), the Job controller only records FailedCreate
events and retries forever: the Job never fails, so the run would wait as Pending
with the project still Ready (2409). Likewise a pod whose credentials Secret was
deleted is created but its container never starts: the kubelet records Failed
events and retries forever (2100 naming the Secret, or 2409 with the kubelet's words).
The Job watch notes every Job with no ready pod yet; the project's timer looks at
those older than ``START_GRACE`` (a quota may clear, a Secret may be restored in the
meantime) and, when events explain why, closes the run with the cause. Nothing is
read from the API while no Job is waiting.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from syncline.controllers import kube
from syncline.errors import SynclineError
from syncline.history.naming import PROJECT_LABEL

START_GRACE = timedelta(seconds=20)
MAX_DETAIL = 500

_lock = threading.Lock()
_waiting: dict[tuple[str, str], tuple[str, datetime]] = {}
"""(namespace, Job) -> (project, Job creation time), for Jobs with no pod so far."""


_MISSING_SECRET = re.compile(r'^Error: secret "([^"]+)" not found')
_CONFIGURATION = ("Error: secret", "Error: couldn't find key", "Error: configmap")
"""How the kubelet words a container that cannot be configured (CreateContainerConfigError)."""


def has_started(job: Mapping[str, Any]) -> bool:
    """Whether the Job's pod ever ran (was ready), or the Job is over either way."""
    status = job.get("status") or {}
    if any(status.get(k) for k in ("ready", "succeeded", "failed", "terminating")):
        return True
    return any(
        c.get("type") in ("Complete", "Failed") and c.get("status") == "True"
        for c in status.get("conditions") or []
    )


def track(job: Mapping[str, Any], *, deleted: bool = False) -> None:
    """Note (or forget) a Job that is waiting for its first pod."""
    meta = job["metadata"]
    key = (meta["namespace"], meta["name"])
    with _lock:
        if deleted or has_started(job):
            _waiting.pop(key, None)
            return
        created = datetime.fromisoformat(str(meta["creationTimestamp"]).replace("Z", "+00:00"))
        _waiting.setdefault(key, ((meta.get("labels") or {}).get(PROJECT_LABEL, ""), created))


def refusal(job_name: str, events: list[dict[str, Any]]) -> SynclineError | None:
    """2409 naming the latest FailedCreate message, or None without one."""
    if not events:
        return None
    latest = max(events, key=lambda e: str(e.get("lastTimestamp") or e.get("eventTime") or ""))
    detail = str(latest.get("message") or "the pod was refused")[:MAX_DETAIL]
    return SynclineError("RunCouldNotStart", name=job_name, detail=detail)


def cannot_configure(
    namespace: str, job_name: str, events: list[dict[str, Any]]
) -> SynclineError | None:
    """2100 when the pod's credentials Secret is gone, 2409 for other configuration
    failures (a missing key), None when no event says the container cannot start."""
    failures = [e for e in events if str(e.get("message") or "").startswith(_CONFIGURATION)]
    if not failures:
        return None
    latest = max(failures, key=lambda e: str(e.get("lastTimestamp") or e.get("eventTime") or ""))
    message = str(latest.get("message"))
    missing = _MISSING_SECRET.match(message)
    if missing:
        return SynclineError("SecretNotFound", name=missing.group(1), namespace=namespace)
    return SynclineError("RunCouldNotStart", name=job_name, detail=message[:MAX_DETAIL])


def has_waiting(namespace: str, project: str) -> bool:
    """Whether any Job of the project waits for its pod (cheap: no API call)."""
    with _lock:
        return any(ns == namespace and owner == project for (ns, _), (owner, _) in _waiting.items())


def unstartable(
    namespace: str, project: str, now: datetime | None = None
) -> list[tuple[dict[str, Any], SynclineError]]:
    """The project's Jobs that waited past the grace period and cannot start."""
    now = now or datetime.now(UTC)
    with _lock:
        due = [
            job
            for (ns, job), (owner, created) in _waiting.items()
            if ns == namespace and owner == project and now - created >= START_GRACE
        ]
    found = []
    for job in due:
        error = refusal(job, kube.failed_create_events(namespace, job)) or cannot_configure(
            namespace, job, kube.pod_failure_events(namespace, job)
        )
        if error is not None:
            found.append(({"metadata": {"namespace": namespace, "name": job}}, error))
            with _lock:
                _waiting.pop((namespace, job), None)
    return found
