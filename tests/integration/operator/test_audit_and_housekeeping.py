"""The operator and the audit log; the built-in schedules changed live.

A real `syncline operator` process records its consequential actions (CronJob created,
CronJob deleted) in the audit log, which survives the operator being killed; and it runs
the built-in work at the cron read from the cluster on each tick, so changing a cron
changes when the work runs, without a restart.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from syncline import audit
from syncline.api.run import IntegrationRunStatus, RunResult, Trigger
from syncline.audit.chain import AuditRecord
from syncline.devcluster.databases import DatabaseAccess
from syncline.errors import SynclineError
from syncline.housekeeping import list_builtin_schedules, set_builtin_schedule
from syncline.housekeeping.schedules import BuiltinSchedule
from syncline.kube.runrecord import RunRecord
from syncline.scheduling.cronjob import cronjob_name
from tests.integration.operator.conftest import make_world, project_spec
from tests.integration.operator.harness import Cluster, OperatorProcess, wait_for

pytestmark = pytest.mark.integration
NEVER_SOON = "0 0 1 1 *"


def _records(api: client.ApiClient, namespace: str) -> list[AuditRecord]:
    return [
        r
        for f in audit.list_files(api, namespace=namespace)
        for r in audit.read_file(api, f["name"], namespace=namespace).records
    ]


def _actions(api: client.ApiClient, namespace: str) -> list[str]:
    return [r.action for r in _records(api, namespace)]


def test_operator_actions_are_recorded_and_survive_a_restart(
    cluster: Cluster,
    warehouse: DatabaseAccess,
    start_operator: Callable[..., OperatorProcess],
    kube_api: client.ApiClient,
    namespace: str,
) -> None:
    first = start_operator(SYNCLINE_SYSTEM_NAMESPACE=namespace)
    make_world(cluster, warehouse)
    cluster.create("integrationprojects", "sync", project_spec(), "IntegrationProject")
    cluster.wait_ready("integrationprojects", "sync", timeout=90)
    wait_for(lambda: "cronjob.create" in _actions(kube_api, namespace), 30, "cronjob.create")
    first.kill()  # SIGKILL: like a crashed pod

    start_operator(SYNCLINE_SYSTEM_NAMESPACE=namespace)
    tasks = project_spec()["tasks"]
    tasks[0]["source"]["entity"] = "no_such_table"  # needs the user: the CronJob goes
    cluster.patch_spec("integrationprojects", "sync", {"tasks": tasks})
    wait_for(lambda: "cronjob.delete" in _actions(kube_api, namespace), 60, "cronjob.delete")

    records = _records(kube_api, namespace)
    assert [r.seq for r in records] == list(range(1, len(records) + 1))
    create = next(r for r in records if r.action == "cronjob.create")
    delete = next(r for r in records if r.action == "cronjob.delete")
    assert create.target == f"cronjobs/{namespace}/sync-sync" or create.target.startswith(
        f"cronjobs/{namespace}/"
    )
    assert create.seq < delete.seq
    assert delete.details["errors"][0].split()[0].isdigit()  # a catalog code, no message
    assert create.actor  # the operator's own identity, from SelfSubjectReview
    assert audit.verify(kube_api, namespace=namespace).ok


def _old_run(api: client.ApiClient, cluster: Cluster, name: str) -> None:
    run = RunRecord(api, cluster.namespace, name, "sync", Trigger.SCHEDULE)
    run.ensure(cluster.get("integrationprojects", "sync")["metadata"]["uid"], name)
    end = (datetime.now(UTC) - timedelta(days=100)).replace(microsecond=0)
    run.finished(
        IntegrationRunStatus(
            result=RunResult.COMPLETED,
            message="3 read",
            start_time=end - timedelta(seconds=1),
            completion_time=end,
        )
    )


def _listed(api: client.ApiClient, namespace: str) -> dict[str, BuiltinSchedule]:
    return {s.name: s for s in list_builtin_schedules(api, namespace=namespace)}


def _run_exists(cluster: Cluster, name: str) -> bool:
    try:
        cluster.get("integrationruns", name)
    except client.ApiException as err:
        if err.status == 404:
            return False
        raise
    return True


def test_a_changed_builtin_cron_takes_effect_without_a_restart(
    cluster: Cluster,
    start_operator: Callable[..., OperatorProcess],
    kube_api: client.ApiClient,
    namespace: str,
    kubeconfig_path: Path,
) -> None:
    for schedule in list_builtin_schedules(kube_api, namespace=namespace):
        set_builtin_schedule(kube_api, schedule.name, NEVER_SOON, namespace=namespace)
    spec = {**project_spec(), "history": {"retentionDays": 30}}
    cluster.create("integrationprojects", "sync", spec, "IntegrationProject")
    _old_run(kube_api, cluster, "sync-old")
    operator = start_operator(
        SYNCLINE_SYSTEM_NAMESPACE=namespace, SYNCLINE_HOUSEKEEPING_TICK_SECONDS="1"
    )
    wait_for(lambda: operator.text().count("housekeeping tick") >= 3, 60, "three ticks")
    listed = {s.name: s for s in list_builtin_schedules(kube_api, namespace=namespace)}
    assert listed["history-cleanup"].last_run_time is None
    assert _run_exists(cluster, "sync-old")  # retention passed, but its cron is not due

    changed = _syncline(
        kubeconfig_path,
        "schedules",
        "set",
        "history-cleanup",
        "* * * * *",
        "--system-namespace",
        namespace,
    )
    assert "history-cleanup: * * * * *" in changed
    set_builtin_schedule(kube_api, "audit-verification", "*  *  * * *", namespace=namespace)
    wait_for(lambda: not _run_exists(cluster, "sync-old"), 90, "the cleanup at the new cron")
    # The last run is noted just after the work ends: a moment after the run went.
    wait_for(
        lambda: _listed(kube_api, namespace)["history-cleanup"].last_run_time,
        30,
        "the cleanup's last run noted",
    )
    listed = _listed(kube_api, namespace)
    assert listed["history-cleanup"].cron == "* * * * *"
    assert listed["connection-recheck"].last_run_time is None  # its cron did not fire
    wait_for(
        lambda: list_builtin_schedules(kube_api, namespace=namespace)[3].last_run_time,
        90,
        "the audit verification at its new cron",
    )
    assert not operator.exited()
    # The CLI's change is itself in the audit log, with who made it.
    change = next(r for r in _records(kube_api, namespace) if r.action == "schedule.set")
    assert change.details == {"from": NEVER_SOON, "to": "* * * * *", "via": "cli"}
    verified = _syncline(kubeconfig_path, "audit", "verify", "--system-namespace", namespace)
    assert "intact" in verified
    listing = _syncline(kubeconfig_path, "schedules", "list", "--system-namespace", namespace)
    assert "history-cleanup" in listing


def test_a_bad_builtin_cron_is_refused_with_its_code(
    kube_api: client.ApiClient, namespace: str
) -> None:
    for cron, code in (("61 * * * *", 1600), ("every day", 1600), ("0 0 30 2 *", 1601)):
        with pytest.raises(SynclineError) as err:
            set_builtin_schedule(kube_api, "history-cleanup", cron, namespace=namespace)
        assert err.value.code == code, cron
    with pytest.raises(SynclineError) as err:
        set_builtin_schedule(kube_api, "nightly-backup", "* * * * *", namespace=namespace)
    assert err.value.code == 2709
    listed = list_builtin_schedules(kube_api, namespace=namespace)
    assert [s.cron for s in listed] == [s.default_cron for s in listed]


def _syncline(kubeconfig: Path, *args: str) -> str:
    done = subprocess.run(
        [str(Path(sys.executable).with_name("syncline")), *args],
        env={**os.environ, "KUBECONFIG": str(kubeconfig)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_a_run_marked_failed_by_the_operator_is_recorded(
    cluster: Cluster,
    start_operator: Callable[..., OperatorProcess],
    kube_api: client.ApiClient,
    namespace: str,
) -> None:
    start_operator(SYNCLINE_SYSTEM_NAMESPACE=namespace)
    cluster.create("integrationprojects", "sync", project_spec(), "IntegrationProject")
    job = {
        "metadata": {"name": "sync-manual-1", "labels": {"syncline.dev/project": "sync"}},
        "spec": {
            "suspend": True,  # never starts a pod: only the run record matters here
            "template": {
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [{"name": "engine", "image": "syncline:test"}],
                }
            },
        },
    }
    batch: Any = client.BatchV1Api(kube_api)
    batch.create_namespaced_job(namespace, job)
    wait_for(lambda: _run_exists(cluster, "sync-manual-1"), 60, "the run of the Job")
    batch.delete_namespaced_job("sync-manual-1", namespace, propagation_policy="Background")
    wait_for(lambda: "run.fail" in _actions(kube_api, namespace), 60, "run.fail")
    record = next(r for r in _records(kube_api, namespace) if r.action == "run.fail")
    assert record.target == f"integrationruns/{namespace}/sync-manual-1"
    assert record.result.split()[1] == "RunPodFailed"
    assert audit.verify(kube_api, namespace=namespace).ok


def test_a_cronjob_deleted_by_hand_is_recreated_and_each_creation_recorded_once(
    cluster: Cluster,
    warehouse: DatabaseAccess,
    start_operator: Callable[..., OperatorProcess],
    kube_api: client.ApiClient,
    namespace: str,
) -> None:
    """The operator knows its CronJobs from their watch (no read per reconcile): a
    re-creation is still told apart from an update by the CronJob's uid."""
    start_operator(SYNCLINE_SYSTEM_NAMESPACE=namespace)
    make_world(cluster, warehouse)
    cluster.create("integrationprojects", "sync", project_spec(), "IntegrationProject")
    cluster.wait_ready("integrationprojects", "sync", timeout=90)
    wait_for(lambda: "cronjob.create" in _actions(kube_api, namespace), 30, "cronjob.create")
    batch = client.BatchV1Api(kube_api)
    name = cronjob_name("sync")
    first_uid = batch.read_namespaced_cron_job(name, namespace).metadata.uid
    batch.delete_namespaced_cron_job(name, namespace)

    def recreated() -> bool:
        try:
            return bool(batch.read_namespaced_cron_job(name, namespace).metadata.uid != first_uid)
        except client.ApiException as err:
            if err.status == 404:
                return False
            raise

    wait_for(recreated, 60, "the CronJob re-created")
    wait_for(lambda: _actions(kube_api, namespace).count("cronjob.create") == 2, 30, "2 creates")
    every15 = batch.read_namespaced_cron_job(name, namespace).spec.schedule
    cluster.patch_spec("integrationprojects", "sync", {"schedule": {"every": 30}})
    wait_for(
        lambda: batch.read_namespaced_cron_job(name, namespace).spec.schedule != every15,
        60,
        "the edit applied",
    )
    assert _actions(kube_api, namespace).count("cronjob.create") == 2  # an update is not one
    assert audit.verify(kube_api, namespace=namespace).ok
