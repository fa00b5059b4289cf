"""examples/quickstart, applied as a user would (endpoints pointed at the test's server)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import yaml

from syncline.devcluster.binaries import repo_root
from syncline.devcluster.databases import DatabaseAccess, PostgresServer
from tests.integration.operator.harness import (
    GROUP,
    VERSION,
    Cluster,
    OperatorProcess,
    wait_for,
)

pytestmark = pytest.mark.integration
QUICKSTART = repo_root() / "examples" / "quickstart"


@pytest.fixture
def quickstart_databases(postgres_server: PostgresServer) -> Iterator[dict[str, DatabaseAccess]]:
    """The crm and sales databases of the quickstart, loaded from examples/quickstart/data."""
    suffix = os.getpid() % 100000
    made: dict[str, DatabaseAccess] = {}
    try:
        for name in ("crm", "sales"):
            db, user, password = f"qs_{name}_{suffix}", f"qs_{name}_u_{suffix}", os.urandom(8).hex()
            postgres_server.create_database(db, user, password)
            made[name] = postgres_server.access(db, user, password)
            with psycopg.connect(made[name].dsn, autocommit=True) as conn:
                conn.execute((QUICKSTART / "data" / f"{name}.sql").read_text())
        yield made
    finally:
        for access in made.values():
            postgres_server.drop_database(access.database, access.user)


def _documents(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def _point_at(doc: dict[str, Any], dbs: dict[str, DatabaseAccess]) -> dict[str, Any]:
    """Same objects, but endpoints and credentials of this test's databases."""
    name = doc["metadata"]["name"]
    db = dbs["crm"] if name.startswith("crm") else dbs["sales"]
    if doc["kind"] == "Secret":
        doc["stringData"] = db.credentials
    if doc["kind"] == "Connection":
        doc["spec"]["endpoint"].update(host=db.host, port=db.port, database=db.database)
    return doc


def _apply(cluster: Cluster, doc: dict[str, Any]) -> None:
    if doc["kind"] == "Secret":
        cluster.core.create_namespaced_secret(cluster.namespace, doc)
        return
    plural = {
        "Connection": "connections",
        "ConnectionSet": "connectionsets",
        "IntegrationProject": "integrationprojects",
    }[doc["kind"]]
    cluster.custom.create_namespaced_custom_object(GROUP, VERSION, cluster.namespace, plural, doc)


def test_quickstart_becomes_ready_with_a_restricted_cronjob(
    cluster: Cluster,
    quickstart_databases: dict[str, DatabaseAccess],
    start_operator: Callable[..., OperatorProcess],
) -> None:
    operator = start_operator()
    names: dict[str, list[str]] = {}
    for path in sorted(QUICKSTART.glob("*.yaml")):
        for doc in _documents(path):
            _apply(cluster, _point_at(doc, quickstart_databases))
            names.setdefault(doc["kind"], []).append(doc["metadata"]["name"])

    for name in names["Connection"]:
        cluster.wait_ready("connections", name)
    for name in names["ConnectionSet"]:
        cluster.wait_ready("connectionsets", name)
    [project] = names["IntegrationProject"]
    assert cluster.wait_ready("integrationprojects", project)["reason"] == "Scheduled"

    cronjob = wait_for(lambda: cluster.cronjob(project), what="quickstart CronJob")
    spec = cronjob["spec"]
    assert (spec["schedule"], spec["timeZone"], spec["concurrencyPolicy"]) == (
        "*/15 * * * *",
        "UTC",
        "Forbid",
    )
    assert spec["jobTemplate"]["spec"]["activeDeadlineSeconds"] == 3600
    assert cronjob["metadata"]["ownerReferences"][0]["name"] == project
    container = spec["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    passwords = [db.password for db in quickstart_databases.values()]
    assert not any(p in operator.text() for p in passwords)
