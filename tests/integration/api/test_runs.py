"""Runs through the REST API: filters and paging over many runs, details, logs, fail."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from kubernetes import client

from tests.integration.api.conftest import (
    GROUP,
    VERSION,
    ApiServer,
    Callers,
    make_run,
    make_runs,
    rule,
    stamp,
)
from tests.integration.api.test_auth import VIEW, assert_error

pytestmark = pytest.mark.integration
T0 = datetime(2026, 1, 1, tzinfo=UTC)
RESULTS = ("Completed", "Warning", "Error", "Running")
TRIGGERS = ("schedule", "manual", "retry")
PROJECTS = ("alpha", "beta", "gamma")
MANY = 1_050


def fixture_runs() -> list[dict[str, Any]]:
    specs = []
    for i in range(MANY):
        result = RESULTS[i % 4]
        status: dict[str, Any] = {"result": result, "startTime": stamp(T0 + timedelta(hours=i))}
        if result != "Running":
            status["completionTime"] = stamp(T0 + timedelta(hours=i, minutes=5))
        specs.append(
            {
                "name": f"run-{i:05d}",
                "project": PROJECTS[i % 3],
                "trigger": TRIGGERS[(i // 4) % 3],
                "status": status,
            }
        )
    return specs


def page_through(http: httpx.Client, path: str, **params: Any) -> tuple[list[str], int]:
    names: list[str] = []
    pages = 0
    token = None
    while True:
        query = {**params, **({"continue": token} if token else {})}
        response = http.get(path, params=query)
        assert response.status_code == 200, response.text
        body = response.json()
        assert len(body["items"]) <= params.get("limit", 50)
        names += [item["name"] for item in body["items"]]
        pages += 1
        token = body.get("continue")
        if not token:
            return names, pages


def test_filters_and_paging_over_a_thousand_runs(
    api_server: ApiServer, callers: Callers, kube_api: client.ApiClient, namespace: str
) -> None:
    specs = fixture_runs()
    make_runs(kube_api, namespace, specs)
    token = callers.make("viewer", VIEW)
    path = f"/api/v1/namespaces/{namespace}/runs"
    with api_server.client(token) as http:
        everything, pages = page_through(http, path, limit=100)
        assert everything == [s["name"] for s in specs]  # each once, in name order
        assert pages == 11

        since, until = T0 + timedelta(hours=100), T0 + timedelta(hours=700)
        cases: list[tuple[dict[str, Any], Any]] = [
            ({"project": "beta"}, lambda s: s["project"] == "beta"),
            ({"result": "Error"}, lambda s: s["status"]["result"] == "Error"),
            ({"trigger": "retry"}, lambda s: s["trigger"] == "retry"),
            (
                {"since": since.isoformat(), "until": until.isoformat()},
                lambda s: since <= _started(s) < until,
            ),
            (
                {"project": "alpha", "result": "Warning", "trigger": "retry"},
                lambda s: (
                    (s["project"], s["status"]["result"], s["trigger"])
                    == ("alpha", "Warning", "retry")
                ),
            ),
        ]
        for params, wanted in cases:
            names, _ = page_through(http, path, limit=37, **params)
            assert names == [s["name"] for s in specs if wanted(s)], params
            assert names

        first = http.get(path, params={"limit": 10, "project": "gamma"}).json()
        assert_error(http.get(path, params={"continue": first["continue"]}), 400, 1019)


def test_paging_is_a_consistent_snapshot_while_runs_are_created(
    api_server: ApiServer, callers: Callers, kube_api: client.ApiClient, namespace: str
) -> None:
    make_runs(
        kube_api, namespace, [{"name": f"run-{i:03d}", "project": "p"} for i in range(0, 40, 2)]
    )
    token = callers.make("viewer", VIEW)
    path = f"/api/v1/namespaces/{namespace}/runs"
    with api_server.client(token) as http:
        first = http.get(path, params={"limit": 7}).json()
        make_runs(
            kube_api, namespace, [{"name": f"run-{i:03d}", "project": "p"} for i in range(1, 40, 2)]
        )
        names = [r["name"] for r in first["items"]]
        token_ = first["continue"]
        while token_:
            body = http.get(path, params={"limit": 7, "continue": token_}).json()
            names += [r["name"] for r in body["items"]]
            token_ = body.get("continue")
    assert names == [f"run-{i:03d}" for i in range(0, 40, 2)]


def _started(spec: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(spec["status"]["startTime"].replace("Z", "+00:00"))


def test_run_details_and_log_download(
    api_server: ApiServer, callers: Callers, kube_api: client.ApiClient, namespace: str
) -> None:
    row_error = {"task": "orders", "key": "A-1", "field": "total", "code": 2302, "message": "null"}
    task = {"name": "orders", "result": "Warning", "read": 10, "inserted": 9, "failed": 1}
    status = {
        "result": "Warning",
        "read": 10,
        "inserted": 9,
        "failed": 1,
        "tasks": [task],
        "rowErrors": [row_error],
        "logRef": "nightly-1-log",
    }
    make_run(kube_api, namespace, "nightly-1", "orders", status=status)
    make_run(kube_api, namespace, "nightly-2", "orders", status={"result": "Completed"})
    custom: Any = client.CustomObjectsApi(kube_api)
    run = custom.get_namespaced_custom_object(
        GROUP, VERSION, namespace, "integrationruns", "nightly-1"
    )
    log = "".join(f'{{"line": {i}, "msg": "batch written"}}\n' for i in range(5000))
    owner = {"apiVersion": f"{GROUP}/{VERSION}", "kind": "IntegrationRun", "name": "nightly-1"}
    client.CoreV1Api(kube_api).create_namespaced_config_map(
        namespace,
        {
            "metadata": {
                "name": "nightly-1-log",
                "labels": {"syncline.dev/run": "nightly-1"},
                "ownerReferences": [{**owner, "uid": run["metadata"]["uid"]}],
            },
            "data": {"run.log": log},
        },
    )
    token = callers.make("viewer", VIEW)
    base = f"/api/v1/namespaces/{namespace}/runs"
    with api_server.client(token) as http:
        details = http.get(f"{base}/nightly-1").json()
        assert details["counts"]["read"] == 10
        assert details["tasks"][0]["name"] == "orders"
        assert details["rowErrors"] == [row_error]
        assert details["logAvailable"] is True
        with http.stream("GET", f"{base}/nightly-1/logs") as response:
            assert response.status_code == 200
            assert "attachment" in response.headers["content-disposition"]
            downloaded = b"".join(response.iter_bytes()).decode()
        assert downloaded == log
        assert_error(http.get(f"{base}/nightly-2/logs"), 404, 1650)


def test_failing_a_stuck_run_and_not_a_finished_one(
    api_server: ApiServer, callers: Callers, kube_api: client.ApiClient, namespace: str
) -> None:
    started = stamp(datetime.now(UTC) - timedelta(hours=3))
    make_run(
        kube_api, namespace, "stuck", "orders", status={"result": "Running", "startTime": started}
    )
    make_run(kube_api, namespace, "done", "orders", status={"result": "Completed"})
    viewer = callers.make("viewer", VIEW)
    operator = callers.make("operator", [rule(["integrationruns/status"], ["patch"])])
    base = f"/api/v1/namespaces/{namespace}/runs"
    with api_server.client(viewer) as http:
        assert_error(http.post(f"{base}/stuck/fail"), 403, 2801)
    user = f"system:serviceaccount:{namespace}:operator"
    with api_server.client(operator) as http:
        answer = http.post(f"{base}/stuck/fail")
        assert answer.status_code == 200, answer.text
        assert answer.json()["code"] == 2403
        assert user in answer.json()["message"]
        assert_error(http.post(f"{base}/done/fail"), 409, 1658)
        assert_error(http.post(f"{base}/stuck/fail"), 409, 1658)
    custom: Any = client.CustomObjectsApi(kube_api)
    status = custom.get_namespaced_custom_object(
        GROUP, VERSION, namespace, "integrationruns", "stuck"
    )["status"]
    assert (status["result"], status["errorCode"]) == ("Error", 2403)
    audited = [(e[0].username, e[1], e[3]) for e in api_server.audited if e[2].endswith("/stuck")]
    assert (user, "run.fail", "Success") in audited
