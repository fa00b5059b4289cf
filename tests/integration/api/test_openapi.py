"""The OpenAPI document against the served API: Schemathesis finds no server error and
no response that contradicts the document; Swagger UI (served by the API itself, no CDN)
renders the operations in headless Chromium."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from kubernetes import client
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.integration.api.conftest import ApiServer, Callers, make_project, make_runs, rule

pytestmark = pytest.mark.integration
CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="module")
def populated(
    api_server: ApiServer, kube_api: client.ApiClient, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, str]]:
    """A namespace with projects and runs, and a token allowed everything Syncline there."""
    core = client.CoreV1Api(kube_api)
    ns = f"t-openapi-{tmp_path_factory.getbasetemp().name[-6:]}".replace("_", "-").lower()
    core.create_namespace({"metadata": {"name": ns}})
    make_project(kube_api, ns, "orders")
    status = {"result": "Error", "errorCode": 2000, "startTime": "2026-11-01T10:00:00Z"}
    make_runs(
        kube_api,
        ns,
        [{"name": f"orders-{i}", "project": "orders", "status": status} for i in range(5)],
    )
    everything = [
        rule(["*"], ["*"]),
        rule(["jobs"], ["list"], group="batch"),
        rule(["configmaps"], ["get"], group=""),
    ]
    yield ns, Callers(kube_api, ns).make("fuzzer", everything)
    core.delete_namespace(ns)


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def test_no_server_error_and_no_schema_violation(
    api_server: ApiServer, populated: tuple[str, str]
) -> None:
    """Every operation, with generated parameters and bodies, as a caller RBAC allows."""
    namespace, token = populated
    schema = schemathesis.openapi.from_url(f"{api_server.url}/api/v1/openapi.json")
    headers = {"Authorization": f"Bearer {token}"}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 17
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=12,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def exercise(case: Any) -> None:
            if case.path_parameters and "namespace" in case.path_parameters:
                case.path_parameters["namespace"] = namespace
            case.call_and_validate(base_url=api_server.url, headers=headers, checks=CHECKS)

        exercise()


def test_swagger_ui_renders_the_operations_without_a_cdn(
    api_server: ApiServer, tmp_path: Path
) -> None:
    from playwright.sync_api import sync_playwright

    page_html = httpx.get(f"{api_server.url}/api/v1/docs").text
    assert "http" not in page_html  # no absolute URL: nothing loaded from elsewhere
    outside: list[str] = []
    shot = tmp_path / "swagger-ui.png"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 2000})
            page.on(
                "request",
                lambda r: outside.append(r.url) if not r.url.startswith(api_server.url) else None,
            )
            page.goto(f"{api_server.url}/api/v1/docs")
            page.wait_for_selector(".opblock-summary-path", timeout=30_000)
            paths = page.locator(".opblock-summary-path").all_inner_texts()
            assert page.locator(".btn.authorize").is_visible()
            page.screenshot(path=str(shot), full_page=True)
        finally:
            browser.close()
    assert any("/api/v1/namespaces/{namespace}/runs" in p for p in paths), paths
    assert any("/api/v1/namespaces/{namespace}/runs/{name}/logs" in p for p in paths)
    assert outside == []  # every asset from the API itself
    assert shot.stat().st_size > 10_000
