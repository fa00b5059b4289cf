"""``status.nextRunTime`` of plain-cron projects, moved on by one loop for all of them.

Their CronJob starts their Jobs; all the operator does for them is show the next run
time once the shown one has passed. A kopf timer per project did that (a thousand
asyncio tasks waking every few seconds); this loop looks at what the project watch last
showed of each and writes only for those whose time has passed, deciding on the project
as it is at the write (``scheduler.refresh_next_run``), so a stale view costs one read.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import kopf

from syncline.api.base import GROUP, VERSION
from syncline.controllers import scheduler
from syncline.controllers.background import run_with_operator
from syncline.scheduling.schedule import EffectiveSchedule

logger = logging.getLogger(__name__)
TICK_SECONDS = scheduler.TICK_SECONDS

_cron_next: dict[tuple[str, str], tuple[datetime, EffectiveSchedule]] = {}
"""(namespace, project) -> the nextRunTime the watch last showed for a plain cron, with
its schedule: what :func:`refresh_cron_loop` looks at instead of a timer per project."""


@kopf.on.event(GROUP, VERSION, "integrationprojects")
async def track_cron_next_run(event: kopf.RawEvent, body: kopf.Body, **_: Any) -> None:
    """Keep :data:`_cron_next` as the watch shows the project (pure: no API call)."""
    meta = body["metadata"]
    key = (meta["namespace"], meta["name"])
    if event.get("type") == "DELETED":
        _cron_next.pop(key, None)
        scheduler.forget(str(meta.get("uid") or ""))
        return
    schedule = scheduler.schedule_of(body)
    status = body.get("status") or {}
    shown = scheduler.parse_time(status.get("nextRunTime"))
    current_status = status.get("observedGeneration") == meta.get("generation")
    if schedule is None or schedule.driven or shown is None or not current_status:
        _cron_next.pop(key, None)
    else:
        _cron_next[key] = (shown, schedule)


def due_cron_projects(now: datetime) -> list[tuple[str, str, EffectiveSchedule]]:
    """The plain-cron projects whose shown next run time has passed."""
    return [(ns, name, sched) for (ns, name), (at, sched) in _cron_next.items() if at <= now]


async def refresh_cron_loop() -> None:
    """Every tick: move on the nextRunTime of plain-cron projects whose time has passed.

    A project stays out of the next ticks until the watch shows its new status (or for
    a minute, after a failed write), so one failing project is not retried every tick."""
    retry_at: dict[tuple[str, str], datetime] = {}
    while True:
        await asyncio.sleep(TICK_SECONDS)
        now = datetime.now(UTC)
        for namespace, name, schedule in due_cron_projects(now):
            key = (namespace, name)
            if retry_at.get(key, now) > now:
                continue
            retry_at[key] = now + timedelta(seconds=60)
            try:
                await asyncio.to_thread(scheduler.refresh_next_run, namespace, name, schedule, now)
            except Exception:  # one project's failure must not stop the others' times
                logger.exception("nextRunTime of %s/%s not refreshed", namespace, name)
        retry_at = {k: t for k, t in retry_at.items() if t > now}


run_with_operator("cron-next-run", refresh_cron_loop)
