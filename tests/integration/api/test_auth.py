"""Kubernetes authentication and RBAC decide what a caller of the REST API may do."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client

from tests.fixtures.cluster import RESTRICTED
from tests.integration.api.conftest import (
    GROUP,
    VERSION,
    ApiServer,
    Callers,
    make_project,
    make_run,
    rule,
)

pytestmark = pytest.mark.integration
VIEW = [rule(["integrationruns", "integrationprojects"], ["get", "list"])]


def assert_error(response: Any, status: int, code: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert set(body) == {"code", "name", "message"}
    assert body["code"] == code
    assert body["message"].startswith(f"{code} {body['name']}: ")
    return body


@pytest.fixture
def other_namespace(kube_api: client.ApiClient, namespace: str) -> Iterator[str]:
    core = client.CoreV1Api(kube_api)
    name = f"{namespace}-other"[:63]
    core.create_namespace({"metadata": {"name": name, "labels": RESTRICTED}})
    yield name
    core.delete_namespace(name)


def test_no_token_or_a_bad_one_is_401_with_the_catalog_body(api_server: ApiServer) -> None:
    with api_server.client() as http:
        assert_error(http.get("/api/v1/namespaces/default/runs"), 401, 2800)
    with api_server.client("not-a-token") as http:
        assert_error(http.get("/api/v1/runs"), 401, 2800)
        assert_error(http.get("/api/v1/errors"), 401, 2800)


def test_a_token_without_rbac_is_403_with_the_catalog_body(
    api_server: ApiServer, callers: Callers, namespace: str
) -> None:
    token = callers.make("nobody")
    with api_server.client(token) as http:
        body = assert_error(http.get(f"/api/v1/namespaces/{namespace}/runs"), 403, 2801)
        assert f"system:serviceaccount:{namespace}:nobody" in body["message"]
        assert "list integrationruns.syncline.dev" in body["message"]
        assert_error(http.get(f"/api/v1/namespaces/{namespace}/projects/x"), 403, 2801)
        assert http.get("/api/v1/runs").json() == {"items": []}
        assert http.get("/api/v1/errors").status_code == 200  # authenticated is enough


def test_a_namespaced_view_role_lists_that_namespace_and_nothing_else(
    api_server: ApiServer,
    callers: Callers,
    kube_api: client.ApiClient,
    namespace: str,
    other_namespace: str,
) -> None:
    for ns in (namespace, other_namespace):
        make_project(kube_api, ns, "orders")
        make_run(kube_api, ns, f"orders-{ns[-6:]}", "orders", status={"result": "Completed"})
    token = callers.make("viewer", VIEW)
    with api_server.client(token) as http:
        mine = http.get(f"/api/v1/namespaces/{namespace}/runs").json()["items"]
        assert [(r["namespace"], r["project"]) for r in mine] == [(namespace, "orders")]
        assert_error(http.get(f"/api/v1/namespaces/{other_namespace}/runs"), 403, 2801)
        everywhere = http.get("/api/v1/runs", params={"limit": 500}).json()["items"]
        assert {r["namespace"] for r in everywhere} == {namespace}
        projects = http.get("/api/v1/projects").json()["items"]
        assert {p["namespace"] for p in projects} == {namespace}
        assert_error(http.post(f"/api/v1/namespaces/{namespace}/projects/orders/run"), 403, 2801)


def test_run_now_needs_the_patch_verb_and_is_refused_while_a_run_is_active(
    api_server: ApiServer, callers: Callers, kube_api: client.ApiClient, namespace: str
) -> None:
    make_project(kube_api, namespace, "orders")
    viewer = callers.make("viewer", VIEW)
    runner = callers.make("runner", [rule(["integrationprojects"], ["patch"])])
    path = f"/api/v1/namespaces/{namespace}/projects/orders/run"
    with api_server.client(viewer) as http:
        assert_error(http.post(path), 403, 2801)
    with api_server.client(runner) as http:
        started = http.post(path)
        assert started.status_code == 202, started.text
        token = started.json()["token"]
        custom: Any = client.CustomObjectsApi(kube_api)
        project = custom.get_namespaced_custom_object(
            GROUP, VERSION, namespace, "integrationprojects", "orders"
        )
        assert project["metadata"]["annotations"]["syncline.dev/run-now"] == token
        assert started.json()["run"].startswith("orders-manual-")
        _active_job(kube_api, namespace, "orders")
        assert_error(http.post(path), 409, 1670)
        assert_error(http.post(f"/api/v1/namespaces/{namespace}/projects/gone/run"), 404, 1002)
    who = f"system:serviceaccount:{namespace}:runner"
    assert (who, "project.run", f"{namespace}/integrationprojects/orders", "Success") in [
        (entry[0].username, *entry[1:4]) for entry in api_server.audited
    ]


def _active_job(api: client.ApiClient, namespace: str, project: str) -> None:
    """A Job of the project that has not finished (suspended: it starts no pod)."""
    container = {"name": "c", "image": "none", "command": ["true"]}
    job = {
        "metadata": {"name": f"{project}-busy", "labels": {"syncline.dev/project": project}},
        "spec": {
            "suspend": True,
            "template": {"spec": {"restartPolicy": "Never", "containers": [container]}},
        },
    }
    client.BatchV1Api(api).create_namespaced_job(namespace, job)


def test_every_error_is_a_catalog_body(
    api_server: ApiServer, callers: Callers, namespace: str
) -> None:
    token = callers.make("viewer", VIEW)
    runs = f"/api/v1/namespaces/{namespace}/runs"
    with api_server.client(token) as http:
        assert_error(http.get("/api/v1/nowhere"), 404, 1002)
        assert_error(http.delete(runs), 405, 1018)
        assert_error(http.get(runs, params={"limit": 0}), 400, 1015)
        assert_error(http.get(runs, params={"result": "Maybe"}), 400, 1015)
        assert_error(http.get(runs, params={"continue": "garbage"}), 400, 1019)
        assert_error(http.get("/api/v1/namespaces/Not_A_Namespace/runs"), 400, 1015)
        assert_error(http.get(f"{runs}/missing"), 404, 2405)


def test_decisions_are_cached_briefly(
    api_server: ApiServer, callers: Callers, namespace: str
) -> None:
    token = callers.make("viewer", VIEW)
    authorizer = api_server.services.authorizer
    with api_server.client(token) as http:
        http.get(f"/api/v1/namespaces/{namespace}/runs")
        before = authorizer.reviews
        for _ in range(5):
            assert http.get(f"/api/v1/namespaces/{namespace}/runs").status_code == 200
        assert authorizer.reviews == before
