"""Schedules cron cannot express, started by the operator at their exact fire times.

Every minute at second 30 is such a schedule (cron has no seconds), and a minute is short
enough to watch several fire times. Run pods never get going here (the test image is not
on the node), so a started Job stays active: exactly what the no-overlap rule needs.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from syncline.devcluster.databases import DatabaseAccess
from syncline.scheduling.scheduled_job import SCHEDULED_TIME_ANNOTATION
from tests.integration.operator.conftest import make_world, project_spec
from tests.integration.operator.harness import Cluster, OperatorProcess, wait_for

pytestmark = pytest.mark.integration
CRASHING_SCHEDULER = Path(__file__).with_name("crashing_scheduler.py")
AT_SECOND_30 = {"every": 1, "unit": "minutes", "startTime": "2026-01-01T00:00:30Z"}


def _status(cluster: Cluster, project: str = "exact") -> dict[str, Any]:
    return cluster.get("integrationprojects", project).get("status") or {}


def _jobs(cluster: Cluster, project: str = "exact") -> dict[str, dict[str, Any]]:
    listing = cluster.batch.list_namespaced_job(
        cluster.namespace, label_selector=f"syncline.dev/project={project}"
    )
    jobs: list[dict[str, Any]] = cluster.api.sanitize_for_serialization(listing.items)
    return {j["metadata"]["name"]: j for j in jobs if not j["metadata"].get("deletionTimestamp")}


def _time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def test_exact_fire_times_survive_a_restart_between_record_and_start_and_never_overlap(
    cluster: Cluster,
    warehouse: DatabaseAccess,
    start_operator: Callable[..., OperatorProcess],
) -> None:
    crashing = start_operator(entry=[sys.executable, str(CRASHING_SCHEDULER)])
    make_world(cluster, warehouse)
    cluster.create(
        "integrationprojects", "exact", project_spec(schedule=AT_SECOND_30), "IntegrationProject"
    )
    wait_for(crashing.exited, 120, "the operator to die right after recording a fire time")
    recorded = _status(cluster)
    first = _time(recorded["lastFireTime"])
    assert first.second == 30
    assert recorded["schedule"] == "every 1 minutes from 2026-01-01T00:00:30Z"
    assert _jobs(cluster) == {}  # it died before creating the Job

    start_operator()
    job = wait_for(lambda: _jobs(cluster).get(recorded["lastFireJob"]), 60, "the recorded Job")
    assert job["metadata"]["annotations"][SCHEDULED_TIME_ANNOTATION] == recorded["lastFireTime"]
    assert job["metadata"]["ownerReferences"][0]["kind"] == "CronJob"
    assert (cluster.cronjob("exact") or {})["spec"]["suspend"] is True  # only a template

    # The next fire time comes while that run is still active: skipped, not overlapped.
    second = first + timedelta(minutes=1)
    skipped = f"{second.strftime('%Y-%m-%dT%H:%M:%SZ')} Overlap"
    wait_for(lambda: _status(cluster).get("lastSkippedFire") == skipped, 90, skipped)
    assert list(_jobs(cluster)) == [recorded["lastFireJob"]]

    # Once the run is gone, the following fire time starts, on the same cadence.
    cluster.batch.delete_namespaced_job(
        recorded["lastFireJob"], cluster.namespace, propagation_policy="Background"
    )
    later = wait_for(
        lambda: [j for n, j in _jobs(cluster).items() if n != recorded["lastFireJob"]],
        90,
        "the Job of a later fire time",
    )
    assert len(later) == 1
    fired = _time(later[0]["metadata"]["annotations"][SCHEDULED_TIME_ANNOTATION])
    assert fired.second == 30
    assert fired - first >= timedelta(minutes=2)
    assert (fired - first) % timedelta(minutes=1) == timedelta(0)
    status = _status(cluster)
    assert _time(status["lastFireTime"]) == fired
    assert _time(status["nextRunTime"]) == fired + timedelta(minutes=1)


def test_several_schedules_fire_a_fortnightly_run_and_respect_a_blackout(
    cluster: Cluster,
    warehouse: DatabaseAccess,
    start_operator: Callable[..., OperatorProcess],
) -> None:
    """Every 2 weeks, anchored so that a fire time comes within a minute; beside it, a
    daily schedule whose first fire time falls in a blackout and a yearly cron. The
    fortnight's run starts at its time; after it the next run is the daily one's second
    day, not its blacked-out first."""
    start_operator()
    make_world(cluster, warehouse)
    fire = (datetime.now(UTC) + timedelta(seconds=45)).replace(microsecond=0)
    quiet = fire + timedelta(hours=1)
    window_start = quiet - timedelta(minutes=5)
    spec = project_spec()
    del spec["schedule"]
    spec["schedules"] = [
        {
            "name": "fortnight",
            "every": 2,
            "unit": "weeks",
            "startTime": _z(fire - timedelta(weeks=2)),
        },
        {
            "name": "daily",
            "every": 1,
            "unit": "days",
            "startTime": _z(quiet),
            "blackouts": [
                {
                    "start": window_start.strftime("%H:%M"),
                    "end": (quiet + timedelta(minutes=5)).strftime("%H:%M"),
                    "days": [window_start.strftime("%a").lower()],
                }
            ],
        },
        {"name": "new-year", "cron": "0 0 1 1 *", "timeZone": "Europe/Kyiv"},
    ]
    cluster.create("integrationprojects", "several", spec, "IntegrationProject")

    status = wait_for(
        lambda: (s := _status(cluster, "several")).get("nextRunTime") and s, 60, "a next run time"
    )
    assert _time(status["nextRunTime"]) == fire
    assert status["schedule"] == (
        f"fortnight: every 2 weeks from {_z(fire - timedelta(weeks=2))}; "
        f"daily: every 1 days from {_z(quiet)}; new-year: 0 0 1 1 *"
    )
    job = wait_for(lambda: next(iter(_jobs(cluster, "several").values()), None), 120, "its Job")
    assert job["metadata"]["annotations"][SCHEDULED_TIME_ANNOTATION] == _z(fire)
    after = wait_for(
        lambda: (s := _status(cluster, "several")).get("lastFireTime") == _z(fire) and s,
        60,
        "the fire time recorded",
    )
    assert _time(after["nextRunTime"]) == quiet + timedelta(days=1)  # not quiet: blacked out
    assert list(_jobs(cluster, "several")) == [after["lastFireJob"]]


def _z(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_a_plain_crons_next_run_time_moves_on_once_it_has_passed(
    cluster: Cluster,
    warehouse: DatabaseAccess,
    start_operator: Callable[..., OperatorProcess],
) -> None:
    """No timer per project: one loop moves every plain cron's nextRunTime on."""
    start_operator()
    make_world(cluster, warehouse)
    every_minute = {"every": 1, "unit": "minutes"}
    cluster.create(
        "integrationprojects", "cron", project_spec(schedule=every_minute), "IntegrationProject"
    )
    first = _time(wait_for(lambda: _status(cluster, "cron").get("nextRunTime"), 90, "a time"))
    assert not (cluster.cronjob("cron") or {})["spec"].get("suspend")  # the CronJob fires
    moved = wait_for(
        lambda: (t := _status(cluster, "cron").get("nextRunTime")) and _time(t) > first and t,
        120,
        "the next run time after the first one passed",
    )
    assert _time(moved) - first == timedelta(minutes=1)
