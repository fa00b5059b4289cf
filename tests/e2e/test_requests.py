"""Runs requested in the cluster, carried out by real pods: an IntegrationRun created
with kubectl (as Argo CD or Flux would), a full refresh, overlap (1670), and a project
built on a ClusterIntegrationTemplate (which run pods must be able to read)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import ROWS, World, execute, table_hash
from tests.e2e.test_runs import _finished, _no_active_of, _run_to_end
from tests.integration.operator.harness import GROUP, VERSION, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.e2e]


def _request(world: World, name: str, project: str, **spec: Any) -> None:
    """What `kubectl create -f run.yaml` does: an IntegrationRun with no Job."""
    world.cluster.create(
        "integrationruns", name, {"projectRef": {"name": project}, **spec}, "IntegrationRun"
    )


def _cluster_template(world: World, name: str) -> None:
    incremental_items = {
        "name": "items",
        "source": {"connection": "src", "entity": "items", "incremental": {"cursorField": "id"}},
        "destination": {"connection": "dst", "entity": "items", "keys": ["id"]},
    }
    body = {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "ClusterIntegrationTemplate",
        "metadata": {"name": name},
        "spec": {
            "sourceType": "postgresql",
            "destinationType": "postgresql",
            "tasks": [incremental_items],
        },
    }
    world.cluster.custom.create_cluster_custom_object(
        GROUP, VERSION, "clusterintegrationtemplates", body
    )


def test_a_cluster_template_project_runs_and_a_requested_full_refresh_reads_everything(
    world: World,
) -> None:
    template = f"items-{world.cluster.namespace}"  # cluster-scoped: one per test
    _cluster_template(world, template)
    try:
        ref = {"kind": "ClusterIntegrationTemplate", "name": template}
        world.project("incremental", templateRef=ref, tasks=[])
        world.cluster.wait_ready("integrationprojects", "incremental")
        first = _run_to_end(world, "incremental")  # the pod reads the template itself
        assert (first["result"], first["read"], first["inserted"]) == ("Completed", ROWS, ROWS)

        execute(world.source, "UPDATE items SET qty = qty + 1000 WHERE id <= 2")  # id unchanged
        incremental = _run_to_end(world, "incremental")
        assert incremental["result"] == "Completed"
        assert incremental["read"] < ROWS  # only past the watermark
        assert incremental["updated"] == 0

        wait_for(lambda: _no_active_of(world, "incremental"), 60, "no active Job")
        _request(world, "reload", "incremental", fullRefresh=True)
        status = wait_for(lambda: _finished(world, "reload"), 120, "the requested full refresh")
        assert (status["result"], status["read"]) == ("Completed", ROWS), status
        assert (status["updated"], status["unchanged"]) == (2, ROWS - 2)
        assert table_hash(world.destination, "items") == table_hash(world.source, "items")
        run = world.run("reload")
        assert run["spec"]["jobRef"] == {"name": "reload"}
        assert (run["spec"]["trigger"], run["spec"]["fullRefresh"]) == ("manual", True)
        wait_for(
            lambda: (
                (world.cluster.get("integrationprojects", "incremental")["status"])
                .get("lastRun", {})
                .get("name")
                == "reload"
            ),
            30,
            "the requested run in the project's lastRun",
        )
    finally:
        world.cluster.custom.delete_cluster_custom_object(
            GROUP, VERSION, "clusterintegrationtemplates", template
        )


def test_a_run_requested_while_another_runs_ends_1670_and_the_first_completes(
    world: World,
) -> None:
    rows = 30_000
    execute(
        world.source,
        f"INSERT INTO items SELECT i, 'bulk', 1 FROM generate_series({ROWS + 1}, {rows}) i",
    )
    world.cluster.patch_spec("connections", "src", {"options": {"batchSize": 200}})
    world.project("busy")
    world.cluster.wait_ready("integrationprojects", "busy")
    _request(world, "first", "busy")
    wait_for(lambda: (world.run("first").get("status") or {}).get("result") == "Running", 90)

    _request(world, "second", "busy")
    refused = wait_for(lambda: _finished(world, "second"), 30, "the overlapping request")
    assert (refused["result"], refused["errorCode"]) == ("Error", 1670)
    assert "already has an active run (first)" in refused["message"]

    done = wait_for(lambda: _finished(world, "first"), 180, "the first request's run")
    assert (done["result"], done["read"], done["inserted"]) == ("Completed", rows, rows)
    project = wait_for(
        lambda: (lambda p: p if (p.get("status") or {}).get("lastRun") else None)(
            world.cluster.get("integrationprojects", "busy")
        ),
        30,
        "lastRun",
    )
    assert project["status"]["lastRun"]["name"] == "first"
    assert project["status"]["totals"]["runs"] == 1  # the refused request is not a run
    world.cluster.wait_ready("integrationprojects", "busy", 30)
