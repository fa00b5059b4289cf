"""A `system` fixture parametrised over every real system the engine connects to."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.engine.harness import (
    Harness,
    file_harness,
    mysql_harness,
    odata_harness,
    postgres_harness,
    rest_harness,
    sqlite_harness,
)
from tests.integration.engine.odata_harness import ODataModel

SINK_SYSTEMS = ["postgresql", "mysql", "sqlite", "csv", "parquet", "odata", "rest"]
SOURCE_SYSTEMS = [*SINK_SYSTEMS, "jsonl"]


def make_harness(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> Harness:
    if kind == "postgresql":
        return postgres_harness(request.getfixturevalue("pg_db"))
    if kind == "mysql":
        return mysql_harness(request.getfixturevalue("mariadb_db"))
    if kind == "rest":
        return rest_harness(request.getfixturevalue("rest_server"))
    if kind == "odata":
        model = ODataModel()
        request.addfinalizer(model.stop)
        model.start()
        return odata_harness(model)
    if kind == "sqlite":
        return sqlite_harness(tmp_path)
    return file_harness(tmp_path, f".{kind}")


@pytest.fixture(params=SOURCE_SYSTEMS)
def source_system(request: pytest.FixtureRequest, tmp_path: Path) -> Harness:
    """A real system the engine can read from."""
    return make_harness(request.param, request, tmp_path)


@pytest.fixture(params=SINK_SYSTEMS)
def sink_system(request: pytest.FixtureRequest, tmp_path: Path) -> Harness:
    """A real system the engine can write to."""
    return make_harness(request.param, request, tmp_path)
