"""Quota and crash safety: the operator converges from whatever state it finds."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from syncline.api.run import IntegrationRunStatus, RunResult, Trigger
from syncline.devcluster.databases import DatabaseAccess
from syncline.kube.runrecord import RunRecord
from tests.fixtures.cluster import ControlPlane
from tests.integration.operator.conftest import make_world, project_spec
from tests.integration.operator.harness import Cluster, OperatorProcess, wait_for

pytestmark = pytest.mark.integration
CRASHING_OPERATOR = Path(__file__).with_name("crashing_operator.py")


def _project_cronjobs(cluster: Cluster) -> list[dict[str, Any]]:
    return [c for c in cluster.cronjobs() if "syncline.dev/project" in c["metadata"]["labels"]]


def test_quota_refuses_the_extra_scheduled_project_until_a_slot_frees(
    cluster: Cluster,
    warehouse: DatabaseAccess,
    start_operator: Callable[..., OperatorProcess],
) -> None:
    start_operator(SYNCLINE_SCHEDULED_PROJECT_QUOTA="2")
    make_world(cluster, warehouse)
    for name in ("first", "second"):
        cluster.create("integrationprojects", name, project_spec(), "IntegrationProject")
        cluster.wait_ready("integrationprojects", name)
    cluster.create("integrationprojects", "third", project_spec(), "IntegrationProject")
    message = cluster.wait_reason("integrationprojects", "third", "ScheduledProjectQuotaExceeded")
    assert str(message["message"]).startswith("2502 ScheduledProjectQuotaExceeded")
    assert cluster.cronjob("third") is None

    manual = project_spec()
    del manual["schedule"]
    cluster.create("integrationprojects", "manual", manual, "IntegrationProject")
    assert cluster.wait_ready("integrationprojects", "manual")["reason"] == "ManualOnly"
    assert cluster.get("integrationprojects", "manual")["status"]["schedule"] == "manual"
    assert (cluster.cronjob("manual") or {})["spec"]["suspend"] is True

    cluster.delete("integrationprojects", "first")
    cluster.wait_ready("integrationprojects", "third", timeout=60)
    wait_for(lambda: cluster.cronjob("third"), what="CronJob of the admitted project")


def test_operator_killed_after_creating_the_cronjob_converges_on_restart(
    cluster: Cluster,
    warehouse: DatabaseAccess,
    start_operator: Callable[..., OperatorProcess],
) -> None:
    crashing = start_operator(entry=[sys.executable, str(CRASHING_OPERATOR)])
    make_world(cluster, warehouse)
    cluster.create("integrationprojects", "sync", project_spec(), "IntegrationProject")
    wait_for(crashing.exited, timeout=60, what="operator to die after applying the CronJob")
    assert cluster.cronjob("sync") is not None
    stale = cluster.ready("integrationprojects", "sync")  # from before the CronJob, if any
    assert stale is None or stale["status"] == "False"
    assert "cronJobRef" not in (cluster.get("integrationprojects", "sync").get("status") or {})

    start_operator()
    ready = cluster.wait_ready("integrationprojects", "sync", timeout=60)
    assert ready["reason"] == "Scheduled"
    status = cluster.get("integrationprojects", "sync")["status"]
    assert status["cronJobRef"] == {"name": "sync"}
    assert status["nextRunTime"]
    assert [c["metadata"]["name"] for c in _project_cronjobs(cluster)] == ["sync"]


def test_operator_resumes_after_the_api_server_is_killed_and_misses_no_run(
    cluster: Cluster,
    warehouse: DatabaseAccess,
    start_operator: Callable[..., OperatorProcess],
    control_plane: ControlPlane,
    kube_api: client.ApiClient,
) -> None:
    assert control_plane.environment is not None, "needs the embedded control plane"
    planes = control_plane.environment.control_plane
    assert planes is not None
    operator = start_operator()
    make_world(cluster, warehouse)
    cluster.create("integrationprojects", "before", project_spec(), "IntegrationProject")
    cluster.wait_ready("integrationprojects", "before")
    # A run under way when the API server dies (the engine's own record of it).
    run = RunRecord(kube_api, cluster.namespace, "before-1", "before", Trigger.MANUAL)
    run.ensure(cluster.get("integrationprojects", "before")["metadata"]["uid"], None)
    run.started()

    planes.restart_apiserver()  # SIGKILL: every watch stream of the operator breaks

    # The run finishes right after the restart, while the operator's watches reconnect.
    run.finished(IntegrationRunStatus(result=RunResult.COMPLETED, read=3, inserted=3))
    last = wait_for(
        lambda: (cluster.get("integrationprojects", "before").get("status") or {}).get("lastRun"),
        90,
        "the run that finished across the restart to reach its project",
    )
    assert (last["name"], last["result"]) == ("before-1", "Completed")
    # New work after the restart is reconciled as before.
    cluster.create("integrationprojects", "after", project_spec(), "IntegrationProject")
    cluster.wait_ready("integrationprojects", "after", timeout=90)
    assert cluster.cronjob("after") is not None
    cron = (cluster.cronjob("before") or {})["spec"]["schedule"]
    cluster.patch_spec("integrationprojects", "before", {"schedule": {"every": 2, "unit": "hours"}})
    wait_for(
        lambda: (
            (cluster.cronjob("before") or {}).get("spec", {}).get("schedule") not in (None, cron)
        ),
        90,
        "the changed schedule to reach the CronJob",
    )
    assert not operator.exited(), operator.text()[-2000:]


def test_hundreds_of_missed_schedules_start_one_run_not_a_storm(
    cluster: Cluster,
    warehouse: DatabaseAccess,
    start_operator: Callable[..., OperatorProcess],
) -> None:
    start_operator()
    make_world(cluster, warehouse)
    spec = project_spec(schedule={"every": 1, "unit": "minutes"}, suspend=True)
    cluster.create("integrationprojects", "often", spec, "IntegrationProject")
    cluster.wait_ready("integrationprojects", "often")
    # The cluster was down for three hours: 180 schedules missed.
    while datetime.now(UTC).second > 15:  # leave most of a minute to count in
        time.sleep(1)
    three_hours_ago = (datetime.now(UTC) - timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M:%SZ")
    cluster.batch.patch_namespaced_cron_job_status(
        "often", cluster.namespace, {"status": {"lastScheduleTime": three_hours_ago}}
    )
    cluster.patch_spec("integrationprojects", "often", {"suspend": False})

    wait_for(lambda: cluster.batch.list_namespaced_job(cluster.namespace).items, 30, "a Job")
    time.sleep(10)  # a storm would show here
    jobs = cluster.batch.list_namespaced_job(cluster.namespace).items
    assert len(jobs) == 1, [j.metadata.name for j in jobs]
    # ... and it is the latest missed time, not the oldest one replayed.
    scheduled = jobs[0].metadata.annotations["batch.kubernetes.io/cronjob-scheduled-timestamp"]
    age = datetime.now(UTC) - datetime.fromisoformat(scheduled)
    assert age < timedelta(minutes=2), scheduled
