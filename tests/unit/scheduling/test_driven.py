"""Schedules cron cannot express: resolved to an exact recurrence the operator drives."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from syncline.api.project import MissedRunPolicy, RecurrenceUnit, Schedule
from syncline.errors import SynclineError
from syncline.scheduling.cronjob import (
    CredentialSource,
    EngineSettings,
    ProjectIdentity,
    build_cronjob,
)
from syncline.scheduling.recurrence import Recurrence
from syncline.scheduling.schedule import DRIVEN_CRON, resolve_schedule
from syncline.scheduling.scheduled_job import (
    SCHEDULED_TIME_ANNOTATION,
    build_scheduled_job,
    scheduled_job_name,
)
from tests.unit.scheduling.test_cronjob import _spec

U = RecurrenceUnit
PROJECT = ProjectIdentity(name="orders-sync", namespace="team-a", uid="uid-123")
ENGINE = EngineSettings(image="registry.local/syncline:1.0", service_account="syncline-engine")
CREDENTIALS = [CredentialSource(alias="crm", secret_name="crm-token", keys=("token",))]


def test_what_cron_expresses_exactly_stays_a_cron_job() -> None:
    plain = resolve_schedule(Schedule(every=15, unit=U.MINUTES))
    assert plain.cron == "*/15 * * * *"
    assert not plain.driven


@pytest.mark.parametrize(
    ("every", "unit"),
    [(7, U.MINUTES), (90, U.MINUTES), (5, U.HOURS), (2, U.DAYS), (2, U.WEEKS), (5, U.MONTHS)],
)
def test_what_cron_cannot_express_is_driven_not_rejected(every: int, unit: RecurrenceUnit) -> None:
    schedule = resolve_schedule(Schedule(every=every, unit=unit, time_zone="Europe/Kyiv"))
    assert schedule.driven
    assert schedule.cron == DRIVEN_CRON
    assert schedule.missed_run_policy is MissedRunPolicy.RUN_ONCE
    assert schedule.describe().startswith(f"every {every} {unit.value} from ")


def test_a_start_time_blackout_or_policy_makes_even_a_cron_schedule_exact() -> None:
    anchored = Schedule(every=1, unit=U.MINUTES, start_time=datetime(2026, 1, 1, 0, 0, 30))
    resolved = resolve_schedule(anchored)
    (recurrence,) = resolved.fires
    assert isinstance(recurrence, Recurrence)
    assert recurrence.anchor == datetime(2026, 1, 1, 0, 0, 30, tzinfo=UTC)
    assert resolved.describe() == "every 1 minutes from 2026-01-01T00:00:30Z"
    quiet = Schedule.model_validate(
        {"every": 1, "unit": "hours", "blackouts": [{"start": "09:00", "end": "17:00"}]}
    )
    assert resolve_schedule(quiet).driven
    skip = Schedule.model_validate({"every": 1, "unit": "hours", "missedRunPolicy": "skip"})
    assert resolve_schedule(skip).missed_run_policy is MissedRunPolicy.SKIP


def test_without_start_time_the_calendar_phase_of_cron_is_kept() -> None:
    fortnight = resolve_schedule(Schedule(every=2, unit=U.WEEKS, time_zone="Europe/Kyiv"))
    (recurrence,) = fortnight.fires
    assert isinstance(recurrence, Recurrence)
    upcoming = recurrence.next_after(datetime(2026, 5, 1, tzinfo=UTC))
    assert upcoming is not None
    local = upcoming.astimezone(recurrence.anchor.tzinfo)
    assert (local.weekday(), local.hour, local.minute) == (0, 0, 0)  # a Monday midnight
    five = resolve_schedule(Schedule(every=5, unit=U.MONTHS))
    assert five.next_run(datetime(2026, 5, 1, tzinfo=UTC)) == datetime(
        2026, 9, 1, tzinfo=UTC
    )  # 2000-01-01 + 320 months


def test_blackouts_that_leave_no_time_never_run() -> None:
    always = Schedule.model_validate(
        {
            "every": 1,
            "unit": "hours",
            "blackouts": [{"start": "00:00", "end": "12:00"}, {"start": "12:00", "end": "00:00"}],
        }
    )
    with pytest.raises(SynclineError) as caught:
        resolve_schedule(always)
    assert caught.value.code == 1601


@pytest.mark.parametrize(
    "bad",
    [
        {"cron": "0 * * * *", "startTime": "2026-01-01T00:00:00Z"},
        {"cron": "0 * * * *", "blackouts": [{"start": "01:00", "end": "02:00"}]},
        {"every": 1, "unit": "hours", "blackouts": [{"start": "01:00", "end": "01:00"}]},
        {"every": 1, "unit": "hours", "blackouts": [{"start": "1:00", "end": "02:00"}]},
        {"every": 1, "unit": "hours", "blackouts": [{"start": "01:00", "end": "2", "days": []}]},
        {"every": 1, "unit": "hours", "missedRunPolicy": "storm"},
    ],
)
def test_the_api_refuses_what_it_cannot_honour(bad: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        Schedule.model_validate(bad)


def test_a_driven_project_keeps_its_cron_job_suspended_as_the_job_template() -> None:
    every7 = resolve_schedule(Schedule(every=7, unit=U.MINUTES))
    cronjob = build_cronjob(PROJECT, _spec(), every7, CREDENTIALS, ENGINE)
    assert cronjob["spec"]["suspend"] is True
    assert cronjob["spec"]["concurrencyPolicy"] == "Forbid"


def test_the_scheduled_job_is_named_by_its_fire_time_and_owned_by_the_cron_job() -> None:
    every7 = resolve_schedule(Schedule(every=7, unit=U.MINUTES))
    cronjob = build_cronjob(PROJECT, _spec(), every7, CREDENTIALS, ENGINE)
    cronjob["metadata"]["uid"] = "cj-uid"
    fire = datetime(2026, 1, 1, 0, 7, 30, tzinfo=UTC)
    job = build_scheduled_job(cronjob, fire)
    minutes = int(fire.timestamp()) // 60
    assert (
        job["metadata"]["name"]
        == f"orders-sync-{minutes}"
        == scheduled_job_name("orders-sync", fire)
    )
    assert job["metadata"]["annotations"][SCHEDULED_TIME_ANNOTATION] == "2026-01-01T00:07:30Z"
    owner = job["metadata"]["ownerReferences"][0]
    assert (owner["kind"], owner["uid"], owner["controller"]) == ("CronJob", "cj-uid", True)
    assert "syncline.dev/trigger" not in job["metadata"]["labels"]  # schedule, or retry
    assert job["spec"] == cronjob["spec"]["jobTemplate"]["spec"]
    assert (
        build_scheduled_job(cronjob, fire + timedelta(minutes=7))["metadata"]["name"]
        != (job["metadata"]["name"])
    )
