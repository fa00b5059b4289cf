"""Templates: a project built on one is Ready, and a template change re-validates it."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from syncline.devcluster.databases import DatabaseAccess
from tests.integration.operator.conftest import make_world, project_spec
from tests.integration.operator.harness import GROUP, VERSION, Cluster, OperatorProcess, wait_for

pytestmark = pytest.mark.integration


def test_template_changes_reach_the_projects_built_on_it(
    cluster: Cluster,
    warehouse: DatabaseAccess,
    start_operator: Callable[..., OperatorProcess],
) -> None:
    start_operator()
    make_world(cluster, warehouse)
    template_tasks = project_spec()["tasks"]
    template = {"description": "CRM to DWH", "sourceType": "postgresql", "tasks": template_tasks}
    cluster.create("integrationtemplates", "crm-to-dwh", template, "IntegrationTemplate")
    assert cluster.wait_ready("integrationtemplates", "crm-to-dwh")["reason"] == "Valid"
    assert cluster.get("integrationtemplates", "crm-to-dwh")["status"]["taskCount"] == 2

    spec = project_spec(templateRef={"name": "crm-to-dwh"}, excludedTasks=["orders"])
    spec["tasks"] = [{"name": "customers", "mappings": [{"destination": "name", "constant": "-"}]}]
    cluster.create("integrationprojects", "sync", spec, "IntegrationProject")
    cluster.wait_ready("integrationprojects", "sync")

    broken = project_spec()["tasks"]
    broken[0]["mappings"][1]["source"] = "e_mail"
    cluster.patch_spec("integrationtemplates", "crm-to-dwh", {"tasks": broken})
    condition = cluster.wait_reason("integrationprojects", "sync", "SourceFieldMissing")
    assert "source field e_mail" in str(condition["message"])
    wait_for(lambda: cluster.cronjob("sync") is None, what="CronJob removed")

    cluster.patch_spec("integrationtemplates", "crm-to-dwh", {"tasks": template_tasks})
    cluster.wait_ready("integrationprojects", "sync")

    cluster.delete("integrationtemplates", "crm-to-dwh")
    condition = cluster.wait_reason("integrationprojects", "sync", "TemplateNotFound", timeout=30)
    assert str(condition["message"]).startswith("2207 TemplateNotFound")


def test_a_cluster_templates_types_are_checked_against_the_projects_set(
    cluster: Cluster,
    warehouse: DatabaseAccess,
    start_operator: Callable[..., OperatorProcess],
) -> None:
    start_operator()
    make_world(cluster, warehouse)
    name = f"erp-{cluster.namespace}"  # cluster-scoped: one per test namespace
    template = {"sourceType": "mysql", "destinationType": "postgresql"}
    template["tasks"] = project_spec()["tasks"]
    body = {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "ClusterIntegrationTemplate",
        "metadata": {"name": name},
        "spec": template,
    }
    cluster.custom.create_cluster_custom_object(GROUP, VERSION, "clusterintegrationtemplates", body)
    try:
        spec = project_spec(templateRef={"kind": "ClusterIntegrationTemplate", "name": name})
        spec["tasks"] = []
        cluster.create("integrationprojects", "typed", spec, "IntegrationProject")
        condition = cluster.wait_reason("integrationprojects", "typed", "TemplateTypeMismatch")
        assert str(condition["message"]).startswith(
            f"2213 TemplateTypeMismatch: ClusterIntegrationTemplate {name} expects a mysql"
            " source, but task customers reads from crm, a postgresql connection."
        )
        assert cluster.cronjob("typed") is None

        cluster.custom.patch_cluster_custom_object(
            GROUP,
            VERSION,
            "clusterintegrationtemplates",
            name,
            {"spec": {"sourceType": "postgresql"}},
        )
        cluster.wait_ready("integrationprojects", "typed")
    finally:
        cluster.custom.delete_cluster_custom_object(
            GROUP, VERSION, "clusterintegrationtemplates", name
        )
