"""Starting the Jobs of schedules cron cannot express (every 7 minutes, every 2 weeks),
and keeping ``status.nextRunTime`` current for all schedules.

Such a project's CronJob stays suspended as the Jobs' template; a timer on the project
starts each Job at its exact fire time (``syncline.scheduling.recurrence``). The same
guarantees as a CronJob with ``concurrencyPolicy: Forbid``, and a few more:

- a fire time is recorded in ``status.lastFireTime`` (read-decide-write on the
  resourceVersion) *before* its Job is created, and the Job's name follows from the fire
  time: two ticks, or a restart between the write and the create, create it once;
- a run still active (scheduled, run-now, requested) skips the fire time (Overlap);
- fire times missed while the operator was down follow ``missedRunPolicy``: one
  catch-up run (runOnce) or none (skip), never one per missed time;
- nothing starts in a blackout window, nor while the project is held or suspended (its
  status then has no ``nextRunTime``; those fire times are marked passed, so resuming
  does not catch up on them).

Only such projects have a timer of their own (kopf stops it when the schedule becomes a
plain cron, and starts it when it becomes driven). A plain cron's CronJob starts its
Jobs itself; all the operator keeps doing for it is move ``status.nextRunTime`` on once
it has passed, and one loop does that for every such project (controllers/next_run.py)
from what the watch last showed of each: a stale view costs one needless status
read, never a wrong time, since the write decides on the project as it is then.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import kopf
from pydantic import ValidationError

from syncline.api.base import GROUP, VERSION
from syncline.api.project import IntegrationProjectSpec
from syncline.controllers import kube
from syncline.controllers.settings import current
from syncline.errors import SynclineError
from syncline.kube.manual import active_run
from syncline.scheduling.cronjob import cronjob_name
from syncline.scheduling.recurrence import Decision, decide, last_fire
from syncline.scheduling.schedule import EffectiveSchedule, resolve_schedules
from syncline.scheduling.scheduled_job import build_scheduled_job, scheduled_job_name

logger = logging.getLogger(__name__)
TICK_SECONDS = 5.0


def effective_schedule(spec: Mapping[str, Any]) -> EffectiveSchedule | None:
    """The project's schedule, None when it has none (or an invalid one)."""
    try:
        parsed = IntegrationProjectSpec.model_validate(spec or {})
        return resolve_schedules(parsed.named_schedules())
    except (ValidationError, SynclineError):
        return None  # the reconcile reports it; nothing is scheduled meanwhile


def driven_schedule(spec: Mapping[str, Any]) -> EffectiveSchedule | None:
    """The project's schedule when the operator drives it, else None."""
    schedule = effective_schedule(spec)
    return schedule if schedule is not None and schedule.driven else None


_parsed: dict[str, tuple[object, EffectiveSchedule | None]] = {}
"""Per project uid: its generation and its schedule, so the ticks and the watch events of
a thousand projects do not validate an unchanged spec again each time."""


def schedule_of(body: Mapping[str, Any]) -> EffectiveSchedule | None:
    """:func:`effective_schedule` of the project, parsed once per generation."""
    meta = body.get("metadata") or {}
    uid, generation = str(meta.get("uid") or ""), meta.get("generation")
    cached = _parsed.get(uid)
    if uid and cached is not None and cached[0] == generation:
        return cached[1]
    schedule = effective_schedule(body.get("spec") or {})
    if uid:
        _parsed[uid] = (generation, schedule)
    return schedule


def is_driven(body: Mapping[str, Any]) -> bool:
    """Whether the operator starts this project's runs (cron cannot express its schedule)."""
    schedule = schedule_of(body)
    return schedule is not None and schedule.driven


def cron_next_run(
    current_obj: Mapping[str, Any], schedule: EffectiveSchedule, now: datetime
) -> dict[str, Any] | None:
    """For a CronJob's schedule: the next run time once the one in status has passed
    (None: nothing to write), so status.nextRunTime never shows a time gone by."""
    meta, status = current_obj["metadata"], current_obj.get("status") or {}
    shown = _parse(status.get("nextRunTime"))
    if status.get("observedGeneration") != meta.get("generation") or shown is None or shown > now:
        return None
    upcoming = schedule.next_run(now)
    return {"nextRunTime": _rfc3339(upcoming) if upcoming else None}


def deadline_of(spec: Mapping[str, Any]) -> timedelta:
    """How late a fire time may still start (the schedule's or the operator's default;
    with several schedules, the latest of theirs)."""
    schedules = [spec.get("schedule") or {}, *(spec.get("schedules") or [])]
    own = [int(s["startingDeadlineSeconds"]) for s in schedules if s.get("startingDeadlineSeconds")]
    return timedelta(seconds=max(own, default=current().engine.starting_deadline_seconds))


def fire_fields(
    current_obj: Mapping[str, Any],
    schedule: EffectiveSchedule,
    now: datetime,
    busy: bool,
) -> tuple[dict[str, Any] | None, Decision | None]:
    """The status to write for what is due at ``now`` (None: nothing to write) and the
    decision, from the project as it is at the write. Only a project whose status
    describes its current spec and shows a next run (valid, in quota, not held or
    suspended) fires."""
    meta, status = current_obj["metadata"], current_obj.get("status") or {}
    if status.get("observedGeneration") != meta.get("generation"):
        return None, None  # the reconcile has not caught up with the spec yet
    deadline = deadline_of(current_obj.get("spec") or {})
    created = _parse(meta.get("creationTimestamp")) or now
    since = _parse(status.get("lastFireTime")) or max(created, now - deadline)
    if not status.get("nextRunTime"):  # held, suspended: its fire times pass unstarted
        passed = last_fire(schedule.fires, now)
        if passed is None or passed.at <= since:
            return None, None
        return {"lastFireTime": _rfc3339(passed.at), "lastFireJob": None}, None
    decision = decide(
        schedule.fires,
        since=since,
        now=now,
        busy=busy,
        policy=schedule.missed_run_policy,
        deadline=deadline,
    )
    upcoming = _rfc3339(decision.next_run.at) if decision.next_run else None
    if decision.handled is None:
        changed = upcoming != status.get("nextRunTime")
        return ({"nextRunTime": upcoming} if changed else None), decision
    fields: dict[str, Any] = {
        "lastFireTime": _rfc3339(decision.handled),
        "lastFireJob": None,
        "nextRunTime": upcoming,
    }
    if decision.start is not None:
        cronjob = cronjob_name(meta["name"])
        fields["lastFireJob"] = scheduled_job_name(cronjob, decision.start.at)
    else:
        fields["lastSkippedFire"] = f"{_rfc3339(decision.handled)} {decision.skipped}"
    return fields, decision


