"""What the alerts need to know of a project: how often it should run, and when it last did.

``SynclineProjectStale`` (manifests/monitoring/) compares the age of the last success
with the project's expected interval. Both come from here on every reconcile, so they
are right from the operator's start: the interval follows the user's intent in
``spec.schedule`` (also while the project is blocked: data that should arrive and does
not is stale whatever the reason), and the last run and last success are read back from
status, which outlives the operator process.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from syncline.api.project import IntegrationProjectSpec
from syncline.errors import SynclineError
from syncline.observability.metrics import RECORDER
from syncline.scheduling.schedule import resolve_schedules


def observe_project(
    namespace: str, name: str, spec: IntegrationProjectSpec, status: Mapping[str, Any]
) -> None:
    """Hand the project's expected interval and last (successful) run to the metrics."""
    RECORDER.project_observed(
        namespace,
        name,
        interval_seconds=expected_interval(spec),
        last_run=_timestamp((status.get("lastRun") or {}).get("completionTime")),
        last_success=_timestamp(status.get("lastSuccessfulTime")),
    )


def expected_interval(spec: IntegrationProjectSpec) -> float | None:
    """Seconds a healthy project may go between scheduled runs; None when it keeps no
    schedule (runs only on request, suspended, or a schedule that does not resolve)."""
    if spec.suspend:
        return None
    try:
        schedule = resolve_schedules(spec.named_schedules())
    except SynclineError:
        return None
    wait = schedule.longest_wait() if schedule is not None else None
    return wait.total_seconds() if wait is not None else None


def _timestamp(value: object) -> float | None:
    """Unix time of an RFC 3339 status field; None when absent or unreadable."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()
