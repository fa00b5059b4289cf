"""Which runs are past a project's retention period."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from syncline.api.run import IntegrationRun


def expired(runs: Iterable[IntegrationRun], retention_days: int, now: datetime) -> list[str]:
    """Names of finished runs that completed more than ``retention_days`` before ``now``.

    Runs still in progress are never expired, however old: deleting one would
    orphan its Job and lose its result.
    """
    cutoff = now - timedelta(days=retention_days)
    names = []
    for run in runs:
        status = run.status
        if status is None or not status.result.finished:
            continue
        finished_at = status.completion_time or status.start_time
        if finished_at is not None and finished_at < cutoff and run.metadata.name:
            names.append(run.metadata.name)
    return names
