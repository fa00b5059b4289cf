"""Several schedules per project: one driver starts every fire time of each, never two
runs at once, each schedule with its own time zone, missed-run policy and deadline."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from syncline.api.project import IntegrationProjectSpec, MissedRunPolicy, Schedule
from syncline.controllers.cadence import expected_interval
from syncline.errors import SynclineError
from syncline.scheduling.cron_fires import CronFires, previous_run_time
from syncline.scheduling.recurrence import Skipped, decide
from syncline.scheduling.schedule import DRIVEN_CRON, resolve_schedules


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def spec(**fields: Any) -> IntegrationProjectSpec:
    return IntegrationProjectSpec.model_validate(
        {"connectionSetRef": {"name": "s"}, "tasks": [], "templateRef": {"name": "t"}, **fields}
    )


WEEKDAYS_AND_FORTNIGHT = [
    {"name": "weekdays", "cron": "0 6 * * 1-5", "timeZone": "Europe/Kyiv"},
    {
        "name": "fortnight",
        "every": 2,
        "unit": "weeks",
        "startTime": "2026-01-03T12:00:00Z",  # a Saturday
        "missedRunPolicy": "skip",
    },
]


def test_several_schedules_are_driven_together_and_the_earliest_fire_time_comes_next() -> None:
    project = spec(schedules=WEEKDAYS_AND_FORTNIGHT)
    resolved = resolve_schedules(project.named_schedules())
    assert resolved is not None
    assert resolved.driven
    assert resolved.cron == DRIVEN_CRON  # the CronJob is only the Jobs' template
    assert resolved.describe() == (
        "weekdays: 0 6 * * 1-5; fortnight: every 2 weeks from 2026-01-03T12:00:00Z"
    )
    # Friday 2026-01-16 after 06:00 Kyiv: the fortnight's Saturday noon comes first...
    assert resolved.next_run(utc(2026, 1, 16, 5)) == utc(2026, 1, 17, 12)
    # ...then Monday 06:00 in Kyiv (04:00 UTC in winter).
    assert resolved.next_run(utc(2026, 1, 17, 12)) == utc(2026, 1, 19, 4)


def test_the_due_fire_times_own_schedule_says_its_missed_run_policy() -> None:
    resolved = resolve_schedules(spec(schedules=WEEKDAYS_AND_FORTNIGHT).named_schedules())
    assert resolved is not None
    # The operator was down over the fortnight's Saturday noon (skip): nothing starts.
    late = decide(resolved.fires, since=utc(2026, 1, 16, 5), now=utc(2026, 1, 17, 18), busy=False)
    assert late.start is None
    assert late.skipped is Skipped.MISSED
    assert late.handled == utc(2026, 1, 17, 12)
    # Down over Monday 06:00 Kyiv (runOnce, the default): one catch-up run, named for it.
    monday = decide(resolved.fires, since=utc(2026, 1, 17, 12), now=utc(2026, 1, 19, 9), busy=False)
    assert monday.start is not None
    assert (monday.start.at, monday.start.schedule) == (utc(2026, 1, 19, 4), "weekdays")
    # A run still active when a fire time comes: skipped, never overlapped.
    busy = decide(resolved.fires, since=utc(2026, 1, 17, 12), now=utc(2026, 1, 19, 4), busy=True)
    assert (busy.start, busy.skipped) == (None, Skipped.OVERLAP)


def test_a_schedules_own_deadline_lets_a_late_start_through() -> None:
    patient = {
        "name": "patient",
        "cron": "0 * * * *",
        "startingDeadlineSeconds": 3600,
        "missedRunPolicy": "skip",
    }
    hasty = {"name": "hasty", "cron": "30 0 1 1 *", "missedRunPolicy": "skip"}
    resolved = resolve_schedules(spec(schedules=[patient, hasty]).named_schedules())
    assert resolved is not None
    started = decide(
        resolved.fires,
        since=utc(2026, 3, 1, 9),
        now=utc(2026, 3, 1, 10, 40),
        busy=False,
        deadline=timedelta(seconds=60),
    )
    assert started.start is not None
    assert started.start.at == utc(2026, 3, 1, 10)  # 40 minutes late, within its hour


def test_one_named_schedule_is_exactly_like_schedule() -> None:
    single = resolve_schedules(
        spec(schedules=[{"name": "nightly", "cron": "0 2 * * *"}]).named_schedules()
    )
    assert single is not None
    assert not single.driven  # a plain cron stays the CronJob's own schedule
    assert single.cron == "0 2 * * *"
    assert resolve_schedules(spec().named_schedules()) is None  # manual runs only


def test_schedule_and_schedules_exclude_each_other_and_names_are_unique() -> None:
    with pytest.raises(ValidationError, match="schedule or schedules, not both"):
        spec(schedule={"cron": "0 1 * * *"}, schedules=[{"name": "a", "cron": "0 2 * * *"}])
    with pytest.raises(ValidationError, match="unique"):
        spec(schedules=[{"name": "a", "cron": "0 1 * * *"}, {"name": "a", "cron": "0 2 * * *"}])
    with pytest.raises(ValidationError):
        spec(schedules=[{"name": "Not A Label", "cron": "0 1 * * *"}])


def test_a_bad_schedule_among_several_is_its_own_catalog_error() -> None:
    bad = spec(
        schedules=[{"name": "ok", "cron": "0 1 * * *"}, {"name": "bad", "cron": "0 0 30 2 *"}]
    )
    with pytest.raises(SynclineError) as err:
        resolve_schedules(bad.named_schedules())
    assert err.value.spec.code == 1601
    zone = spec(
        schedules=[
            {"name": "a", "cron": "0 1 * * *"},
            {"name": "b", "cron": "0 2 * * *", "timeZone": "Mars/Base"},
        ]
    )
    with pytest.raises(SynclineError) as err:
        resolve_schedules(zone.named_schedules())
    assert err.value.spec.code == 1603


def test_cron_fire_times_backwards_mirror_forwards_across_dst() -> None:
    kyiv = CronFires("30 3 * * *", "Europe/Kyiv")
    # 2026-03-29: 03:00-04:00 Kyiv does not exist, so 03:30 does not fire that day.
    assert kyiv.last_at_or_before(utc(2026, 3, 29, 12)) == utc(2026, 3, 28, 1, 30)
    assert kyiv.last_at_or_before(utc(2026, 3, 30, 0, 30)) == utc(2026, 3, 30, 0, 30)
    assert kyiv.next_after(utc(2026, 3, 28, 1, 30)) == utc(2026, 3, 30, 0, 30)
    # 2026-10-25: 03:30 Kyiv happens twice; it fires at the first (00:30 UTC) only.
    assert previous_run_time("30 3 * * *", "Europe/Kyiv", utc(2026, 10, 25, 1, 45)) == utc(
        2026, 10, 25, 0, 30
    )
    assert CronFires("0 0 30 2 *").last_at_or_before(utc(2026, 1, 1)) is None


def test_the_staleness_gauge_uses_the_shortest_wait_of_several_schedules() -> None:
    hourly = {"name": "hourly", "cron": "0 * * * *"}
    weekly = {"name": "weekly", "every": 1, "unit": "weeks"}
    assert expected_interval(spec(schedules=[weekly, hourly])) == 3600
    assert expected_interval(spec(schedules=[weekly, hourly], suspend=True)) is None


def test_schedules_in_the_model_keep_the_single_schedule_rules() -> None:
    with pytest.raises(ValidationError, match="startTime and blackouts go with every"):
        Schedule.model_validate(
            {"cron": "0 1 * * *", "blackouts": [{"start": "01:00", "end": "02:00"}]}
        )
    named = spec(
        schedules=[{"name": "a", "every": 7, "unit": "minutes", "missedRunPolicy": "skip"}]
    )
    assert named.schedules[0].missed_run_policy is MissedRunPolicy.SKIP
