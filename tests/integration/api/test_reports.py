"""Reports for a fixture of successful, failed and never-run projects (API and CLI agree)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from tests.integration.api.conftest import ApiServer, Callers, make_project, make_runs, stamp
from tests.integration.api.test_auth import VIEW, assert_error

pytestmark = pytest.mark.integration


def ended(ago: timedelta, result: str, **extra: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    return {
        "result": result,
        "startTime": stamp(now - ago - timedelta(minutes=1)),
        "completionTime": stamp(now - ago),
        **extra,
    }


@pytest.fixture
def fleet(kube_api: client.ApiClient, namespace: str) -> str:
    for name in ("daily", "flaky", "broken", "stale", "never"):
        make_project(kube_api, namespace, name)
    row = {"task": "orders", "key": "7", "code": 2302, "message": "null key"}
    make_runs(
        kube_api,
        namespace,
        [
            {
                "name": "daily-1",
                "project": "daily",
                "status": ended(timedelta(hours=2), "Completed"),
            },
            {
                "name": "daily-2",
                "project": "daily",
                "status": ended(timedelta(days=3), "Error", errorCode=2000),
            },
            {
                "name": "flaky-1",
                "project": "flaky",
                "status": ended(timedelta(days=6), "Warning", rowErrors=[row]),
            },
            {
                "name": "broken-1",
                "project": "broken",
                "status": ended(timedelta(hours=1), "Error", errorCode=2000),
            },
            {
                "name": "broken-2",
                "project": "broken",
                "status": ended(timedelta(days=1), "Error", errorCode=2011, rowErrors=[row]),
            },
            {
                "name": "stale-1",
                "project": "stale",
                "status": ended(timedelta(days=9), "Completed"),
            },
        ],
    )
    return namespace


def test_reports_through_the_api(api_server: ApiServer, callers: Callers, fleet: str) -> None:
    token = callers.make("viewer", VIEW)
    base = f"/api/v1/namespaces/{fleet}/reports"
    with api_server.client(token) as http:
        week = http.get(f"{base}/protection").json()
        assert week["days"] == 7
        assert [p["name"] for p in week["protected"]] == ["daily", "flaky"]
        assert [p["name"] for p in week["unprotected"]] == ["broken", "never", "stale"]
        fortnight = http.get(f"{base}/protection", params={"days": 14}).json()
        assert [p["name"] for p in fortnight["protected"]] == ["daily", "flaky", "stale"]

        codes = http.get(f"{base}/error-codes").json()["codes"]
        assert [(c["code"], c["runs"]) for c in codes] == [(2000, 2), (2302, 2), (2011, 1)]

        fresh = {f["name"]: f for f in http.get(f"{base}/freshness").json()["items"]}
        assert 2 * 3600 <= fresh["daily"]["secondsSinceSuccess"] < 3 * 3600
        assert "secondsSinceSuccess" not in fresh["never"]
        assert "secondsSinceSuccess" not in fresh["broken"]

        everywhere = http.get("/api/v1/reports/protection").json()
        assert {p["namespace"] for p in everywhere["unprotected"]} == {fleet}
        assert_error(http.get(f"{base}/protection", params={"days": 0}), 400, 1015)
    nobody = callers.make("nobody")
    with api_server.client(nobody) as http:
        assert_error(http.get(f"{base}/freshness"), 403, 2801)


def test_syncline_reports_cli_gives_the_same_answer(kubeconfig_path: Path, fleet: str) -> None:
    syncline = str(Path(sys.executable).with_name("syncline"))
    env = {**os.environ, "KUBECONFIG": str(kubeconfig_path)}
    done = subprocess.run(
        [syncline, "reports", "protection", "-n", fleet, "-o", "json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert [p["name"] for p in report["protected"]] == ["daily", "flaky"]
    table = subprocess.run(
        [syncline, "reports", "error-codes", "-n", fleet],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert table.returncode == 0, table.stderr
    assert table.stdout.splitlines()[1].split() == ["2000", "ConnectionUnreachable", "2"]
