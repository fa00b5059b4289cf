"""Built-in schedules and the audit log through the REST API, with the real audit log:
every change made through the API is recorded as the authenticated user."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client

from tests.integration.api.conftest import ApiServer, Callers, make_run, rule
from tests.integration.api.test_auth import assert_error

pytestmark = pytest.mark.integration
VIRTUAL = [
    rule(["builtinschedules", "auditlogs", "auditconfigs"], ["get", "list", "update"]),
    rule(["auditlogs/verify"], ["create"]),
    rule(["integrationruns/status"], ["patch"]),
]


@pytest.fixture
def admin_token(kube_api: client.ApiClient, callers: Callers, namespace: str) -> Iterator[str]:
    """A ServiceAccount granted the audit and schedule permissions cluster-wide."""
    token = callers.make("auditor", [rule(["integrationruns/status"], ["patch"])])
    rbac: Any = client.RbacAuthorizationV1Api(kube_api)
    name = f"{namespace}-auditor"
    rbac.create_cluster_role({"metadata": {"name": name}, "rules": VIRTUAL})
    subject = {"kind": "ServiceAccount", "name": "auditor", "namespace": namespace}
    ref = {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": name}
    rbac.create_cluster_role_binding(
        {"metadata": {"name": name}, "roleRef": ref, "subjects": [subject]}
    )
    yield token
    rbac.delete_cluster_role_binding(name)
    rbac.delete_cluster_role(name)


def test_schedules_are_listed_and_changed_with_cron_validation(
    audited_api_server: ApiServer, admin_token: str, callers: Callers
) -> None:
    with audited_api_server.client(admin_token) as http:
        listed = {s["name"]: s for s in http.get("/api/v1/schedules").json()["items"]}
        assert {"history-cleanup", "audit-rotation", "audit-verification"} <= set(listed)
        changed = http.put("/api/v1/schedules/history-cleanup", json={"cron": "*/30 * * * *"})
        assert changed.status_code == 200, changed.text
        assert changed.json()["cron"] == "*/30 * * * *"
        again = {s["name"]: s for s in http.get("/api/v1/schedules").json()["items"]}
        assert again["history-cleanup"]["cron"] == "*/30 * * * *"
        bad = http.put("/api/v1/schedules/history-cleanup", json={"cron": "61 * * * *"})
        assert_error(bad, 400, 1600)
        assert_error(http.put("/api/v1/schedules/nothing", json={"cron": "0 * * * *"}), 404, 2709)
    nobody = callers.make("nobody")
    with audited_api_server.client(nobody) as http:
        assert_error(http.get("/api/v1/schedules"), 403, 2801)
        assert_error(
            http.put("/api/v1/schedules/history-cleanup", json={"cron": "0 * * * *"}), 403, 2801
        )


def test_changes_are_audited_and_tampering_is_found(
    audited_api_server: ApiServer,
    admin_token: str,
    kube_api: client.ApiClient,
    namespace: str,
) -> None:
    make_run(kube_api, namespace, "stuck", "orders", status={"result": "Running"})
    user = f"system:serviceaccount:{namespace}:auditor"
    with audited_api_server.client(admin_token) as http:
        assert (
            http.put("/api/v1/schedules/audit-rotation", json={"cron": "0 1 * * *"}).status_code
            == 200
        )
        assert http.post(f"/api/v1/namespaces/{namespace}/runs/stuck/fail").status_code == 200
        config = http.get("/api/v1/audit/config").json()
        config["retentionDays"] = 30
        assert http.put("/api/v1/audit/config", json=config).json()["retentionDays"] == 30
        assert_error(http.put("/api/v1/audit/config", json={"retentionDays": 0}), 400, 1015)

        files = http.get("/api/v1/audit/logs").json()["items"]
        assert files
        assert files[0]["records"] >= 3
        detail = http.get(f"/api/v1/audit/logs/{files[0]['name']}").json()
        mine = [(r["actor"], r["action"], r["result"]) for r in detail["records"]]
        assert (user, "schedule.update", "Success") in mine
        assert (user, "run.fail", "Success") in mine
        assert (user, "audit.config", "Success") in mine
        assert all("hash" in r for r in detail["records"])
        assert_error(http.get("/api/v1/audit/logs/syncline-audit-99999999"), 404, 2704)

        intact = http.post("/api/v1/audit/verify").json()
        assert intact["ok"] is True, intact

        core = client.CoreV1Api(kube_api)
        stored = core.read_namespaced_config_map(files[0]["name"], namespace)
        lines = stored.data["records.jsonl"].splitlines()
        second = json.loads(lines[1])
        second["actor"] = "someone-else"
        lines[1] = json.dumps(second)
        stored.data["records.jsonl"] = "\n".join(lines) + "\n"
        core.replace_namespaced_config_map(files[0]["name"], namespace, stored)
        broken = http.post("/api/v1/audit/verify").json()
        assert broken["ok"] is False
        assert broken["firstBadSeq"] == second["seq"]
