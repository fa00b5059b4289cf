"""A task split over three pods of an Indexed Job on the real node: one run, summed."""

from __future__ import annotations

from typing import Any

import pytest

from syncline.kube.manual import start_run
from tests.e2e.conftest import ROWS, World, items_project, table_hash
from tests.integration.operator.harness import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.e2e]


def test_three_pods_share_one_task_and_one_run(world: World) -> None:
    spec = items_project()
    spec["tasks"][0]["scaleOut"] = {"pods": 3, "key": "id"}
    world.cluster.create("integrationprojects", "split", spec, "IntegrationProject")
    world.cluster.wait_ready("integrationprojects", "split")

    run = start_run(world.cluster.api, world.cluster.namespace, "split").run

    def finished() -> dict[str, Any] | None:
        status = world.run(run).get("status") or {}
        return status if status.get("result") in ("Completed", "Warning", "Error") else None

    status = wait_for(finished, 240, f"run {run} of three pods")
    assert status["result"] == "Completed", status.get("message")
    assert (status["read"], status["inserted"]) == (ROWS, ROWS)
    done = status["partitions"]["done"]
    assert [p["index"] for p in done] == [0, 1, 2]
    assert sum(p["read"] for p in done) == ROWS
    assert all(p["read"] > 0 for p in done)  # ids 1..ROWS split three ways
    assert table_hash(world.destination, "items") == table_hash(world.source, "items")
    pods = world.cluster.core.list_namespaced_pod(
        world.cluster.namespace, label_selector=f"job-name={run}"
    ).items
    indexes = sorted(
        p.metadata.annotations["batch.kubernetes.io/job-completion-index"] for p in pods
    )
    assert indexes == ["0", "1", "2"]

    def succeeded() -> int | None:
        job = world.cluster.batch.read_namespaced_job(run, world.cluster.namespace)
        return job.status.succeeded if job.status.succeeded == 3 else None

    assert wait_for(succeeded, 60, "the Job's three completions") == 3
