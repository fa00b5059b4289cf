"""The contenders, each run as its own process so time and peak memory are its own.

    python -m bench.tools TOOL SCENARIO CONFIG_JSON

TOOL: syncline | sql (hand-written COPY + ON CONFLICT ... IS DISTINCT FROM, the ceiling)
| dlt (merge, arrow items, its COPY-based csv loader) | sling (its CLI binary from the
``sling-linux-amd64`` wheel, or ``$SLING_BINARY``: full refresh into an empty target,
incremental upsert by primary key otherwise). SCENARIO: pg (table to table),
csv (file to table), mapping (syncline only: 20 mappings, 3 value maps, SQL filter).
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pyarrow as pa
import pyarrow.csv as pacsv

from bench.data import NAMES

BATCH = 50_000


def _dsn(c: dict[str, Any]) -> str:
    return f"postgresql://{c['user']}:{c['password']}@{c['host']}:{c['port']}/{c['database']}"


# -- syncline ----------------------------------------------------------------------------
MAPPING_TASK: dict[str, Any] = {
    "query": "SELECT * FROM source WHERE id % 10 <> 0",
    "mappings": [
        *(
            {"source": n, "destination": n}
            for n in NAMES
            if n not in ("first_name", "last_name", "email", "status", "country", "segment")
        ),
        {"source": "first_name", "destination": "first_name", "transforms": [{"type": "upper"}]},
        {"source": "last_name", "destination": "last_name", "transforms": [{"type": "trim"}]},
        {"source": "email", "destination": "email", "transforms": [{"type": "lower"}]},
        {
            "source": "status",
            "destination": "status",
            "transforms": [{"type": "default", "value": "A"}],
        },
        {"source": "country", "destination": "country"},
        {"source": "segment", "destination": "segment"},
        {
            "source": "first_name",
            "destination": "full_name",
            "transforms": [{"type": "concat", "fields": ["last_name"], "separator": " "}],
        },
        {
            "source": "status",
            "destination": "status_label",
            "transforms": [
                {
                    "type": "valueMap",
                    "map": {"A": "active", "I": "inactive", "P": "pending"},
                    "fallback": "other",
                }
            ],
        },
        {
            "source": "country",
            "destination": "country_name",
            "transforms": [
                {
                    "type": "valueMap",
                    "map": {
                        "UA": "Ukraine",
                        "DE": "Germany",
                        "FR": "France",
                        "JP": "Japan",
                        "BR": "Brazil",
                        "US": "United States",
                    },
                }
            ],
        },
        {
            "source": "segment",
            "destination": "segment_code",
            "transforms": [
                {
                    "type": "valueMap",
                    "map": {"retail": "R", "wholesale": "W", "online": "O"},
                    "fallback": "X",
                }
            ],
        },
    ],
}


def run_syncline(scenario: str, c: dict[str, Any]) -> dict[str, Any]:
    from syncline.api.connection import ConnectionSpec
    from syncline.api.project import Limits
    from syncline.api.task import Task
    from syncline.engine.project import ResolvedConnection, ResolvedProject
    from syncline.engine.runner import run_project

    pg = ConnectionSpec.model_validate(
        {
            "type": "postgresql",
            "endpoint": {"host": c["host"], "port": c["port"], "database": c["database"]},
            "credentials": {"secretRef": {"name": "bench"}},
            "options": {"batchSize": BATCH},
        }
    )
    creds = {"username": c["user"], "password": c["password"]}
    source = pg
    if scenario == "csv":
        source = ConnectionSpec.model_validate(
            {"type": "file", "endpoint": {"path": c["csv"]}, "options": {"batchSize": BATCH}}
        )
    task: dict[str, Any] = {
        "name": "bench",
        "source": {"connection": "a", "entity": c["source"] if scenario != "csv" else "src"},
        "destination": {"connection": "b", "entity": c["target"], "keys": ["id"]},
        **(MAPPING_TASK if scenario == "mapping" else {}),
    }
    project = ResolvedProject(
        namespace="bench",
        name=c["target"],
        tasks=[Task.model_validate(task)],
        connections={
            "a": ResolvedConnection("a", source, creds),
            "b": ResolvedConnection("b", pg, creds),
        },
        integration_keys=[],
        org_units=None,
        limits=Limits(max_rows_per_run=0),
    )
    report = run_project(project)
    if report.error:
        raise SystemExit(str(report.error))
    return report.totals.to_api()


# -- hand-written SQL --------------------------------------------------------------------
def run_sql(scenario: str, c: dict[str, Any]) -> dict[str, Any]:
    cols = ", ".join(NAMES)
    rest = [n for n in NAMES if n != "id"]
    merge = (
        f"INSERT INTO {c['target']} AS t ({cols}) SELECT {cols} FROM stage "
        f"ON CONFLICT (id) DO UPDATE SET {', '.join(f'{n} = EXCLUDED.{n}' for n in rest)} "
        f"WHERE (t.{', t.'.join(rest)}) IS DISTINCT FROM (EXCLUDED.{', EXCLUDED.'.join(rest)})"
    )
    with psycopg.connect(_dsn(c)) as conn:
        conn.execute(f"CREATE TEMP TABLE stage (LIKE {c['target']})")
        with conn.cursor().copy("COPY stage FROM STDIN (FORMAT csv, HEADER)") as into:
            for chunk in _source_csv(scenario, c):
                into.write(chunk)
        rows = conn.execute(merge).rowcount
    return {"upserts": rows}


def _source_csv(scenario: str, c: dict[str, Any]) -> Iterator[bytes]:
    if scenario == "csv":
        with open(c["csv"], "rb") as f:
            while chunk := f.read(1 << 20):
                yield chunk
        return
    with (
        psycopg.connect(_dsn(c)) as conn,
        conn.cursor() as cur,
        cur.copy(f"COPY {c['source']} TO STDOUT (FORMAT csv, HEADER)") as out,
    ):
        yield from (bytes(chunk) for chunk in out)


# -- dlt ---------------------------------------------------------------------------------
def run_dlt(scenario: str, c: dict[str, Any]) -> dict[str, Any]:
    import dlt

    def batches() -> Iterator[pa.Table]:
        if scenario == "csv":
            for batch in pacsv.open_csv(c["csv"]):
                yield pa.Table.from_batches([batch])
            return
        with psycopg.connect(_dsn(c)) as conn, conn.cursor(name="dlt_read") as cur:
            cur.execute(f"SELECT {', '.join(NAMES)} FROM {c['source']}")
            while rows := cur.fetchmany(BATCH):
                yield pa.Table.from_pylist([dict(zip(NAMES, r, strict=True)) for r in rows])

    pipeline = dlt.pipeline(
        pipeline_name=f"bench_{c['target']}",
        pipelines_dir=c["dlt_dir"],
        destination=dlt.destinations.postgres(credentials=_dsn(c)),
        dataset_name="dlt_bench",
    )
    resource = dlt.resource(batches, name=c["target"], write_disposition="merge", primary_key="id")
    info = pipeline.run(resource, loader_file_format="csv")
    return {"loads": len(info.loads_ids)}


# -- Sling -------------------------------------------------------------------------------
def sling_binary() -> str:
    """``$SLING_BINARY``, else the binary the ``sling-linux-amd64`` wheel ships (the
    ``sling`` package would download one at run time, which fails offline)."""
    if os.environ.get("SLING_BINARY"):
        return os.environ["SLING_BINARY"]
    spec = importlib.util.find_spec("sling_linux_amd64")
    if spec is None or spec.origin is None:
        raise SystemExit("sling: install the bench extra (sling-linux-amd64) or set SLING_BINARY")
    return str(Path(spec.origin).parent / "bin" / "sling-linux-amd64")


def run_sling(scenario: str, c: dict[str, Any]) -> dict[str, Any]:
    """Full refresh when the target is empty (Sling replaces the table: the initial
    load), else its incremental mode with the primary key alone (an upsert of every
    source row: the re-sync and change scenarios)."""
    with psycopg.connect(_dsn(c)) as conn:
        empty = conn.execute(f"SELECT NOT EXISTS (SELECT 1 FROM {c['target']})").fetchone()
    mode = ["--mode", "full-refresh"]
    if not (empty and empty[0]):
        mode = ["--mode", "incremental", "--primary-key", "id"]
    source = c["csv"] if scenario == "csv" else f"public.{c['source']}"
    conn_env = {
        "BENCH_PG": _dsn(c) + "?sslmode=disable",
        "SLING_HOME_DIR": str(Path(c["dlt_dir"]) / "sling"),
        "SLING_DISABLE_TELEMETRY": "true",
        "SLING_LOADED_AT_COLUMN": "false",
    }
    cmd = [
        sling_binary(),
        "run",
        *("--src-conn", "LOCAL" if scenario == "csv" else "BENCH_PG"),
        *("--src-stream", f"file://{source}" if scenario == "csv" else source),
        *("--tgt-conn", "BENCH_PG", "--tgt-object", f"public.{c['target']}"),
        *mode,
    ]
    done = subprocess.run(
        cmd, env={**os.environ, **conn_env}, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"sling failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return {"mode": mode[1]}


if __name__ == "__main__":
    tool, scen, config = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    runner = {"syncline": run_syncline, "sql": run_sql, "dlt": run_dlt, "sling": run_sling}[tool]
    print(json.dumps(runner(scen, config)))
