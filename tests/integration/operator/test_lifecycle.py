"""From YAML to a running schedule: Ready objects, the CronJob, edits, drift and deletion."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable

import pytest

from syncline.devcluster.databases import DatabaseAccess, free_port
from tests.integration.operator.conftest import CANARY, make_world, project_spec
from tests.integration.operator.harness import Cluster, OperatorProcess, wait_for

pytestmark = pytest.mark.integration


def test_project_becomes_a_restricted_cronjob_and_follows_edits(
    cluster: Cluster,
    warehouse: DatabaseAccess,
    start_operator: Callable[..., OperatorProcess],
) -> None:
    port = free_port()
    operator = start_operator(SYNCLINE_LIVENESS_ENDPOINT=f"http://127.0.0.1:{port}/healthz")
    make_world(cluster, warehouse)
    cluster.create("integrationprojects", "sync", project_spec(), "IntegrationProject")

    connection = cluster.wait_ready("connections", "crm")
    assert connection["reason"] == "Connected"
    crm = cluster.get("connections", "crm")["status"]
    assert {"crm_customers", "dwh_orders"} <= {e["name"] for e in crm["entities"]}
    assert crm["entityCount"] >= 4
    cluster.wait_ready("connectionsets", "pair")
    assert cluster.get("connectionsets", "pair")["status"]["environments"] == (
        "production -> staging"
    )
    ready = cluster.wait_ready("integrationprojects", "sync")
    assert ready["reason"] == "Scheduled"
    assert wait_for(lambda: _healthz(port) == 200, what="liveness endpoint answers")

    status = cluster.get("integrationprojects", "sync")["status"]
    assert status["cronJobRef"] == {"name": "sync"}
    assert status["schedule"] == "*/15 * * * *"
    assert status["nextRunTime"].endswith(("00:00Z", "15:00Z", "30:00Z", "45:00Z"))
    cronjob = cluster.cronjob("sync")
    assert cronjob is not None
    spec = cronjob["spec"]
    assert (spec["schedule"], spec["timeZone"], spec["concurrencyPolicy"]) == (
        "*/15 * * * *",
        "Europe/Kyiv",
        "Forbid",
    )
    owner = cronjob["metadata"]["ownerReferences"][0]
    project_uid = cluster.get("integrationprojects", "sync")["metadata"]["uid"]
    assert (owner["kind"], owner["uid"], owner["controller"]) == (
        "IntegrationProject",
        project_uid,
        True,
    )
    pod = spec["jobTemplate"]["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert container["securityContext"]["capabilities"]["drop"] == ["ALL"]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    env = {e["name"]: e for e in container["env"]}
    assert env["SYNCLINE_CRED_CRM_PASSWORD"]["valueFrom"]["secretKeyRef"] == {
        "name": "db-creds",
        "key": "password",
    }

    # Editing the schedule updates the CronJob.
    new_schedule = {"cron": "0 6 * * 1-5", "every": None, "unit": None}
    cluster.patch_spec("integrationprojects", "sync", {"schedule": new_schedule})
    wait_for(
        lambda: (cluster.cronjob("sync") or {}).get("spec", {}).get("schedule") == "0 6 * * 1-5",
        what="CronJob schedule updated",
    )

    # A hand edit is reverted.
    cluster.batch.patch_namespaced_cron_job(
        "sync", cluster.namespace, {"spec": {"schedule": "* * * * *", "suspend": True}}
    )
    wait_for(
        lambda: (
            (cluster.cronjob("sync") or {}).get("spec", {}).get("schedule") == "0 6 * * 1-5"
            and cluster.cronjob("sync")["spec"]["suspend"] is False
        ),  # type: ignore[index]
        what="hand edit reverted",
    )

    # Deleting the project removes the CronJob (garbage collection via the owner reference).
    cluster.delete("integrationprojects", "sync")
    wait_for(lambda: cluster.cronjob("sync") is None, 90, "CronJob garbage-collected")

    # The canary password never left the Secret.
    statuses = [
        cluster.get(plural, name).get("status")
        for plural, name in (
            ("connections", "crm"),
            ("connections", "dwh"),
            ("connectionsets", "pair"),
        )
    ]
    assert CANARY not in json.dumps(statuses)
    assert CANARY not in json.dumps(cluster.events(), default=str)
    assert CANARY not in operator.text()
    reasons = {e["reason"] for e in cluster.events()}
    assert {"Connected", "ConnectionsReady", "Scheduled"} <= reasons


def _healthz(port: int) -> int | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as answer:
            return int(answer.status)
    except (urllib.error.URLError, ConnectionError):
        return None
