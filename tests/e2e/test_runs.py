"""Runs end to end: CronJob, Job, engine container, IntegrationRun, project, metrics."""

from __future__ import annotations

import urllib.request
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from syncline.errors import SynclineError
from syncline.kube.manual import fail_run, start_run
from tests.e2e.conftest import ROWS, World, execute, table_hash
from tests.integration.operator.harness import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.e2e]


def _finished(world: World, run: str) -> dict[str, Any] | None:
    status = world.run(run).get("status") or {}
    return status if status.get("result") in ("Completed", "Warning", "Error") else None


def _metric(world: World, name: str, **labels: str) -> float:
    text = urllib.request.urlopen(world.metrics_url, timeout=5).read().decode()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and labels.items() <= sample.labels.items():
                return float(sample.value)
    return 0.0


def _run_now(world: World, project: str) -> str:
    started = start_run(world.cluster.api, world.cluster.namespace, project)
    return started.run


def _run_to_end(world: World, project: str, timeout: float = 90) -> dict[str, Any]:
    """Start a run once the previous Job is gone from the active set; wait for its result."""
    wait_for(lambda: _no_active_of(world, project), 60, f"no active Job of {project}")
    run = _run_now(world, project)
    status: dict[str, Any] = wait_for(lambda: _finished(world, run), timeout, f"run {run}")
    return status


def test_scheduled_run_then_changed_and_unchanged_reruns(world: World) -> None:
    world.project("every-minute", schedule={"every": 1, "unit": "minutes"})
    world.cluster.wait_ready("integrationprojects", "every-minute")

    def first_run() -> dict[str, Any] | None:
        runs = [r for r in world.runs("every-minute") if _finished(world, r["metadata"]["name"])]
        return runs[0] if runs else None

    run = wait_for(first_run, 150, "the first scheduled run to finish")
    assert run["spec"]["trigger"] == "schedule"
    status = run["status"]
    assert (status["result"], status["read"], status["inserted"]) == ("Completed", ROWS, ROWS)
    assert status["read"] == sum(status[k] for k in ("inserted", "updated", "unchanged", "failed"))
    assert table_hash(world.destination, "items") == table_hash(world.source, "items")

    # stop the schedule, so the reruns below are the only ones
    world.cluster.patch_spec("integrationprojects", "every-minute", {"suspend": True})
    project = wait_for(
        lambda: (lambda p: p if (p.get("status") or {}).get("lastRun") else None)(
            world.cluster.get("integrationprojects", "every-minute")
        ),
        30,
        "lastRun in the project's status",
    )
    assert project["status"]["lastRun"]["inserted"] == ROWS
    assert project["status"]["totals"]["upserts"] >= ROWS
    labels = {"namespace": world.cluster.namespace, "project": "every-minute"}
    # the operator counts a run when it folds it into the project, just after it finished
    wait_for(lambda: _metric(world, "syncline_rows_total", outcome="inserted", **labels) >= ROWS)
    wait_for(lambda: _no_active_of(world, "every-minute"), 60, "the scheduled Job to finish")

    execute(world.source, "UPDATE items SET qty = qty + 1000 WHERE id <= 2")  # 1% of 200
    changed = _run_to_end(world, "every-minute")
    assert (changed["inserted"], changed["updated"], changed["unchanged"]) == (0, 2, ROWS - 2)

    unchanged = _run_to_end(world, "every-minute")
    assert (unchanged["upserts"], unchanged["unchanged"]) == (0, ROWS)
    wait_for(lambda: _metric(world, "syncline_rows_total", outcome="updated", **labels) == 2)


def test_run_now_refuses_overlap_and_a_stuck_run_can_be_failed(world: World) -> None:
    # a slow run: many small batches
    execute(
        world.source, "INSERT INTO items SELECT i, 'bulk', 1 FROM generate_series(201, 60000) i"
    )
    world.cluster.patch_spec("connections", "src", {"options": {"batchSize": 200}})
    world.project("manual")
    world.cluster.wait_ready("integrationprojects", "manual")
    first = start_run(world.cluster.api, world.cluster.namespace, "manual")
    with pytest.raises(SynclineError) as refused:
        start_run(world.cluster.api, world.cluster.namespace, "manual")
    assert refused.value.code == 1670

    wait_for(lambda: (world.run(first.run).get("status") or {}).get("result") == "Running", 60)
    fail_run(world.cluster.api, world.cluster.namespace, first.run, user="e2e")
    status = wait_for(lambda: _finished(world, first.run), 30, "the failed run")
    assert (status["result"], status["errorCode"]) == ("Error", 2403)
    project = wait_for(
        lambda: (lambda p: p if (p.get("status") or {}).get("lastRun") else None)(
            world.cluster.get("integrationprojects", "manual")
        ),
        30,
    )
    assert project["status"]["lastRun"]["result"] == "Error"
    world.cluster.wait_reason("integrationprojects", "manual", "RunFailed", 30)

    # the next run converges to exactly the source's content
    wait_for(lambda: _no_active_of(world, "manual"), 60, "the stopped Job to go")
    again = _run_to_end(world, "manual", timeout=180)
    assert again["result"] == "Completed"
    assert table_hash(world.destination, "items") == table_hash(world.source, "items")
    world.cluster.wait_ready("integrationprojects", "manual", 30)


def _no_active_of(world: World, project: str) -> bool:
    jobs = world.cluster.batch.list_namespaced_job(
        world.cluster.namespace, label_selector=f"syncline.dev/project={project}"
    )
    return all(
        any(c.type in ("Complete", "Failed") for c in (j.status.conditions or []))
        or j.metadata.deletion_timestamp
        for j in jobs.items
    )


