"""The application's shape without a cluster: errors for unknown routes, the document."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from kubernetes import client

from syncline.cli.api import parse_address
from syncline.errors import BY_CODE
from syncline.rest import create_app


@pytest.fixture(scope="module")
def http() -> TestClient:
    return TestClient(create_app(client.ApiClient()))


def test_unknown_routes_and_methods_are_catalog_errors(http: TestClient) -> None:
    missing = http.get("/api/v1/nowhere")
    assert (missing.status_code, missing.json()["code"]) == (404, 1002)
    wrong = http.delete("/api/v1/errors")
    assert (wrong.status_code, wrong.json()["code"]) == (405, 1018)
    assert http.get("/api/v1/errors").json()["code"] == 2800


def test_the_document_is_openapi_31_and_every_operation_declares_catalog_errors(
    http: TestClient,
) -> None:
    document = http.get("/api/v1/openapi.json").json()
    assert document["openapi"].startswith("3.1")
    assert "HTTPValidationError" not in document["components"]["schemas"]
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            declared = set(operation["responses"])
            assert {"400", "401", "403", "500"} <= declared, (method, path)
            assert "422" not in declared
            assert "bearer" in str(operation.get("security", "")).lower() or path == "/healthz"


def test_swagger_ui_is_served_with_its_own_assets(http: TestClient) -> None:
    page = http.get("/api/v1/docs")
    assert page.status_code == 200
    assert "/api/v1/docs/assets/swagger-ui-bundle.js" in page.text
    assert "http" not in page.text
    bundle = http.get("/api/v1/docs/assets/swagger-ui-bundle.js")
    assert bundle.status_code == 200
    assert len(bundle.content) > 100_000


def test_the_error_codes_of_this_api_are_in_the_catalog() -> None:
    for code in (1018, 1019, 1020, 1021, 1022, 2800, 2801, 2810, 2811):
        assert code in BY_CODE


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("127.0.0.1:8443", ("127.0.0.1", 8443)),
        ("[::1]:80", ("::1", 80)),
        ("0.0.0.0:0", ("0.0.0.0", 0)),
    ],
)
def test_addresses(address: str, expected: tuple[str, int]) -> None:
    assert parse_address(address) == expected
