"""Per project, every few seconds: close runs whose pod can never be created, and (when
``retention_sweep_seconds`` is set) delete runs past ``spec.history.retentionDays``.

One loop for every project, not a kopf timer per project: a thousand timers were a
thousand asyncio tasks with their own state, waking a hundred times a second to find
nothing to do. The loop knows the projects from their watch events; the usual tick is
a dictionary walk with no API call, and only a project with work gets a thread.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import Any

import kopf

from syncline.api.base import GROUP, VERSION
from syncline.controllers import kube, starts
from syncline.controllers.background import run_with_operator
from syncline.controllers.runs import close_failed_run, delete_expired_runs
from syncline.controllers.settings import current

logger = logging.getLogger(__name__)
TICK_SECONDS = 10.0
DEFAULT_RETENTION_DAYS = 45

_projects: dict[tuple[str, str], int] = {}
"""(namespace, project) -> its retention in days, as the watch last showed it."""
_last_sweep: dict[tuple[str, str], float] = {}


@kopf.on.event(GROUP, VERSION, "integrationprojects")
async def track_project(event: kopf.RawEvent, body: kopf.Body, **_: Any) -> None:
    """Keep the loop's list of projects (pure: no API call)."""
    meta = body["metadata"]
    key = (meta["namespace"], meta["name"])
    if event.get("type") == "DELETED":
        _projects.pop(key, None)
        _last_sweep.pop(key, None)
        return
    history = (body.get("spec") or {}).get("history") or {}
    _projects[key] = int(history.get("retentionDays", DEFAULT_RETENTION_DAYS))


def sweep_due(key: tuple[str, str], now: float) -> bool:
    """Sweep each project at most every ``retention_sweep_seconds`` (never by default:
    the built-in housekeeping schedule deletes old runs)."""
    if now - _last_sweep.get(key, 0.0) < current().retention_sweep_seconds:
        return False
    _last_sweep[key] = now
    return True


def work(namespace: str, project: str, days: int, due: bool) -> None:
    """Close the project's unstartable runs (2409, their Job deleted so it stops
    retrying) and, when due, delete its runs past the retention."""
    for job, error in starts.unstartable(namespace, project):
        close_failed_run(job, error)
        kube.delete_job(namespace, job["metadata"]["name"])
    if not due:
        return
    deleted = delete_expired_runs(namespace, project, days)
    if deleted:
        logger.info("deleted %d runs of %s/%s past retention", len(deleted), namespace, project)


async def retention_loop() -> None:
    """Every :data:`TICK_SECONDS`, one :func:`tick`."""
    while True:
        await asyncio.sleep(TICK_SECONDS)
        await tick(datetime.now(UTC).timestamp())


async def tick(now: float) -> None:
    """Every project once: only those with work cost a thread."""
    for (namespace, project), days in list(_projects.items()):
        due = sweep_due((namespace, project), now)
        if not due and not starts.has_waiting(namespace, project):
            continue
        try:
            await asyncio.to_thread(work, namespace, project, days, due)
        except Exception:  # one project's failure must not stop the others'
            logger.exception("retention of %s/%s failed", namespace, project)


run_with_operator("retention", retention_loop)
