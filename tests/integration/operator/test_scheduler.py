"""Schedules cron cannot express, started by the operator at their exact fire times.

Every minute at second 30 is such a schedule (cron has no seconds), and a minute is short
enough to watch several fire times. Run pods never get going here (the test image is not
on the node), so a started Job stays active: exactly what the no-overlap rule needs.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import datetime, timedelta
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


def _status(cluster: Cluster) -> dict[str, Any]:
    return cluster.get("integrationprojects", "exact").get("status") or {}


def _jobs(cluster: Cluster) -> dict[str, dict[str, Any]]:
    listing = cluster.batch.list_namespaced_job(
        cluster.namespace, label_selector="syncline.dev/project=exact"
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
