"""Status written from a stale read never wins: 409 conflicts from the real API server
are answered by reading again and deciding again (syncline.kube.client.update_status)."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from kubernetes import client

from syncline.api import GROUP, VERSION
from syncline.api.run import IntegrationRunStatus, RunResult, Trigger
from syncline.kube.client import StatusAddress, update_status
from syncline.kube.manual import fail_run
from syncline.kube.runrecord import RunRecord
from tests.integration.operator.conftest import project_spec
from tests.integration.operator.harness import Cluster

pytestmark = pytest.mark.integration


def test_the_engines_result_does_not_overwrite_a_run_failed_meanwhile(
    kube_api: client.ApiClient, cluster: Cluster
) -> None:
    record = RunRecord(kube_api, cluster.namespace, "nightly-1", "nightly", Trigger.MANUAL)
    record.ensure(None, None)
    record.started()
    reads: list[str] = []
    read = record.custom.get_namespaced_custom_object

    def read_then_someone_fails_the_run(*args: Any, **kwargs: Any) -> Any:
        current = read(*args, **kwargs)
        reads.append(current["metadata"]["resourceVersion"])
        if len(reads) == 1:  # between the engine's read and its write
            fail_run(kube_api, cluster.namespace, "nightly-1", "alice")
        return current

    record.custom.get_namespaced_custom_object = read_then_someone_fails_the_run  # type: ignore[method-assign]
    record.finished(IntegrationRunStatus(result=RunResult.COMPLETED, read=10, inserted=10))

    status = cluster.get("integrationruns", "nightly-1")["status"]
    assert (status["result"], status.get("errorCode")) == ("Error", 2403), status
    assert len(reads) == 2, "the conflicting write must be retried after a fresh read"


def test_a_progress_write_after_a_person_failed_the_run_changes_nothing(
    kube_api: client.ApiClient, cluster: Cluster
) -> None:
    record = RunRecord(
        kube_api, cluster.namespace, "nightly-2", "nightly", Trigger.MANUAL, progress_interval=0
    )
    record.ensure(None, None)
    record.started()
    record.progress(IntegrationRunStatus(result=RunResult.RUNNING, read=5, inserted=5))
    status = cluster.get("integrationruns", "nightly-2")["status"]
    assert (status["result"], status["read"], status["inserted"]) == ("Running", 5, 5)

    fail_run(kube_api, cluster.namespace, "nightly-2", "alice")
    record.progress(IntegrationRunStatus(result=RunResult.RUNNING, read=9, inserted=9))
    status = cluster.get("integrationruns", "nightly-2")["status"]
    assert (status["result"], status.get("errorCode")) == ("Error", 2403), status


def test_concurrent_read_modify_writes_lose_no_update(
    kube_api: client.ApiClient, cluster: Cluster
) -> None:
    cluster.create("integrationprojects", "counted", project_spec(), "IntegrationProject")
    where = StatusAddress("integrationprojects", cluster.namespace, "counted")
    writers, each = 6, 5

    def add_one(project: dict[str, Any]) -> dict[str, Any]:
        totals = (project.get("status") or {}).get("totals") or {}
        return {"totals": {**totals, "runs": totals.get("runs", 0) + 1}}

    def writer() -> None:
        api = client.ApiClient(kube_api.configuration)  # one connection pool per writer
        with api:
            custom = client.CustomObjectsApi(api)
            for _ in range(each):
                update_status(custom, where, add_one, attempts=100)

    threads = [threading.Thread(target=writer) for _ in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    project = client.CustomObjectsApi(kube_api).get_namespaced_custom_object(
        GROUP, VERSION, cluster.namespace, "integrationprojects", "counted"
    )
    assert project["status"]["totals"]["runs"] == writers * each
