"""Runs whose pod can never be created: detected, closed with 2409, their Job stopped.

When admission refuses a run's pod (the engine ServiceAccount missing in the
namespace, a quota, Pod Security), the Job controller only records FailedCreate
events and retries forever: the Job never fails, so the run would wait as Pending
with the project still Ready. The Job watch notes every Job that has no pod yet; the
project's timer looks at those older than ``START_GRACE`` (a quota may clear in the
meantime) and, when FailedCreate events explain why, closes the run with the cause.
Nothing is read from the API while no Job is waiting.
"""

from __future__ import annotations

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


def has_started(job: Mapping[str, Any]) -> bool:
    """Whether the Job ever had a pod, or is over either way."""
    status = job.get("status") or {}
    if any(status.get(k) for k in ("active", "ready", "succeeded", "failed", "terminating")):
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


def unstartable(
    namespace: str, project: str, now: datetime | None = None
) -> list[tuple[dict[str, Any], SynclineError]]:
    """The project's Jobs that waited past the grace period and were refused a pod."""
    now = now or datetime.now(UTC)
    with _lock:
        due = [
            job
            for (ns, job), (owner, created) in _waiting.items()
            if ns == namespace and owner == project and now - created >= START_GRACE
        ]
    found = []
    for job in due:
        error = refusal(job, kube.failed_create_events(namespace, job))
        if error is not None:
            found.append(({"metadata": {"namespace": namespace, "name": job}}, error))
            with _lock:
                _waiting.pop((namespace, job), None)
    return found
