"""Quota and crash safety: the operator converges from whatever state it finds."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from syncline.devcluster.databases import DatabaseAccess
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
