"""OData projects run locally with the engine, against a real CAP server and PostgreSQL.

CAP → PostgreSQL (server-driven paging, incremental $filter) and PostgreSQL → CAP
(compare-first upserts in $batch): true counts, no writes on an identical re-run, only
the changed records on a 1 % change. Between the engine and CAP, a real proxy throttles
(429 with Retry-After) or drops connections mid-$batch; a row CAP refuses in a $batch is
reported with its key and code while the rest lands.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pytest

from syncline.api.connection import ConnectionSpec
from syncline.api.run import RunResult
from syncline.devcluster.databases import DatabaseAccess
from syncline.engine.report import RunReport
from syncline.engine.runner import run_project
from tests.fixtures.odata import ODataServer
from tests.fixtures.throttle_proxy import ThrottleProxy
from tests.integration.engine.harness import Harness, postgres_harness
from tests.integration.engine.projects import project, task

pytestmark = pytest.mark.integration

COUNT = 1200
START = datetime(2024, 1, 1, tzinfo=UTC)
PG_CUSTOMERS = (
    'CREATE TABLE customers ("ID" bigint PRIMARY KEY, name text, email text,'
    " balance numeric(12,2), birthday date, active boolean, score double precision,"
    ' age integer, "modifiedAt" timestamptz)'
)


def customers(count: int = COUNT) -> pa.Table:
    return pa.table(
        {
            "ID": pa.array(range(1, count + 1), pa.int64()),
            "name": pa.array([f"customer {i} O'Neil" for i in range(1, count + 1)]),
            "email": pa.array([None if i % 7 == 0 else f"c{i}@example.org" for i in range(count)]),
            "balance": pa.array(
                [Decimal(i * 37 % 100000) / 100 for i in range(count)], pa.decimal128(12, 2)
            ),
            "birthday": pa.array([date(1980, 1, 1) + timedelta(days=i) for i in range(count)]),
            "active": pa.array([i % 3 == 0 for i in range(count)]),
            "score": pa.array([i / 8 for i in range(count)], pa.float64()),
            "age": pa.array([20 + i % 60 for i in range(count)], pa.int32()),
            "modifiedAt": pa.array(
                [START + timedelta(minutes=i, milliseconds=123) for i in range(count)],
                pa.timestamp("us", "UTC"),
            ),
        }
    )


def odata(server_url: str, token: str, **options: Any) -> Harness:
    spec = ConnectionSpec.model_validate(
        {
            "type": "odata",
            "endpoint": {"url": server_url},
            "credentials": {"secretRef": {"name": "cap-creds"}},
            "options": {
                "stateEntitySet": "SynclineState",
                "rejectsEntitySet": "SynclineRejects",
                **options,
            },
        }
    )
    return Harness("odata", spec, {"token": token})


def pg_with_customers(db: DatabaseAccess, table: pa.Table) -> Harness:
    pg = postgres_harness(db)
    pg.execute(PG_CUSTOMERS)
    cols = ", ".join(f'"{n}"' for n in table.schema.names)
    marks = ", ".join(["%s"] * table.num_columns)
    rows = [tuple(r.values()) for r in table.to_pylist()]
    pg.execute(f"INSERT INTO customers ({cols}) VALUES ({marks})", rows)
    return pg


def to_cap(pg: Harness, cap: Harness) -> Callable[[], RunReport]:
    p = project(pg, cap, [task(source="customers", destination="Customers", keys=["ID"])])
    return lambda: run_project(p)


def summary(rows: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """Comparable content of Customers rows from either side."""
    out = []
    for r in sorted(rows, key=lambda r: r["ID"]):
        moment = r["modifiedAt"]
        if isinstance(moment, str):
            moment = datetime.fromisoformat(moment.replace("Z", "+00:00"))
        out.append(
            (
                r["ID"],
                r["name"],
                r["email"],
                Decimal(str(r["balance"])).normalize(),
                str(r["birthday"]),
                r["active"],
                float(r["score"]),
                r["age"],
                moment.astimezone(UTC),
            )
        )
    return out


def totals(report: RunReport) -> tuple[int, int, int, int]:
    t = report.totals
    return t.inserted, t.updated, t.unchanged, t.failed


def test_cap_to_postgres_pages_and_reads_incrementally(
    odata_server: ODataServer, pg_db: DatabaseAccess
) -> None:
    source = customers()
    odata_server.upsert("Customers", ["ID"], [_json(r) for r in source.to_pylist()])
    cap = odata(odata_server.url, odata_server.token)
    pg = postgres_harness(pg_db)
    pg.execute(PG_CUSTOMERS)
    t = task(
        source="Customers",
        destination="customers",
        keys=["ID"],
        source_extra={"incremental": {"cursorField": "modifiedAt"}},
    )
    p = project(cap, pg, [t])
    odata_server.reset_stats()
    first = run_project(p)
    assert first.result is RunResult.COMPLETED, (first.message(), first.row_errors[:2])
    assert (first.totals.read, *totals(first)) == (COUNT, COUNT, 0, 0, 0)
    assert odata_server.stats()["byMethod"]["GET"] >= COUNT // 500  # paged by nextLink
    assert summary(pg.content("customers", order_by="ID")) == summary(
        odata_server.rows("Customers")
    )
    again = run_project(p)
    # "modifiedAt gt <watermark>" pushed down: only the watermark's look-back is read again
    assert again.totals.read < 10
    assert totals(again)[:2] == (0, 0)
    newer = {**_json(source.to_pylist()[5]), "name": "renamed"}
    newer["modifiedAt"] = (START + timedelta(days=30)).isoformat()
    odata_server.upsert("Customers", ["ID"], [newer])
    third = run_project(p)
    assert totals(third)[:2] == (0, 1)
    assert third.totals.read < 10
    assert summary(pg.content("customers", order_by="ID")) == summary(
        odata_server.rows("Customers")
    )


def test_postgres_to_cap_true_counts_no_rewrites_and_only_changes(
    odata_server: ODataServer, pg_db: DatabaseAccess
) -> None:
    pg = pg_with_customers(pg_db, customers())
    cap = odata(odata_server.url, odata_server.token, batchOperations=100)
    run = to_cap(pg, cap)
    first = run()
    assert first.result is RunResult.COMPLETED, first.message()
    assert totals(first) == (COUNT, 0, 0, 0)
    assert summary(odata_server.rows("Customers")) == summary(pg.content("customers", "ID"))
    odata_server.reset_stats()
    second = run()
    assert totals(second) == (0, 0, COUNT, 0)
    assert odata_server.write_requests() == 0  # compare first: nothing sent
    changed = COUNT // 100
    pg.execute(f'UPDATE customers SET age = age + 1 WHERE "ID" % 100 = 0 AND "ID" <= {COUNT}')
    odata_server.reset_stats()
    third = run()
    assert totals(third) == (0, changed, COUNT - changed, 0)
    stats = odata_server.stats()
    assert (stats["batches"], stats["writes"]) == (1, 0)  # 12 PATCHes in one $batch
    assert summary(odata_server.rows("Customers")) == summary(pg.content("customers", "ID"))


def test_throttled_run_waits_together_and_lands_the_same_data(
    odata_server_factory: Callable[..., ODataServer],
    pg_db: DatabaseAccess,
    throttle_proxy: type[ThrottleProxy],
) -> None:
    pg = pg_with_customers(pg_db, customers(300))
    plain, throttled = odata_server_factory(), odata_server_factory()
    proxy = throttle_proxy(throttled.root)
    proxy.throttle_share, proxy.retry_after = 0.2, 2
    options = {"batchOperations": 20, "parallelism": 4, "maxRetries": 3}
    reference = to_cap(pg, odata(plain.url, plain.token, **options))()
    report = to_cap(pg, odata(proxy.url("/odata"), throttled.token, **options))()
    assert report.result is RunResult.COMPLETED, report.message()
    assert totals(report) == totals(reference) == (300, 0, 0, 0)
    assert len(proxy.log.windows) >= 3
    assert proxy.violations() == []  # nothing arrived while a Retry-After ran
    assert throttled.rows("Customers") == plain.rows("Customers")


def test_connection_dropped_mid_batch_fails_with_a_code_and_a_rerun_converges(
    odata_server: ODataServer, pg_db: DatabaseAccess, throttle_proxy: type[ThrottleProxy]
) -> None:
    pg = pg_with_customers(pg_db, customers(300))
    proxy = throttle_proxy(odata_server.root)
    proxy.drop(1, "$batch", after_forward=True)  # CAP writes it; the answer never comes
    proxy.drop(1000, "$batch", after_forward=False)  # then CAP sees none at all
    cap = odata(proxy.url("/odata"), odata_server.token, batchOperations=50, maxRetries=1)
    failed = to_cap(pg, cap)()
    assert failed.result is RunResult.ERROR
    assert failed.tasks[0].error is not None
    assert failed.tasks[0].error.code == 2000, failed.message()
    assert proxy.log.dropped >= 2
    proxy.heal()
    rerun = to_cap(pg, cap)()
    assert rerun.result is RunResult.COMPLETED, rerun.message()
    assert totals(rerun) == (250, 0, 50, 0)  # the batch CAP took before the drop: unchanged
    assert summary(odata_server.rows("Customers")) == summary(pg.content("customers", "ID"))


def test_a_row_refused_in_a_batch_is_reported_by_key_and_the_rest_lands(
    odata_server: ODataServer, pg_db: DatabaseAccess
) -> None:
    pg = pg_with_customers(pg_db, customers(200))
    pg.execute('UPDATE customers SET age = 200 WHERE "ID" = 17')  # CAP: @assert.range [0,150]
    pg.execute('UPDATE customers SET name = NULL WHERE "ID" = 42')  # CAP: not null
    report = to_cap(pg, odata(odata_server.url, odata_server.token, batchOperations=100))()
    assert report.result is RunResult.WARNING, report.message()
    assert totals(report) == (198, 0, 0, 2)
    errors = {e.key: e for e in report.row_errors}
    assert set(errors) == {"ID=17", "ID=42"}
    assert {e.code for e in errors.values()} == {2016}
    assert "between 0 and 150" in errors["ID=17"].message
    landed = sorted(r["ID"] for r in odata_server.rows("Customers"))
    assert landed == [i for i in range(1, 201) if i not in (17, 42)]
    stored = odata_server.rows("SynclineRejects")
    assert sorted(r["rowKey"] for r in stored) == ["ID=17", "ID=42"]


def _json(row: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for k, v in row.items():
        if isinstance(v, datetime | date):
            v = v.isoformat()
        elif isinstance(v, Decimal):
            v = float(v)
        out[k] = v
    return out
