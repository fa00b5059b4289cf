"""Runs requested in the cluster: an IntegrationRun created with kubectl (or by Argo CD or
Flux) and the project's full-refresh annotation. The run pods never get going here (the
test image is not on the node), so a started Job stays active: what is checked is what the
operator starts and records (the engine's side is in tests/e2e/test_requests.py)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from syncline.devcluster.databases import DatabaseAccess
from syncline.scheduling.cronjob import is_full_refresh
from tests.integration.operator.conftest import make_world, project_spec
from tests.integration.operator.harness import GROUP, VERSION, Cluster, OperatorProcess, wait_for

pytestmark = pytest.mark.integration


def _ready_project(cluster: Cluster, warehouse: DatabaseAccess) -> None:
    make_world(cluster, warehouse)
    cluster.create("integrationprojects", "sync", project_spec(), "IntegrationProject")
    cluster.wait_ready("integrationprojects", "sync", timeout=90)


def _job(cluster: Cluster, name: str) -> dict[str, Any]:
    job = cluster.batch.read_namespaced_job(name, cluster.namespace)
    result: dict[str, Any] = cluster.api.sanitize_for_serialization(job)
    return result


def _finished(cluster: Cluster, run: str) -> dict[str, Any] | None:
    status = cluster.get("integrationruns", run).get("status") or {}
    return status if status.get("result") in ("Completed", "Warning", "Error") else None


def test_a_created_run_starts_its_job_and_an_overlapping_one_ends_1670(
    cluster: Cluster, warehouse: DatabaseAccess, start_operator: Callable[..., OperatorProcess]
) -> None:
    start_operator()
    _ready_project(cluster, warehouse)
    request = {"projectRef": {"name": "sync"}, "fullRefresh": True}
    cluster.create("integrationruns", "reload", request, "IntegrationRun")

    job = wait_for(lambda: _job(cluster, "reload"), 30, "the Job of the requested run")
    assert is_full_refresh(job)
    assert job["metadata"]["labels"]["syncline.dev/project"] == "sync"
    assert job["metadata"]["labels"]["syncline.dev/trigger"] == "manual"
    assert job["metadata"]["ownerReferences"][0]["kind"] == "CronJob"  # Forbid sees it
    run = wait_for(
        lambda: (lambda r: r if r["spec"].get("jobRef") else None)(
            cluster.get("integrationruns", "reload")
        ),
        30,
        "the request to name its Job",
    )
    assert run["spec"] == {
        "projectRef": {"name": "sync"},
        "trigger": "manual",
        "fullRefresh": True,
        "jobRef": {"name": "reload"},
    }
    assert run["metadata"]["labels"] == {
        "syncline.dev/project": "sync",
        "syncline.dev/trigger": "manual",
    }
    project = cluster.get("integrationprojects", "sync")
    assert [(o["kind"], o["uid"]) for o in run["metadata"]["ownerReferences"]] == [
        ("IntegrationProject", project["metadata"]["uid"])
    ]

    cluster.create("integrationruns", "again", {"projectRef": {"name": "sync"}}, "IntegrationRun")
    status = wait_for(lambda: _finished(cluster, "again"), 30, "the overlapping request to end")
    assert (status["result"], status["errorCode"]) == ("Error", 1670)
    assert "already has an active run (reload)" in status["message"]
    refused = cluster.get("integrationruns", "again")
    assert "jobRef" not in refused["spec"]
    assert refused["metadata"]["labels"]["syncline.dev/project"] == "sync"  # in the history
    reasons = {
        (e["involvedObject"]["name"], e["reason"])
        for e in cluster.events()
        if e["involvedObject"]["kind"] == "IntegrationRun"
    }
    assert ("again", "PendingRunAlreadyExists") in reasons
    assert [
        j.metadata.name for j in cluster.batch.list_namespaced_job(cluster.namespace).items
    ] == ["reload"]
    time.sleep(3)  # the refusal was seen by the run watch: it must not reach the project
    assert "lastRun" not in (cluster.get("integrationprojects", "sync").get("status") or {})


def test_a_request_for_a_project_that_does_not_exist_ends_in_error_not_pending(
    cluster: Cluster, start_operator: Callable[..., OperatorProcess]
) -> None:
    start_operator()
    cluster.create("integrationruns", "lost", {"projectRef": {"name": "nope"}}, "IntegrationRun")
    # the project may still be on its way (applied together): the request waits 30 s
    status = wait_for(lambda: _finished(cluster, "lost"), 75, "the request to end")
    assert (status["result"], status["errorCode"]) == ("Error", 1002)
    assert status["message"] == "1002 ItemNotFound: IntegrationProject nope was not found."


def test_the_full_refresh_annotation_starts_one_full_refresh_per_token(
    cluster: Cluster, warehouse: DatabaseAccess, start_operator: Callable[..., OperatorProcess]
) -> None:
    start_operator()
    _ready_project(cluster, warehouse)
    annotations = {"syncline.dev/full-refresh": "t1"}
    cluster.custom.patch_namespaced_custom_object(
        GROUP,
        VERSION,
        cluster.namespace,
        "integrationprojects",
        "sync",
        {"metadata": {"annotations": annotations}},
    )
    jobs = wait_for(lambda: cluster.batch.list_namespaced_job(cluster.namespace).items, 30, "a Job")
    assert len(jobs) == 1
    job = _job(cluster, jobs[0].metadata.name)
    assert is_full_refresh(job)
    run = wait_for(lambda: cluster.get("integrationruns", job["metadata"]["name"]), 30)
    assert (run["spec"]["trigger"], run["spec"]["fullRefresh"]) == ("manual", True)
    wait_for(
        lambda: (
            (cluster.get("integrationprojects", "sync").get("status") or {}).get(
                "lastFullRefreshToken"
            )
            == "t1"
        ),
        30,
        "the token to be spent",
    )
    assert len(cluster.batch.list_namespaced_job(cluster.namespace).items) == 1