def has_work(body: Mapping[str, Any], now: datetime) -> bool:
    """Whether a tick at ``now`` has anything to do (the usual answer, no: no API call)."""
    schedule = schedule_of(body)
    if schedule is None:
        return False
    if not schedule.driven:
        return cron_next_run(body, schedule, now) is not None
    return fire_fields(body, schedule, now, busy=False)[0] is not None or _unverified_start(
        body, now
    )


def drive(body: Mapping[str, Any], now: datetime) -> None:
    """One tick: finish a start a restart interrupted, then start what is due."""
    schedule = schedule_of(body)
    if schedule is None:
        return
    meta = body["metadata"]
    namespace, name = meta["namespace"], meta["name"]
    if not schedule.driven:
        if cron_next_run(body, schedule, now) is not None:
            refresh_next_run(namespace, name, schedule, now)
        return
    nothing_due = fire_fields(body, schedule, now, busy=False)[0] is None
    if nothing_due and not _unverified_start(body, now):
        return  # the usual tick: no API call
    busy = active_run(kube.api_client(), namespace, name)
    busy = busy or _finish_interrupted_start(body, busy, now)
    if nothing_due:
        return
    decided: list[Decision] = []

    def record(current_obj: dict[str, Any]) -> dict[str, Any] | None:
        decided.clear()
        fields, decision = fire_fields(current_obj, schedule, now, busy is not None)
        if decision is not None and fields and "lastFireTime" in fields:
            decided.append(decision)
        return fields

    if kube.update_status(kube.PROJECT, namespace, name, record) is None or not decided:
        return
    decision = decided[0]
    if decision.start is None:
        logger.info(
            "%s/%s skipped fire time %s: %s", namespace, name, decision.handled, decision.skipped
        )
        return
    _create(namespace, name, decision.start.at)


_verified: dict[tuple[str, str], str] = {}
"""Per (namespace, project): the last recorded Job seen to exist (or given up on)."""


def _unverified_start(body: Mapping[str, Any], now: datetime) -> bool:
    """Whether the last recorded start, still within its deadline, has not been seen."""
    status = body.get("status") or {}
    fired, job = _parse(status.get("lastFireTime")), status.get("lastFireJob")
    if fired is None or not job or now - fired > deadline_of(body.get("spec") or {}):
        return False
    meta = body["metadata"]
    return _verified.get((meta["namespace"], meta["name"])) != str(job)


def _finish_interrupted_start(
    body: Mapping[str, Any], busy: str | None, now: datetime
) -> str | None:
    """The Job recorded for the last fire time, created if a restart came between the
    status write and the create (only within the starting deadline, and never beside
    another run); its name when it was created now."""
    status = body.get("status") or {}
    fired, job = _parse(status.get("lastFireTime")), status.get("lastFireJob")
    if fired is None or not job or not _unverified_start(body, now):
        return None
    meta = body["metadata"]
    if busy is not None or kube.job_exists(meta["namespace"], job):
        _verified[meta["namespace"], meta["name"]] = str(job)
        return None  # it exists (active or finished), or another run is active
    _create(meta["namespace"], meta["name"], fired)
    return str(job)


def _create(namespace: str, project: str, fire_time: datetime) -> None:
    cronjob = kube.get_cronjob(namespace, cronjob_name(project))
    if cronjob is None:  # blocked meanwhile: its reconcile says why
        return
    job = build_scheduled_job(cronjob, fire_time)
    if kube.create_job(job):
        logger.info("started %s/%s for %s", namespace, job["metadata"]["name"], fire_time)


def refresh_next_run(
    namespace: str, name: str, schedule: EffectiveSchedule, now: datetime
) -> dict[str, Any] | None:
    """Move a plain cron's ``status.nextRunTime`` on, deciding on the project as it is."""
    return kube.update_status(
        kube.PROJECT, namespace, name, lambda obj: cron_next_run(obj, schedule, now)
    )


def _is_driven(body: kopf.Body, **_: Any) -> bool:
    return is_driven(body)


@kopf.timer(
    GROUP,
    VERSION,
    "integrationprojects",
    interval=TICK_SECONDS,
    initial_delay=1.0,
    when=_is_driven,
)
async def fire_due_runs(body: kopf.Body, **_: Any) -> None:
    """Every few seconds per driven project: start the run of a due fire time.

    Async, with the API work in a thread only when something is due: the usual tick is
    a few comparisons, not a hop through kopf's thread pool."""
    now = datetime.now(UTC)
    if has_work(body, now):
        await asyncio.to_thread(drive, body, now)


def forget(uid: str) -> None:
    """Drop a deleted project's parsed schedule."""
    _parsed.pop(uid, None)


def parse_time(value: object) -> datetime | None:
    """An RFC 3339 time from status (UTC when it has no zone), None when absent."""
    return _parse(value)


def _parse(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
