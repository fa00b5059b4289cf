"""The REST JSON connector against a real HTTP API, in every pagination style."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from syncline.engine.connectors import open_sink, open_source
from syncline.engine.connectors.base import Source
from syncline.engine.connectors.rest import RestConnector
from syncline.engine.runner import run_project
from syncline.errors import SynclineError
from tests.fixtures.rest_server import STYLES, RestServer, rest_spec
from tests.fixtures.throttle_proxy import ThrottleProxy
from tests.integration.engine.conftest import make_harness
from tests.integration.engine.harness import Harness
from tests.integration.engine.projects import project, task

pytestmark = pytest.mark.integration

COUNT = 50
RECORDS = [
    {
        "id": i,
        "name": f"customer {i}",
        "score": i / 4,
        "changed": f"2024-01-{1 + i % 28:02d}T10:00:00Z",
        "active": i % 3 == 0,
        "ignored": {"nested": True},
    }
    for i in range(1, COUNT + 1)
]
FIELDS = [
    {"name": "id", "type": "integer", "nullable": False},
    {"name": "name"},
    {"name": "score", "type": "number"},
    {"name": "changed", "type": "timestamp"},
    {"name": "active", "type": "boolean"},
]
PAGES = {"none": 1, "nextLink": 8, "linkHeader": 8, "pageNumber": 8, "offset": 8, "cursor": 8}
"""Requests a full read takes: 50 records in pages of 7 are 8 pages (the last short)."""


def _entity(path: str, **extra: Any) -> dict[str, Any]:
    return {"name": "customers", "path": path, "fields": FIELDS, "key": ["id"], **extra}


@pytest.fixture(scope="module")
def dataset(rest_server: RestServer) -> str:
    rest_server.load("customers", RECORDS)
    return "customers"


def _read(source: Source, **kwargs: Any) -> list[pa.RecordBatch]:
    try:
        return list(source.read("customers", **kwargs))
    finally:
        source.close()


@pytest.mark.parametrize("style", list(STYLES))
def test_every_pagination_style_reads_every_record_once(
    rest_server: RestServer, dataset: str, style: str
) -> None:
    source = open_source(
        rest_spec(rest_server, [_entity(dataset)], style=style), {}, timeout_seconds=5
    )
    assert isinstance(source, RestConnector)
    before = rest_server.stats()["requests"]
    batches = _read(source, batch_size=10)
    assert all(b.num_rows <= 10 for b in batches)
    rows = [r for b in batches for r in b.to_pylist()]
    assert [r["id"] for r in rows] == list(range(1, COUNT + 1))
    assert rows[3]["score"] == 1.0
    assert rows[2]["active"] is True
    assert str(rows[0]["changed"]) == "2024-01-02 10:00:00"
    assert rest_server.stats()["requests"] - before == PAGES[style]


@pytest.mark.parametrize("server_side", [True, False])
def test_incremental_reads_return_only_records_past_the_watermark(
    rest_server: RestServer, dataset: str, server_side: bool
) -> None:
    extra = {"cursorParam": "after", "params": {"cursor_field": "changed"}} if server_side else {}
    spec = rest_spec(rest_server, [_entity(dataset, **extra)], style="cursor")
    source = open_source(spec, {}, timeout_seconds=5)
    batches = _read(source, batch_size=100, cursor_field="changed", after="2024-01-25T10:00:00")
    ids = sorted(r["id"] for b in batches for r in b.to_pylist())
    expected = sorted(r["id"] for r in RECORDS if str(r["changed"]) > "2024-01-25T10:00:00Z")
    assert ids
    assert ids == expected


def test_the_catalog_is_the_declaration(rest_server: RestServer, dataset: str) -> None:
    spec = rest_spec(rest_server, [_entity(dataset)], style="offset")
    source = open_source(spec, {}, timeout_seconds=5)
    try:
        source.check()
        entities, total = source.discover()
        with pytest.raises(SynclineError) as err:
            source.describe("orders")
    finally:
        source.close()
    assert (total, [e.name for e in entities]) == (1, ["customers"])
    assert [f.name for f in entities[0].fields] == ["id", "name", "score", "changed", "active"]
    assert entities[0].unique_keys == [["id"]]
    assert err.value.code == 2004


def test_a_wrong_records_path_is_reported_with_its_code(
    rest_server: RestServer, dataset: str
) -> None:
    spec = rest_spec(rest_server, [_entity(dataset, recordsPath="data.rows")], style="offset")
    with pytest.raises(SynclineError) as err:
        _read(open_source(spec, {}, timeout_seconds=5), batch_size=10)
    assert err.value.code == 2032
    assert "data.rows" in str(err.value)


def test_a_missing_collection_is_reported_with_its_code(rest_server: RestServer) -> None:
    spec = rest_spec(rest_server, [_entity("absent")], style="offset")
    with pytest.raises(SynclineError) as err:
        _read(open_source(spec, {}, timeout_seconds=5), batch_size=10)
    assert err.value.code == 2014
    assert "404" in str(err.value)


def test_an_entity_without_an_upsert_path_is_no_destination(
    rest_server: RestServer, dataset: str
) -> None:
    sink = open_sink(rest_spec(rest_server, [_entity(dataset)]), {}, timeout_seconds=5)
    try:
        with pytest.raises(SynclineError) as err:
            sink.merge("customers", pa.table({"id": [1]}).to_batches()[0], ["id"])
    finally:
        sink.close()
    assert err.value.code == 2033


def test_postgresql_to_rest_sends_only_new_and_changed_records(
    rest_server: RestServer, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """True counts; an identical re-run sends no write; 1 % changed sends only those; a
    record the API refuses is a row error with its key while the rest lands."""
    count = 300
    pg = make_harness("postgresql", request, tmp_path)
    pg.execute("CREATE TABLE people (id bigint PRIMARY KEY, name text, score double precision)")
    rows = [(i, f"person {i}", i / 2) for i in range(1, count + 1)]
    pg.execute("INSERT INTO people VALUES (%s, %s, %s)", rows)
    target = {
        "name": "people",
        "path": "people-dst",
        "key": ["id"],
        "fields": [
            {"name": "id", "type": "integer"},
            {"name": "name"},
            {"name": "score", "type": "number"},
        ],
        "upsert": {"path": "items/people-dst/{id}"},
    }
    spec = rest_spec(rest_server, [target], style="none", rejectsPath="rejects/people-dst")
    spec.options.parallelism = 4
    p = project(
        pg, Harness("rest", spec), [task(source="people", destination="people")], name="to-rest"
    )

    def writes() -> int:
        return rest_server.stats()["writes"]

    before = writes()
    first = run_project(p)
    assert (first.totals.inserted, first.totals.unchanged) == (count, 0), first.message()
    assert writes() - before == count

    before = writes()
    again = run_project(p)
    assert (again.totals.inserted, again.totals.updated, again.totals.unchanged) == (0, 0, count)
    assert writes() == before  # nothing sent

    pg.execute("UPDATE people SET score = score + 1 WHERE id % 100 = 0")
    pg.execute("UPDATE people SET name = repeat('x', 60) WHERE id = 7")  # the API refuses it
    before = writes()
    changed = run_project(p)
    assert (changed.totals.updated, changed.totals.failed) == (3, 1), changed.message()
    assert writes() - before == 3
    errors = [e for t in changed.tasks for e in t.row_errors]
    assert [(e.key, e.code) for e in errors] == [("id=7", 2303)]
    assert [r["key"] for r in rest_server.records("rejects-people-dst")] == ["id=7"]
    held = {r["id"]: r for r in rest_server.records("people-dst")}
    assert len(held) == count
    assert held[100]["score"] == 51.0
    assert held[7]["name"] == "person 7"


@pytest.mark.parametrize("style", list(STYLES))
def test_rest_to_postgresql_runs_with_true_counts(
    rest_server: RestServer,
    dataset: str,
    style: str,
    request: pytest.FixtureRequest,
    tmp_path: Path,
) -> None:
    source = Harness("rest", rest_spec(rest_server, [_entity(dataset)], style=style))
    dst = make_harness("postgresql", request, tmp_path)
    dst.create(
        "dst_table",
        pa.table({"id": pa.array([], pa.int64()), "name": pa.array([], pa.string())}),
        keys=["id"],
    )
    mappings = [{"destination": "id", "source": "id"}, {"destination": "name", "source": "name"}]
    p = project(source, dst, [task(source="customers", mappings=mappings)], name=f"rest-{style}")
    first = run_project(p)
    assert (first.totals.read, first.totals.inserted) == (COUNT, COUNT), first.message()
    again = run_project(p)
    assert (again.totals.read, again.totals.unchanged) == (COUNT, COUNT), again.message()
    assert [r["id"] for r in dst.content("dst_table")] == list(range(1, COUNT + 1))


def test_a_throttled_api_is_waited_for_by_every_worker(
    rest_server: RestServer,
    throttle_proxy: type[ThrottleProxy],
    request: pytest.FixtureRequest,
    tmp_path: Path,
) -> None:
    """429 with Retry-After to 20 % of requests (a real proxy in the path): the run
    completes with the same content, and no request arrives while a wait runs."""
    count = 24
    proxy = throttle_proxy(rest_server.url)
    proxy.throttle_share, proxy.retry_after = 0.2, 1
    pg = make_harness("postgresql", request, tmp_path)
    pg.execute("CREATE TABLE parts (id bigint PRIMARY KEY, name text)")
    pg.execute("INSERT INTO parts VALUES (%s, %s)", [(i, f"part {i}") for i in range(count)])
    target = {
        "name": "parts",
        "path": "parts-dst",
        "key": ["id"],
        "fields": [{"name": "id", "type": "integer"}, {"name": "name"}],
        "upsert": {"path": "items/parts-dst/{id}"},
    }
    spec = rest_spec(RestServer(proxy.url("/")), [target], style="none")
    spec.options.max_retries = 5
    p = project(pg, Harness("rest", spec), [task(source="parts", destination="parts")], name="t")
    report = run_project(p)
    assert (report.totals.inserted, report.totals.failed) == (count, 0), report.message()
    assert proxy.log.windows  # it did throttle
    assert proxy.violations() == []
    assert sorted(r["id"] for r in rest_server.records("parts-dst")) == list(range(count))
