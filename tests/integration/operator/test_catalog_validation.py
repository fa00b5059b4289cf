"""The operator validates a project as a run would: SQL step outputs, truncated catalogs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import psycopg
import pytest

from syncline.api.connection import MAX_ENTITIES
from syncline.devcluster.databases import DatabaseAccess
from tests.integration.operator.conftest import make_world, project_spec
from tests.integration.operator.harness import Cluster, OperatorProcess
from tests.integration.operator.test_bad_inputs import warehouse_dsn

pytestmark = pytest.mark.integration


def _customers(query: str | None, mappings: dict[str, str]) -> dict[str, Any]:
    task: dict[str, Any] = project_spec()["tasks"][0]
    task["query"] = query
    task["mappings"] = [{"source": s, "destination": d} for s, d in mappings.items()]
    return task


def _message(cluster: Cluster, reason: str) -> str:
    return str(cluster.wait_reason("integrationprojects", "sync", reason)["message"])


def test_a_column_the_sql_step_derives_can_be_mapped(
    cluster: Cluster,
    warehouse: DatabaseAccess,
    start_operator: Callable[..., OperatorProcess],
) -> None:
    start_operator()
    make_world(cluster, warehouse)
    derived = _customers(
        "SELECT id, email, upper(name) AS shout FROM source",
        {"id": "id", "email": "email", "shout": "name"},
    )
    spec = project_spec(tasks=[derived])
    cluster.create("integrationprojects", "sync", spec, "IntegrationProject")
    cluster.wait_ready("integrationprojects", "sync")

    dropped = _customers("SELECT id, email FROM source", {"id": "id", "name": "name"})
    cluster.patch_spec("integrationprojects", "sync", {"tasks": [dropped]})
    message = _message(cluster, "SourceFieldMissing")
    assert "Task customers: source field name does not exist in crm_customers" in message

    broken = _customers("SELECT id, nope FROM source", {"id": "id"})
    cluster.patch_spec("integrationprojects", "sync", {"tasks": [broken]})
    message = _message(cluster, "QueryInvalid")
    assert message.startswith("2206 QueryInvalid: Task customers: the SQL query is invalid")

    cluster.patch_spec("integrationprojects", "sync", {"tasks": [derived]})
    cluster.wait_ready("integrationprojects", "sync")


def test_an_entity_beyond_a_truncated_catalog_is_described_live(
    cluster: Cluster,
    warehouse: DatabaseAccess,
    start_operator: Callable[..., OperatorProcess],
) -> None:
    """The catalog in status stops at 200 tables (all named before crm_ and dwh_ ones)."""
    with psycopg.connect(warehouse_dsn(warehouse), autocommit=True) as conn:
        for i in range(MAX_ENTITIES):
            conn.execute(f"CREATE TABLE aaa_{i:03} (id int)")
    start_operator()
    make_world(cluster, warehouse)
    cluster.create("integrationprojects", "sync", project_spec(), "IntegrationProject")
    crm = cluster.wait_ready("connections", "crm")
    assert "2010 CatalogTruncated" in crm["message"]
    listed = {e["name"] for e in cluster.get("connections", "crm")["status"]["entities"]}
    assert "crm_customers" not in listed
    cluster.wait_ready("integrationprojects", "sync")

    typo = _customers(None, {"id": "id", "emial": "email"})
    cluster.patch_spec("integrationprojects", "sync", {"tasks": [typo]})
    message = _message(cluster, "SourceFieldMissing")
    assert "source field emial does not exist in crm_customers" in message

    gone = _customers(None, {"id": "id"})
    gone["source"]["entity"] = "crm_clients"
    cluster.patch_spec("integrationprojects", "sync", {"tasks": [gone]})
    message = _message(cluster, "EntityNotFound")
    assert "Entity crm_clients does not exist in crm" in message
