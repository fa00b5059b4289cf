"""Built-in schedules: the cron of Syncline's own periodic work, read and changed live.

RBAC names them as the virtual resource ``builtinschedules.syncline.dev`` (cluster
scope): `list` to read them, `update` (per name) to change one. No such object exists;
RBAC rules on it are how a cluster admin grants this, like any other permission.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import Field

from syncline.errors import SynclineError
from syncline.housekeeping import list_builtin_schedules, set_builtin_schedule
from syncline.housekeeping.schedules import BuiltinSchedule
from syncline.rest.auth import Access
from syncline.rest.deps import SUCCESS, CallerDep, ServicesDep
from syncline.rest.errors import responses
from syncline.rest.models import Body

SCHEDULES = "builtinschedules"
router = APIRouter(tags=["schedules"])
ScheduleName = Annotated[str, Path(min_length=1, max_length=63, pattern=r"^[a-z0-9-]+$")]


class Schedule(Body):
    name: str
    cron: str
    time_zone: str = "UTC"
    default_cron: str
    description: str
    next_run_time: str | None = None
    last_run_time: str | None = None


class ScheduleList(Body):
    items: list[Schedule]


class CronChange(Body):
    cron: str = Field(min_length=1, max_length=200, examples=["*/30 * * * *"])


def _out(schedule: BuiltinSchedule) -> Schedule:
    return Schedule.model_validate(schedule.to_json())


@router.get(
    "/api/v1/schedules",
    response_model=ScheduleList,
    response_model_exclude_none=True,
    summary="List the built-in schedules",
)
def list_schedules(caller: CallerDep, svc: ServicesDep) -> ScheduleList:
    svc.authorizer.require(caller, Access("list", SCHEDULES))
    return ScheduleList(
        items=[_out(s) for s in list_builtin_schedules(svc.api, namespace=svc.system_namespace)]
    )


@router.put(
    "/api/v1/schedules/{name}",
    response_model=Schedule,
    response_model_exclude_none=True,
    responses=responses(404),
    summary="Change a built-in schedule's cron (1600/1601 when invalid)",
)
def change_schedule(
    name: ScheduleName, body: CronChange, caller: CallerDep, svc: ServicesDep
) -> Schedule:
    """Takes effect at the operator's next tick, without a restart."""
    svc.authorizer.require(caller, Access("update", SCHEDULES, name=name))
    target = f"builtinschedules/{name}"
    try:
        changed = set_builtin_schedule(svc.api, name, body.cron, namespace=svc.system_namespace)
    except SynclineError as err:
        svc.record(caller, "schedule.update", target, f"{err.code} {err.name}", cron=body.cron)
        raise
    svc.record(caller, "schedule.update", target, SUCCESS, cron=changed.cron)
    return _out(changed)
