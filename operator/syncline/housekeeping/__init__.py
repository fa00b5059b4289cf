"""Built-in schedules: the cron of Syncline's own periodic work, listed and changed live.

Public API for the REST API and the CLI: :func:`list_builtin_schedules`,
:func:`set_builtin_schedule`. The operator runs the work
(``syncline.controllers.housekeeping``).
"""

from __future__ import annotations

from datetime import UTC, datetime

from kubernetes import client

from syncline.housekeeping import store
from syncline.housekeeping.schedules import (
    BUILTIN_WORK,
    BuiltinSchedule,
    check_cron,
    listing,
    work,
)

__all__ = ["BUILTIN_WORK", "BuiltinSchedule", "list_builtin_schedules", "set_builtin_schedule"]


def _namespace(namespace: str | None) -> str:
    from syncline.audit.store import system_namespace  # the one rule for "our" namespace

    return system_namespace(namespace)


def list_builtin_schedules(
    api: client.ApiClient, *, namespace: str | None = None
) -> list[BuiltinSchedule]:
    """Every built-in schedule with its current cron, default, next and last run."""
    stored, last_runs = store.read(api, _namespace(namespace))
    return listing(stored, last_runs, datetime.now(UTC))


def set_builtin_schedule(
    api: client.ApiClient, name: str, cron: str, *, namespace: str | None = None
) -> BuiltinSchedule:
    """Change one schedule's cron (2709 unknown name, 1600/1601 bad cron); the operator
    uses it from its next tick. Returns the schedule as now listed."""
    work(name)
    normalised = check_cron(cron)
    ns = _namespace(namespace)
    store.patch(api, ns, data={name: normalised})
    return next(s for s in list_builtin_schedules(api, namespace=ns) if s.name == name)