def test_a_killed_pod_is_recorded_as_error(world: World) -> None:
    execute(
        world.source, "INSERT INTO items SELECT i, 'bulk', 1 FROM generate_series(201, 60000) i"
    )
    world.cluster.patch_spec("connections", "src", {"options": {"batchSize": 200}})
    world.project("killed")
    world.cluster.wait_ready("integrationprojects", "killed")
    run = _run_now(world, "killed")
    wait_for(lambda: (world.run(run).get("status") or {}).get("result") == "Running", 60)
    pods = world.cluster.core.list_namespaced_pod(
        world.cluster.namespace, label_selector=f"job-name={run}"
    )
    for pod in pods.items:
        world.cluster.core.delete_namespaced_pod(
            pod.metadata.name, world.cluster.namespace, grace_period_seconds=0
        )
    status = wait_for(lambda: _finished(world, run), 90, "the killed run to be closed")
    assert status["result"] == "Error"
    assert status["errorCode"] in (2402, 2400, 2408)


def test_retention_and_deletion(world: World) -> None:
    world.project("history", history={"retentionDays": 1})
    world.cluster.wait_ready("integrationprojects", "history")
    project = world.cluster.get("integrationprojects", "history")
    owner = {
        "apiVersion": "syncline.dev/v1alpha1",
        "kind": "IntegrationProject",
        "name": "history",
        "uid": project["metadata"]["uid"],
    }
    for name, finished in (("old", "2026-01-01T00:00:00Z"), ("fresh", None)):
        body = {
            "apiVersion": "syncline.dev/v1alpha1",
            "kind": "IntegrationRun",
            "metadata": {
                "name": name,
                "labels": {"syncline.dev/project": "history"},
                "ownerReferences": [owner],
            },
            # runs of past Jobs (one with no jobRef would be a request to start one)
            "spec": {
                "projectRef": {"name": "history"},
                "trigger": "manual",
                "jobRef": {"name": name},
            },
        }
        world.cluster.custom.create_namespaced_custom_object(
            "syncline.dev", "v1alpha1", world.cluster.namespace, "integrationruns", body
        )
        status = {"result": "Completed", "completionTime": finished or _now()}
        world.cluster.custom.patch_namespaced_custom_object_status(
            "syncline.dev",
            "v1alpha1",
            world.cluster.namespace,
            "integrationruns",
            name,
            {"status": status},
        )
    wait_for(lambda: "old" not in _names(world, "history"), 60, "the old run to expire")
    assert "fresh" in _names(world, "history")
    labels = {"namespace": world.cluster.namespace, "project": "history"}
    wait_for(lambda: _metric(world, "syncline_runs_total", **labels) >= 1, 30, "a counted run")

    world.cluster.delete("integrationprojects", "history")
    wait_for(lambda: not _names(world, "history"), 60, "runs to go with their project")
    wait_for(lambda: world.cluster.cronjob("history") is None, 60, "the CronJob to go")
    wait_for(lambda: _metric(world, "syncline_runs_total", **labels) == 0, 30)


def _names(world: World, project: str) -> set[str]:
    return {r["metadata"]["name"] for r in world.runs(project)}


def _now() -> str:
    from datetime import UTC, datetime

    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_run_now_annotation_runs_each_token_once(world: World) -> None:
    world.project("annotated")
    world.cluster.wait_ready("integrationprojects", "annotated")

    def annotate(token: str) -> None:
        world.cluster.custom.patch_namespaced_custom_object(
            "syncline.dev",
            "v1alpha1",
            world.cluster.namespace,
            "integrationprojects",
            "annotated",
            {"metadata": {"annotations": {"syncline.dev/run-now": token}}},
        )

    annotate("first")
    run = wait_for(lambda: world.runs("annotated"), 60, "a run from the annotation")[0]
    assert run["spec"]["trigger"] == "manual"
    status = wait_for(lambda: _finished(world, run["metadata"]["name"]), 90, "the run")
    assert (status["result"], status["inserted"]) == ("Completed", ROWS)
    project = world.cluster.get("integrationprojects", "annotated")
    assert project["status"]["lastManualToken"] == "first"

    annotate("first")  # the same token again: nothing new
    world.cluster.patch_spec("integrationprojects", "annotated", {"suspend": True})
    world.cluster.wait_reason("integrationprojects", "annotated", "ManualOnly", 30)
    assert len(world.runs("annotated")) == 1


def test_a_run_over_its_timeout_is_stopped_and_recorded_as_2401(world: World) -> None:
    execute(
        world.source, "INSERT INTO items SELECT i, 'bulk', 1 FROM generate_series(201, 400000) i"
    )
    world.cluster.patch_spec("connections", "src", {"options": {"batchSize": 100}})
    world.project("bounded", limits={"timeoutSeconds": 3})
    world.cluster.wait_ready("integrationprojects", "bounded")
    run = _run_now(world, "bounded")
    status = wait_for(lambda: _finished(world, run), 90, "the timed-out run to be closed")
    assert (status["result"], status.get("errorCode")) == ("Error", 2401), status
    world.cluster.wait_reason("integrationprojects", "bounded", "RunFailed", 30)


def test_a_run_over_its_memory_limit_is_killed_and_recorded_as_2408(world: World) -> None:
    # The engine's own imports need more than this: the kernel kills it at start-up.
    world.project("starved", limits={"memory": "40Mi"})
    world.cluster.wait_ready("integrationprojects", "starved")
    run = _run_now(world, "starved")
    status = wait_for(lambda: _finished(world, run), 90, "the killed run to be closed")
    assert (status["result"], status.get("errorCode")) == ("Error", 2408), status
    assert "spec.limits.memory" in status["message"]
    assert table_hash(world.destination, "items") != table_hash(world.source, "items")
