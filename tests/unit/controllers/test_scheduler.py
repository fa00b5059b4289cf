"""The operator-driven schedule's status decisions, on a controllable clock."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from syncline.controllers import scheduler
from syncline.controllers.scheduler import cron_next_run, driven_schedule, fire_fields
from syncline.scheduling.schedule import EffectiveSchedule

SPEC: dict[str, Any] = {
    "connectionSetRef": {"name": "pair"},
    "templateRef": {"name": "t"},
    "schedule": {"every": 7, "unit": "minutes", "startTime": "2026-01-01T00:00:30Z"},
}
T0 = datetime(2026, 1, 1, 0, 0, 30, tzinfo=UTC)


def _project(status: dict[str, Any], spec: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "metadata": {
            "name": "orders",
            "namespace": "team-a",
            "generation": 2,
            "creationTimestamp": "2025-12-31T00:00:00Z",
        },
        "spec": spec or SPEC,
        "status": {"observedGeneration": 2, "nextRunTime": "2026-01-01T00:07:30Z", **status},
    }


def _schedule(spec: dict[str, Any] | None = None) -> EffectiveSchedule:
    schedule = driven_schedule(spec or SPEC)
    assert schedule is not None
    return schedule


def test_only_schedules_cron_cannot_express_are_driven() -> None:
    assert driven_schedule(SPEC) is not None
    assert driven_schedule({**SPEC, "schedule": {"every": 15, "unit": "minutes"}}) is None
    assert driven_schedule({**SPEC, "schedule": None}) is None
    assert (
        driven_schedule({**SPEC, "schedule": {"every": 7, "unit": "minutes", "timeZone": "X/Y"}})
        is None
    )


def test_a_due_fire_time_is_recorded_with_its_job_before_the_job_exists() -> None:
    now = T0 + timedelta(minutes=7, seconds=2)
    fields, decision = fire_fields(
        _project({"lastFireTime": "2026-01-01T00:00:30Z"}), _schedule(), now, False
    )
    assert decision is not None
    assert decision.start is not None
    assert fields == {
        "lastFireTime": "2026-01-01T00:07:30Z",
        "lastFireJob": f"orders-{int((T0 + timedelta(minutes=7)).timestamp()) // 60}",
        "nextRunTime": "2026-01-01T00:14:30Z",
    }


def test_a_fire_time_already_recorded_is_not_started_again() -> None:
    now = T0 + timedelta(minutes=7, seconds=7)
    recorded = {"lastFireTime": "2026-01-01T00:07:30Z", "nextRunTime": "2026-01-01T00:14:30Z"}
    fields, decision = fire_fields(_project(recorded), _schedule(), now, False)
    assert fields is None
    assert decision is not None
    assert decision.start is None


def test_an_active_run_skips_the_fire_time_and_says_so() -> None:
    now = T0 + timedelta(minutes=7, seconds=2)
    fields, _ = fire_fields(
        _project({"lastFireTime": "2026-01-01T00:00:30Z"}), _schedule(), now, True
    )
    assert fields is not None
    assert fields["lastFireJob"] is None
    assert fields["lastSkippedFire"] == "2026-01-01T00:07:30Z Overlap"


def test_after_downtime_the_policy_decides() -> None:
    now = T0 + timedelta(hours=3, minutes=1)  # the last fire time was 6 minutes ago
    downtime = _project({"lastFireTime": "2026-01-01T00:00:30Z"})
    once, decision = fire_fields(downtime, _schedule(), now, False)
    assert once is not None
    assert decision is not None
    assert decision.start is not None  # one catch-up run for the 25 missed fire times
    skip_spec = {**SPEC, "schedule": {**SPEC["schedule"], "missedRunPolicy": "skip"}}
    skipped, _ = fire_fields(
        _project({"lastFireTime": "2026-01-01T00:00:30Z"}, skip_spec),
        _schedule(skip_spec),
        now,
        False,
    )
    assert skipped is not None
    assert skipped["lastFireJob"] is None
    assert skipped["lastSkippedFire"].endswith("Missed")


def test_a_project_held_blocked_suspended_or_not_yet_reconciled_never_fires() -> None:
    now = T0 + timedelta(minutes=7, seconds=2)
    held = _project({"lastFireTime": "2026-01-01T00:00:30Z", "nextRunTime": None})
    passed = {"lastFireTime": "2026-01-01T00:07:30Z", "lastFireJob": None}
    assert fire_fields(held, _schedule(), now, False) == (passed, None)  # resuming: no catch-up
    held["status"] |= passed
    assert fire_fields(held, _schedule(), now, False) == (None, None)
    stale = _project({"lastFireTime": "2026-01-01T00:00:30Z", "observedGeneration": 1})
    assert fire_fields(stale, _schedule(), now, False) == (None, None)


def test_a_new_project_does_not_catch_up_on_fire_times_before_it_existed() -> None:
    now = T0 + timedelta(days=30, seconds=2)  # the anchor is a month old
    new = _project({})
    new["metadata"]["creationTimestamp"] = "2026-01-31T00:05:00Z"
    fields, decision = fire_fields(new, _schedule(), now, False)
    assert decision is not None
    assert decision.start is None
    assert fields is not None
    assert set(fields) == {"nextRunTime"}


class FakeCluster:
    """The few API calls a tick makes, against one project held in memory."""

    def __init__(self, project: dict[str, Any]) -> None:
        self.project, self.calls = project, 0
        self.jobs: dict[str, bool] = {}  # name -> active

    def update_status(self, kind: Any, namespace: str, name: str, decide: Any) -> Any:
        self.calls += 1
        fields = decide(copy.deepcopy(self.project))
        if fields is None:
            return None
        self.project["status"] = {**self.project["status"], **fields}
        return self.project

    def active_run(self, api: Any, namespace: str, project: str) -> str | None:
        self.calls += 1
        return next((name for name, active in self.jobs.items() if active), None)

    def job_exists(self, namespace: str, name: str) -> bool:
        self.calls += 1
        return name in self.jobs

    def get_cronjob(self, namespace: str, name: str) -> dict[str, Any]:
        spec = {"jobTemplate": {"metadata": {"labels": {}}, "spec": {"template": {}}}}
        return {"metadata": {"name": name, "namespace": namespace}, "spec": spec}

    def create_job(self, manifest: dict[str, Any]) -> bool:
        name = manifest["metadata"]["name"]
        created = name not in self.jobs
        self.jobs[name] = True
        return created


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> FakeCluster:
    cluster = FakeCluster(_project({"lastFireTime": "2026-01-01T00:00:30Z"}))
    for name in ("update_status", "job_exists", "get_cronjob", "create_job"):
        monkeypatch.setattr(scheduler.kube, name, getattr(cluster, name))
    monkeypatch.setattr(scheduler.kube, "api_client", lambda: None)
    monkeypatch.setattr(scheduler, "active_run", cluster.active_run)
    monkeypatch.setattr(scheduler, "_verified", {})
    return cluster


def test_ticks_start_each_fire_time_once_and_idle_ticks_call_no_api(fake: FakeCluster) -> None:
    now = T0 + timedelta(minutes=6)
    scheduler.drive(fake.project, now)
    assert fake.calls == 0  # nothing due: the cached object says so
    for seconds in range(60, 130, 5):  # 00:07:30 due from the first of these ticks on
        scheduler.drive(fake.project, now + timedelta(seconds=seconds))
    assert list(fake.jobs) == [fake.project["status"]["lastFireJob"]]
    assert fake.project["status"]["lastFireTime"] == "2026-01-01T00:07:30Z"


def test_a_restart_between_recording_and_creating_creates_the_job_once(
    fake: FakeCluster,
) -> None:
    job = f"orders-{int((T0 + timedelta(minutes=7)).timestamp()) // 60}"
    fake.project["status"] |= {"lastFireTime": "2026-01-01T00:07:30Z", "lastFireJob": job}
    later = T0 + timedelta(minutes=8)  # the operator is back 30 s after it recorded
    scheduler.drive(fake.project, later)
    scheduler.drive(fake.project, later + timedelta(seconds=5))
    assert list(fake.jobs) == [job]
    fake.jobs[job] = False  # it ran and finished; the next fire time starts a new one
    scheduler.drive(fake.project, T0 + timedelta(minutes=14, seconds=1))
    assert len(fake.jobs) == 2


def test_a_recorded_start_found_too_late_is_not_started(fake: FakeCluster) -> None:
    job = f"orders-{int((T0 + timedelta(minutes=7)).timestamp()) // 60}"
    fake.project["status"] |= {"lastFireTime": "2026-01-01T00:07:30Z", "lastFireJob": job}
    scheduler.drive(fake.project, T0 + timedelta(minutes=13))  # 6 minutes later
    assert fake.jobs == {}


def test_a_cron_job_schedules_next_run_time_moves_on_once_it_has_passed() -> None:
    every15 = {**SPEC, "schedule": {"every": 15, "unit": "minutes"}}
    schedule = scheduler.effective_schedule(every15)
    assert schedule is not None
    project = _project({"nextRunTime": "2026-01-01T00:15:00Z"}, every15)
    assert cron_next_run(project, schedule, datetime(2026, 1, 1, 0, 14, tzinfo=UTC)) is None
    passed = datetime(2026, 1, 1, 0, 15, 1, tzinfo=UTC)
    assert cron_next_run(project, schedule, passed) == {"nextRunTime": "2026-01-01T00:30:00Z"}
    suspended = _project({"nextRunTime": None}, every15)
    assert cron_next_run(suspended, schedule, passed) is None
