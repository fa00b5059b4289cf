"""Runs that cannot start, Secrets rotated and deleted, and outages that must not hurt a
run in flight (real node). Every test here also ends with the canary check of the
world fixture: no secret value in status, Events, logs, run logs or metrics."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import World, canary, execute, table_hash
from tests.e2e.test_runs import _finished, _no_active_of, _run_now
from tests.integration.operator.harness import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.e2e]


def test_a_run_whose_pod_is_refused_ends_as_2409_and_its_job_stops(world: World) -> None:
    world.project("refused")
    world.cluster.wait_ready("integrationprojects", "refused")
    # Admission refuses every pod in the namespace from now on (a quota of no pods). The
    # operator re-creates a deleted engine ServiceAccount, so a quota is the refusal that
    # stays put.
    quota = {"metadata": {"name": "no-pods"}, "spec": {"hard": {"pods": "0"}}}
    world.cluster.core.create_namespaced_resource_quota(world.cluster.namespace, quota)
    run = _run_now(world, "refused")
    status = wait_for(lambda: _finished(world, run), 120, "the refused run to be closed")
    assert (status["result"], status.get("errorCode")) == ("Error", 2409), status
    assert "quota" in status["message"]  # "exceeded quota", or "status unknown for quota"
    world.cluster.wait_reason("integrationprojects", "refused", "RunFailed", 30)
    wait_for(
        lambda: not world.cluster.batch.list_namespaced_job(world.cluster.namespace).items,
        60,
        "the refused Job to be deleted (no endless retries)",
    )


def test_an_outage_pauses_the_schedule_but_not_the_run_in_flight(world: World) -> None:
    execute(
        world.source, "INSERT INTO items SELECT i, 'bulk', 1 FROM generate_series(201, 150000) i"
    )
    world.cluster.patch_spec("connections", "src", {"options": {"batchSize": 200}})
    world.project("outage", schedule={"every": 6, "unit": "hours"})
    world.cluster.wait_ready("integrationprojects", "outage")
    run = _run_now(world, "outage")
    wait_for(lambda: (world.run(run).get("status") or {}).get("result") == "Running", 60)

    # The source's Secret disappears and the operator re-checks: a transient failure.
    world.cluster.core.delete_namespaced_secret("src-creds", world.cluster.namespace)
    _refresh(world, "src", "1")
    world.cluster.wait_reason("integrationprojects", "outage", "ConnectionSetNotReady", 60)
    cronjob = world.cluster.cronjob("outage")
    assert cronjob is not None, "the CronJob must survive a transient failure"
    assert cronjob["spec"]["suspend"] is True

    status = wait_for(lambda: _finished(world, run), 240, "the run in flight to finish")
    assert status["result"] == "Completed", status
    assert table_hash(world.destination, "items") == table_hash(world.source, "items")

    source = world.source
    world.cluster.secret("src-creds", {"username": source.user, "password": source.password})
    _refresh(world, "src", "2")
    world.cluster.wait_ready("integrationprojects", "outage", 60)
    resumed = world.cluster.cronjob("outage")
    assert resumed is not None
    assert resumed["spec"]["suspend"] is False


def _refresh(world: World, connection: str, token: str) -> None:
    """Ask the operator to check the Connection again now (it never watches Secrets)."""
    patch = {"metadata": {"annotations": {"syncline.dev/refresh": token}}}
    world.cluster.custom.patch_namespaced_custom_object(
        "syncline.dev", "v1alpha1", world.cluster.namespace, "connections", connection, patch
    )


def test_a_rotated_secret_is_used_by_the_next_run_and_a_deleted_one_is_named(
    world: World,
) -> None:
    world.project("rotating")
    world.cluster.wait_ready("integrationprojects", "rotating")
    source = world.source
    rotated = canary()
    world.canaries.append(rotated)
    execute(source, f"ALTER ROLE CURRENT_USER PASSWORD '{rotated}'")
    world.cluster.secret("src-creds", {"username": source.user, "password": rotated})
    execute(world.destination, "SELECT 1")  # the destination is untouched by the rotation

    run = _run_now(world, "rotating")
    status = wait_for(lambda: _finished(world, run), 120, "the run after the rotation")
    assert status["result"] == "Completed", status
    assert status["read"] == 200

    # Deleted between two checks of the Connection (the operator never watches Secrets):
    # the run's pod is created but can never start; the run must not wait forever.
    world.cluster.core.delete_namespaced_secret("src-creds", world.cluster.namespace)
    wait_for(lambda: _no_active_of(world, "rotating"), 60, "the first run's Job to finish")
    run = _run_now(world, "rotating")
    status = wait_for(lambda: _finished(world, run), 120, "the run without its Secret")
    assert (status["result"], status.get("errorCode")) == ("Error", 2100), status
    assert "Secret src-creds does not exist" in status["message"]
    wait_for(lambda: _no_active_of(world, "rotating"), 60, "the Job that cannot start to go")
