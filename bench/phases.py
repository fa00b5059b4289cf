"""Where a PostgreSQL → PostgreSQL run spends its time, phase by phase (issue 14).

    .venv/bin/python -m bench.phases --rows 300000            # binary stage load
    .venv/bin/python -m bench.phases --rows 300000 --csv-stage # the CSV stage load
    .venv/bin/python -m bench.phases --rows 300000 --sequential # no write-behind

Runs the benchmark's initial, re-sync and change scenarios in this process and times
the source read (COPY out + Arrow parse), the stage encoding, the stage load (COPY in)
and the rest of the merge (the INSERT … ON CONFLICT), by wrapping the connector's
methods. CPU seconds of this process and of the server are printed too: on a shared
machine they move far less than wall time.
"""

from __future__ import annotations

import argparse
import collections
import os
import resource
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from bench import data
from bench.run import server_cpu
from bench.tools import run_syncline
from syncline.devcluster.databases import PostgresServer
from syncline.engine import write_behind
from syncline.engine.connectors import pg_binary
from syncline.engine.connectors.postgres import PostgresConnector

SPENT: dict[str, float] = collections.defaultdict(float)


def timed(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            SPENT[name] += time.perf_counter() - started

    return wrapper


def timed_read(fn: Callable[..., Iterator[Any]]) -> Callable[..., Iterator[Any]]:
    def wrapper(*args: Any, **kwargs: Any) -> Iterator[Any]:
        batches = fn(*args, **kwargs)
        while True:
            started = time.perf_counter()
            batch = next(batches, None)
            SPENT["source read"] += time.perf_counter() - started
            if batch is None:
                return
            yield batch

    return wrapper


def instrument(csv_stage: bool) -> None:
    if csv_stage:
        pg_binary.encode = lambda *_: None
    pg_binary.encode = timed("stage encode", pg_binary.encode)
    PostgresConnector.read = timed_read(PostgresConnector.read)  # type: ignore[method-assign]
    PostgresConnector._load_stage = timed(  # type: ignore[method-assign]
        "stage load (encode + COPY)", PostgresConnector._load_stage
    )
    PostgresConnector.merge = timed("merge (all)", PostgresConnector.merge)  # type: ignore[method-assign]


def cpu_self() -> float:
    used = resource.getrusage(resource.RUSAGE_SELF)
    return used.ru_utime + used.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=300_000)
    parser.add_argument("--csv-stage", action="store_true")
    parser.add_argument(
        "--sequential",
        action="store_true",
        help="write each batch before reading the next (no write-behind), for an A/B",
    )
    args = parser.parse_args()
    if args.sequential:
        write_behind.PENDING_LIMIT = 0
    instrument(args.csv_stage)
    base = Path(tempfile.mkdtemp(prefix="syncline-phases-"))
    os.chmod(base, 0o755)
    try:
        with PostgresServer(base / "pg") as server:
            access, config = data.bench_database(server)
            config.update(source="src", target="t")
            data.create_source(access.dsn, "src", args.rows)
            data.create_target(access.dsn, "t")
            for scenario in ("initial", "resync", "change"):
                if scenario == "change":
                    data.change_source(access.dsn, "src", args.rows)
                SPENT.clear()
                cpu, server_before = cpu_self(), server_cpu(server.data_dir)
                started = time.perf_counter()
                run_syncline("pg", config)
                wall = time.perf_counter() - started
                time.sleep(0.3)
                spent = dict(SPENT)
                spent["merge statement"] = spent.pop("merge (all)", 0.0) - spent.get(
                    "stage load (encode + COPY)", 0.0
                )
                phases = ", ".join(f"{k} {v:.2f}" for k, v in spent.items())
                mine, theirs = cpu_self() - cpu, server_cpu(server.data_dir) - server_before
                print(
                    f"{scenario}: wall {wall:.2f}s ({phases}); CPU this process {mine:.2f}s, "
                    f"server {theirs:.2f}s",
                    flush=True,
                )
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
