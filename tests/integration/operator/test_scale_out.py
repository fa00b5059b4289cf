"""One task split over the pods of an Indexed Job, coordinated through its IntegrationRun.

The operator builds the Job (checked as the real API server accepts it); the pods are
`syncline engine run` processes with the environment the Job controller and the Job's
template give them (``JOB_COMPLETION_INDEX``, ``SYNCLINE_PARTITIONS``, the credentials),
against a real API server and a real PostgreSQL. The real node runs the same Job in
tests/e2e/test_scale_out.py.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
import pytest

from syncline.api.connection import credential_env_var
from syncline.devcluster.databases import DatabaseAccess
from syncline.history.naming import log_config_map_name, run_log
from tests.integration.operator.conftest import make_world, project_spec
from tests.integration.operator.harness import Cluster, OperatorProcess, wait_for

pytestmark = pytest.mark.integration
ROWS = 3000
PODS = 3


def _dsn(db: DatabaseAccess) -> str:
    return (
        f"host={db.host} port={db.port} dbname={db.database} user={db.user} password={db.password}"
    )


def _pod(
    kubeconfig: Path, cluster: Cluster, db: DatabaseAccess, run: str, index: int
) -> subprocess.Popen[str]:
    """One pod of the run's Indexed Job, as a process."""
    env = {
        **os.environ,
        "KUBECONFIG": str(kubeconfig),
        "SYNCLINE_NAMESPACE": cluster.namespace,
        "SYNCLINE_JOB_NAME": run,
        "SYNCLINE_PARTITIONS": str(PODS),
        "JOB_COMPLETION_INDEX": str(index),
    }
    for alias in ("crm", "dwh"):
        env[credential_env_var(alias, "username")] = db.user
        env[credential_env_var(alias, "password")] = db.password
    command = [str(Path(sys.executable).with_name("syncline")), "engine", "run", "--project"]
    return subprocess.Popen(
        [*command, "split"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )


def _finish(pod: subprocess.Popen[str]) -> int:
    _, err = pod.communicate(timeout=120)
    assert pod.returncode == 0, err[-2000:]
    return pod.returncode


def _watermark(db: DatabaseAccess, scope: str) -> str | None:
    with psycopg.connect(_dsn(db)) as conn:
        exists = conn.execute("SELECT to_regclass('_syncline_state')").fetchone()
        if exists is None or exists[0] is None:
            return None
        row = conn.execute(
            "SELECT watermark FROM _syncline_state WHERE scope = %s", (scope,)
        ).fetchone()
        return None if row is None else str(row[0])


def test_a_task_split_over_three_pods_moves_each_row_once_and_commits_its_watermark_last(
    cluster: Cluster,
    warehouse: DatabaseAccess,
    start_operator: Callable[..., OperatorProcess],
    kubeconfig_path: Path,
) -> None:
    with psycopg.connect(_dsn(warehouse), autocommit=True) as conn:
        for table in ("crm_customers", "dwh_customers"):
            conn.execute(f"ALTER TABLE {table} ADD COLUMN changed_at timestamptz")
        conn.execute(
            "INSERT INTO crm_customers SELECT i, 'c' || i || '@example.com', 'name ' || i,"
            " timestamptz '2026-01-01' + i * interval '1 minute' FROM generate_series(1, %s) i",
            (ROWS,),
        )
    start_operator()
    make_world(cluster, warehouse)
    spec = project_spec()
    task: dict[str, Any] = spec["tasks"][0]
    task["source"]["incremental"] = {"cursorField": "changed_at"}
    task["mappings"].append({"destination": "changed_at", "source": "changed_at"})
    task["scaleOut"] = {"pods": PODS, "key": "id"}
    spec["tasks"] = [task]
    cluster.create("integrationprojects", "split", spec, "IntegrationProject")
    cluster.wait_ready("integrationprojects", "split", timeout=90)

    job = (cluster.cronjob("split") or {})["spec"]["jobTemplate"]["spec"]
    assert (job["completionMode"], job["completions"], job["parallelism"]) == ("Indexed", 3, 3)
    assert job["backoffLimitPerIndex"] == 1
    assert job["podFailurePolicy"]["rules"][0]["action"] == "FailIndex"
    env = {e["name"]: e.get("value") for e in job["template"]["spec"]["containers"][0]["env"]}
    assert env["SYNCLINE_PARTITIONS"] == "3"

    run, scope = "split-run-1", f"{cluster.namespace}/split/customers"
    first, last = (
        _pod(kubeconfig_path, cluster, warehouse, run, 0),
        _pod(kubeconfig_path, cluster, warehouse, run, 2),
    )
    _finish(first), _finish(last)
    status = cluster.get("integrationruns", run)["status"]
    assert status["result"] == "Running"  # one range is still to come
    plan = status["partitions"]
    assert (plan["key"], plan["bounds"]) == ("id", [1001, 2001])
    assert sorted(p["index"] for p in plan["done"]) == [0, 2]
    assert _watermark(warehouse, scope) is None  # not before every range is committed

    _finish(_pod(kubeconfig_path, cluster, warehouse, run, 1))
    status = wait_for(
        lambda: (s := cluster.get("integrationruns", run)["status"])["result"] != "Running" and s,
        30,
        "the run to end",
    )
    assert status["result"] == "Completed", status.get("message")
    assert (status["read"], status["inserted"], status["failed"]) == (ROWS, ROWS, 0)
    assert [p["read"] for p in status["partitions"]["done"]] == [1000, 1000, 1000]
    [customers] = status["tasks"]
    assert customers["read"] == ROWS
    assert _watermark(warehouse, scope) == customers["watermark"]
    assert min(p["watermark"] for p in status["partitions"]["done"]) == customers["watermark"]
    with psycopg.connect(_dsn(warehouse)) as conn:
        copied = conn.execute(
            "SELECT count(*), count(DISTINCT id) FROM dwh_customers"
            " JOIN crm_customers USING (id, email, name, changed_at)"
        ).fetchone()
    assert copied == (ROWS, ROWS)

    # A retried pod whose range is recorded moves nothing and changes nothing.
    _finish(_pod(kubeconfig_path, cluster, warehouse, run, 1))
    again = cluster.get("integrationruns", run)["status"]
    assert (again["result"], again["inserted"], again["unchanged"]) == ("Completed", ROWS, 0)
    logs = cluster.core.read_namespaced_config_map(log_config_map_name(run), cluster.namespace)
    text = run_log(logs.data)
    assert text.count('"message": "range started"') == 3
    assert '"message": "range already recorded"' in text
    assert warehouse.password not in text
