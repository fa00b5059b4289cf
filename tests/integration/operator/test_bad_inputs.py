"""Each bad input: Ready=False with the right code and the field named; fixing it heals."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import psycopg
import pytest

from syncline.devcluster.databases import DatabaseAccess, free_port
from tests.integration.operator.conftest import (
    CANARY,
    make_world,
    postgres_connection,
    project_spec,
)
from tests.integration.operator.harness import Cluster, OperatorProcess, wait_for

pytestmark = pytest.mark.integration
WRONG_PASSWORD = "wrong-canary-Hh42xQ"


def _message(cluster: Cluster, plural: str, name: str, reason: str) -> str:
    return str(cluster.wait_reason(plural, name, reason)["message"])


def test_connection_failures_are_reported_and_heal(
    cluster: Cluster,
    warehouse: DatabaseAccess,
    start_operator: Callable[..., OperatorProcess],
) -> None:
    operator = start_operator()
    db = warehouse
    create = cluster.create

    create("connections", "no-secret", postgres_connection(db, "later", "dev"), "Connection")
    message = _message(cluster, "connections", "no-secret", "SecretNotFound")
    assert message.startswith("2100 SecretNotFound: Secret later does not exist")

    cluster.secret("partial", {"username": db.user})
    create("connections", "no-key", postgres_connection(db, "partial", "dev"), "Connection")
    message = _message(cluster, "connections", "no-key", "SecretKeyMissing")
    assert message.startswith("2101 SecretKeyMissing: Secret partial has no key password")

    cluster.secret("wrong", {"username": db.user, "password": WRONG_PASSWORD})
    create("connections", "bad-auth", postgres_connection(db, "wrong", "dev"), "Connection")
    assert _message(cluster, "connections", "bad-auth", "AuthenticationFailed").startswith("2001")

    down = postgres_connection(db, "wrong", "dev")
    down["endpoint"]["port"] = free_port()
    create("connections", "down", down, "Connection")
    assert _message(cluster, "connections", "down", "ConnectionUnreachable").startswith("2000")

    odata = {"type": "odata", "endpoint": {"url": f"http://127.0.0.1:{free_port()}/odata"}}
    create("connections", "odata", odata, "Connection")
    assert _message(cluster, "connections", "odata", "ConnectionUnreachable").startswith("2000")

    # Fixes: the Secret appears, the key is added, the password corrected. No restart.
    cluster.secret("later", {"username": db.user, "password": db.password})
    cluster.secret("partial", {"username": db.user, "password": db.password})
    cluster.secret("wrong", {"username": db.user, "password": db.password})
    for name in ("no-secret", "no-key", "bad-auth"):
        cluster.wait_ready("connections", name, timeout=60)
    conditions = {c["type"] for c in cluster.get("connections", "bad-auth")["status"]["conditions"]}
    assert conditions == {"Ready"}

    everything = json.dumps([cluster.get("connections", n) for n in ("bad-auth", "down")])
    events = json.dumps(cluster.events(), default=str)
    for secret in (CANARY, WRONG_PASSWORD):
        assert secret not in everything
        assert secret not in events
        assert secret not in operator.text()
    assert "SecretNotFound" in {e["reason"] for e in cluster.events()}


def _break_and_fix(
    cluster: Cluster, change: dict[str, Any], reason: str, expected: list[str]
) -> None:
    cluster.patch_spec("integrationprojects", "sync", change)
    message = _message(cluster, "integrationprojects", "sync", reason)
    for text in expected:
        assert text in message
    wait_for(lambda: cluster.cronjob("sync") is None, what="CronJob removed while invalid")
    good = project_spec()
    cluster.patch_spec(
        "integrationprojects",
        "sync",
        {
            "tasks": good["tasks"],
            "schedule": {**good["schedule"], "cron": None, "blackouts": None},
            "organizationMapping": None,
        },
    )
    cluster.wait_ready("integrationprojects", "sync")
    wait_for(lambda: cluster.cronjob("sync"), what="CronJob back once valid")


def test_project_validation_before_any_data_moves(
    cluster: Cluster,
    warehouse: DatabaseAccess,
    start_operator: Callable[..., OperatorProcess],
) -> None:
    start_operator()
    make_world(cluster, warehouse)
    cluster.create("integrationprojects", "sync", project_spec(), "IntegrationProject")
    cluster.wait_ready("integrationprojects", "sync")

    tasks = project_spec()["tasks"]
    tasks[0]["mappings"][1]["source"] = "emial"
    _break_and_fix(
        cluster,
        {"tasks": tasks},
        "SourceFieldMissing",
        ["2200 SourceFieldMissing", "customers", "emial"],
    )
    dark = [{"start": "00:00", "end": "12:00"}, {"start": "12:00", "end": "00:00"}]
    always_dark = {"every": 7, "unit": "minutes", "timeZone": "UTC", "blackouts": dark}
    _break_and_fix(
        cluster, {"schedule": always_dark}, "ScheduleWillNeverRun", ["1601", "every 7 minutes"]
    )
    cron = {"cron": "61 * * * *", "every": None, "unit": None}
    _break_and_fix(cluster, {"schedule": cron}, "InvalidCron", ["1600", "61 * * * *"])
    never = {"cron": "0 0 30 2 *", "every": None, "unit": None}
    _break_and_fix(cluster, {"schedule": never}, "ScheduleWillNeverRun", ["1601", "0 0 30 2 *"])
    zone = {"timeZone": "Mars/Olympus"}
    _break_and_fix(cluster, {"schedule": zone}, "InvalidTimeZone", ["1603", "Mars/Olympus"])
    _break_and_fix(
        cluster, {"organizationMapping": "emea"}, "InvalidOrganizationUnit", ["1100", "emea"]
    )

    status = cluster.get("integrationprojects", "sync")["status"]
    assert status["cronJobRef"] == {"name": "sync"}
    reasons = {e["reason"] for e in cluster.events()}
    assert {"SourceFieldMissing", "InvalidCron", "Scheduled"} <= reasons


def test_refreshed_catalog_revalidates_the_projects_that_use_it(
    cluster: Cluster,
    warehouse: DatabaseAccess,
    start_operator: Callable[..., OperatorProcess],
) -> None:
    """A column dropped at the source: refresh the Connection, and the project says so."""
    start_operator()
    make_world(cluster, warehouse)
    cluster.create("integrationprojects", "sync", project_spec(), "IntegrationProject")
    cluster.wait_ready("integrationprojects", "sync")

    with psycopg.connect(warehouse_dsn(warehouse), autocommit=True) as conn:
        conn.execute("ALTER TABLE crm_customers RENAME COLUMN email TO mail")
    refresh(cluster, "crm", "1")
    message = _message(cluster, "integrationprojects", "sync", "SourceFieldMissing")
    assert "Task customers: source field email does not exist in crm_customers" in message
    assert cluster.ready("connectionsets", "pair")["status"] == "True"  # type: ignore[index]

    with psycopg.connect(warehouse_dsn(warehouse), autocommit=True) as conn:
        conn.execute("ALTER TABLE crm_customers RENAME COLUMN mail TO email")
    refresh(cluster, "crm", "2")
    cluster.wait_ready("integrationprojects", "sync")


def refresh(cluster: Cluster, connection: str, token: str) -> None:
    cluster.custom.patch_namespaced_custom_object(
        "syncline.dev",
        "v1alpha1",
        cluster.namespace,
        "connections",
        connection,
        {"metadata": {"annotations": {"syncline.dev/refresh": token}}},
    )


def warehouse_dsn(db: DatabaseAccess) -> str:
    return (
        f"host={db.host} port={db.port} dbname={db.database} user={db.user} password={db.password}"
    )


def test_deleting_a_connection_pauses_its_projects_until_it_returns(
    cluster: Cluster,
    warehouse: DatabaseAccess,
    start_operator: Callable[..., OperatorProcess],
) -> None:
    start_operator()
    make_world(cluster, warehouse)
    cluster.create("integrationprojects", "sync", project_spec(), "IntegrationProject")
    cluster.wait_ready("integrationprojects", "sync")

    cluster.delete("connections", "dwh")
    message = _message(cluster, "connectionsets", "pair", "ConnectionNotReady")
    assert "dwh" in message
    assert "spec.connections[1].connectionRef.name" in message
    message = _message(cluster, "integrationprojects", "sync", "ConnectionSetNotReady")
    assert message.startswith("2007 ConnectionSetNotReady: ConnectionSet pair is not Ready")
    assert message.endswith("(scheduled runs are paused until this clears)")
    # It may come back: the CronJob stays, suspended, so a run in flight is not killed.
    wait_for(
        lambda: (cluster.cronjob("sync") or {}).get("spec", {}).get("suspend") is True,
        what="CronJob suspended, not deleted",
    )
    reconciling = cluster.get("integrationprojects", "sync")["status"]["conditions"]
    assert {c["type"] for c in reconciling} == {"Ready", "Reconciling"}

    dwh = postgres_connection(warehouse, "db-creds", "staging")
    cluster.create("connections", "dwh", dwh, "Connection")
    cluster.wait_ready("integrationprojects", "sync", timeout=60)
    wait_for(
        lambda: (cluster.cronjob("sync") or {}).get("spec", {}).get("suspend") is False,
        what="CronJob resumed",
    )
