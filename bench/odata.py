"""OData sink benchmark: upserts via $batch vs one request per row, and throttled share.

``python -m bench.odata [--rows N] [--throttle-rows N]`` starts the CAP server of
tools/odata-server (``make odata-server`` installs it) on loopback with an in-memory
database, and measures:

1. rows/s of the OData sink inserting ``--rows`` Customers with ``batchOperations`` 100
   ($batch) and 1 (one PATCH per row), both with parallelism 4, each into a fresh server
   (side by side, so the ratio is what counts on this shared 2-core machine);
2. under a real proxy enforcing a rate limit (``--limit`` requests per ``--window``
   seconds, 429 with Retry-After until the window ends), the share of that limit the
   sink's forwarded requests used over the run, and whether any request arrived during
   an announced Retry-After window (goal: ≥ 80 % used, none during a wait).
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pyarrow as pa
from tests.fixtures.odata import start_odata_server, stop_odata_server
from tests.fixtures.throttle_proxy import ThrottleProxy

from syncline.api.connection import ConnectionSpec
from syncline.engine.connectors.odata import OdataConnector


def customers(count: int) -> pa.Table:
    start = datetime(2024, 1, 1, tzinfo=UTC)
    return pa.table(
        {
            "ID": pa.array(range(1, count + 1), pa.int64()),
            "name": pa.array([f"customer {i}" for i in range(count)]),
            "email": pa.array([f"c{i}@example.org" for i in range(count)]),
            "balance": pa.array(
                [Decimal(i * 37 % 100000) / 100 for i in range(count)], pa.decimal128(12, 2)
            ),
            "birthday": pa.array(
                [date(1980, 1, 1) + timedelta(days=i % 9000) for i in range(count)]
            ),
            "active": pa.array([i % 3 == 0 for i in range(count)]),
            "score": pa.array([i / 8 for i in range(count)], pa.float64()),
            "age": pa.array([20 + i % 60 for i in range(count)], pa.int32()),
            "modifiedAt": pa.array(
                [start + timedelta(seconds=i) for i in range(count)], pa.timestamp("us", "UTC")
            ),
        }
    )


def sink(url: str, token: str, **options: Any) -> OdataConnector:
    spec = ConnectionSpec.model_validate(
        {
            "type": "odata",
            "endpoint": {"url": url},
            "credentials": {"secretRef": {"name": "bench"}},
            "options": options,
        }
    )
    return OdataConnector(spec, {"token": token}, timeout_seconds=60)


def upload(connector: OdataConnector, table: pa.Table, batch_rows: int) -> float:
    """Seconds to merge ``table`` in batches of ``batch_rows`` (as the runner would)."""
    started = time.perf_counter()
    for batch in table.to_batches(max_chunksize=batch_rows):
        counts = connector.merge("Customers", batch, ["ID"])
        assert counts.inserted == batch.num_rows, counts
    return time.perf_counter() - started


def with_server(fn: Callable[[str, str, str], dict[str, Any]]) -> dict[str, Any]:
    server = start_odata_server()
    try:
        return fn(server.url, server.root, server.token)
    finally:
        stop_odata_server(server)


def batch_vs_rows(rows: int) -> dict[str, Any]:
    table = customers(rows)
    out: dict[str, Any] = {"rows": rows}
    for mode, ops in (("batch", 100), ("per_row", 1)):

        def run(url: str, _root: str, token: str, ops: int = ops) -> dict[str, Any]:
            connector = sink(url, token, batchOperations=ops, parallelism=4)
            try:
                seconds = upload(connector, table, 1000)
                return {"seconds": round(seconds, 2), "requests": connector.http.stats.requests}
            finally:
                connector.close()

        result = with_server(run)
        result["rows_per_s"] = round(rows / result["seconds"])
        out[mode] = result
    out["speedup"] = round(out["batch"]["rows_per_s"] / out["per_row"]["rows_per_s"], 1)
    return out


def throttled_share(rows: int, limit: int, window: float, ops: int) -> dict[str, Any]:
    table = customers(rows)

    def run(_url: str, root: str, token: str) -> dict[str, Any]:
        proxy = ThrottleProxy(root)
        proxy.rate_limit, proxy.rate_window = limit, window
        connector = sink(proxy.url("/odata"), token, batchOperations=ops, parallelism=4)
        try:
            connector.check()
            proxy.reset_log()
            seconds = upload(connector, table, 1000)
            forwarded = len(proxy.log.forwarded)
            allowed = limit / window * seconds
            return {
                "rows": rows,
                "limit": f"{limit} requests / {window:g} s",
                "batch_operations": ops,
                "seconds": round(seconds, 2),
                "forwarded": forwarded,
                "throttled_answers": len(proxy.log.windows),
                "share_of_limit": round(forwarded / allowed, 3),
                "requests_during_waits": len(proxy.violations()),
            }
        finally:
            connector.close()
            proxy.close()

    return with_server(run)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=3000)
    parser.add_argument("--throttle-rows", type=int, default=1000)
    parser.add_argument("--limit", type=int, default=10)
    parser.add_argument("--window", type=float, default=5.0)
    parser.add_argument("--throttle-ops", type=int, default=10)
    args = parser.parse_args()
    results = {
        "upsert": batch_vs_rows(args.rows),
        "throttled": throttled_share(
            args.throttle_rows, args.limit, args.window, args.throttle_ops
        ),
    }
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
